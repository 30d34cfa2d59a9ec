# Copyright 2026 tao_pointpillars_py developers
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""Tests of tao_pointpillars_py.training.train and .checkpoint (tiny configs, no workers)."""

import json

import pytest

torch = pytest.importorskip("torch")

from tao_pointpillars_py.training.checkpoint import load_checkpoint  # noqa: E402
from tao_pointpillars_py.training.data import collate  # noqa: E402
from tao_pointpillars_py.training.train import (train, Trainer, TrainOptions)  # noqa: E402


def _opts(out, **kw):
    values = {"data": ("tiny",), "out": str(out), "epochs": 2, "batch_size": 2, "lr": 3e-3,
              "seed": 5, "bf16": False, "num_workers": 0, "threads": 1, "progress": False}
    values.update(kw)
    return TrainOptions(**values)


@pytest.mark.parametrize("bf16", [False, True])
def test_loss_decreases_when_overfitting_one_frame(tmp_path, tiny_cfg, tiny_frame, bf16):
    trainer = Trainer(_opts(tmp_path, epochs=30, batch_size=1, bf16=bf16, lr=1e-2), tiny_cfg,
                      [tiny_frame])
    trainer.dataset.augment = False
    batch = collate([trainer.dataset[0]])
    losses = [trainer.step(batch).total.item() for _ in range(12)]
    assert all(torch.isfinite(torch.tensor(losses)))
    assert min(losses[-3:]) < 0.6 * losses[0]


def test_fit_writes_checkpoints_and_log(tmp_path, tiny_cfg, tiny_frame):
    state = train(_opts(tmp_path), tiny_cfg, [tiny_frame] * 4)
    assert (state.epoch, state.global_step) == (2, 4)
    for name in ("last.ckpt", "epoch_01.ckpt", "epoch_02.ckpt"):
        assert (tmp_path / name).is_file()
    log = [json.loads(line) for line in (tmp_path / "train_log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2]
    assert all(r["loss"] > 0 and {"cls", "box", "dir", "seconds"} <= r.keys() for r in log)
    saved = load_checkpoint(tmp_path / "last.ckpt")
    assert saved["global_step"] == 4 and saved["args"]["seed"] == 5


def test_resume_continues_exactly(tmp_path, tiny_cfg, tiny_frame):
    frames = [tiny_frame] * 4
    straight = train(_opts(tmp_path / "a"), tiny_cfg, frames)
    train(_opts(tmp_path / "b", epochs=2), tiny_cfg, frames)
    # rewind run b to its first epoch's checkpoint, then resume it
    (tmp_path / "b" / "epoch_01.ckpt").replace(tmp_path / "b" / "last.ckpt")
    resumed = train(_opts(tmp_path / "b"), None, frames, resume=True)
    assert resumed.global_step == straight.global_step == 4
    a = load_checkpoint(tmp_path / "a" / "last.ckpt")["model"]
    b = load_checkpoint(tmp_path / "b" / "last.ckpt")["model"]
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-5, atol=1e-6)


def test_resume_rejects_a_changed_schedule(tmp_path, tiny_cfg, tiny_frame):
    from tao_pointpillars_py.errors import ConfigError
    train(_opts(tmp_path, epochs=1), tiny_cfg, [tiny_frame] * 2)
    with pytest.raises(ConfigError, match="--epochs"):
        train(_opts(tmp_path, epochs=3), None, [tiny_frame] * 2, resume=True,
              given=["epochs"])


def test_resume_keeps_the_runs_intensity_gain_and_reads_checkpoints_older_than_it(tmp_path):
    from tao_pointpillars_py.training.train import resume_options
    opts = _opts(tmp_path, intensity_gain=(0.5, 2.0))
    saved = {"epochs": 2, "batch_size": 2, "lr": 3e-3, "seed": 5, "max_frames": None,
             "data": ["tiny"], "time_budget_min": None, "init_from": None,
             "qat_percentile": None}
    # a checkpoint written before --intensity-gain existed: the option keeps its value
    assert resume_options(opts, saved, []).intensity_gain == (0.5, 2.0)
    assert resume_options(opts, {**saved, "intensity_gain": [1.0, 1.0]},
                          []).intensity_gain == (1.0, 1.0)
    from tao_pointpillars_py.errors import ConfigError
    with pytest.raises(ConfigError, match="--intensity-gain"):
        resume_options(opts, {**saved, "intensity_gain": [1.0, 1.0]}, ["intensity_gain"])


def test_time_steps_returns_mean_step_seconds(tmp_path, tiny_cfg, tiny_frame):
    mean, median = Trainer(_opts(tmp_path), tiny_cfg, [tiny_frame] * 2).time_steps(3)
    assert 0 < median <= mean * 3 and mean < 60


def test_init_from_starts_with_the_checkpoint_weights_and_a_fresh_schedule(tmp_path, tiny_cfg,
                                                                           tiny_frame):
    train(_opts(tmp_path / "a", epochs=1), tiny_cfg, [tiny_frame] * 2)
    start = tmp_path / "a" / "last.ckpt"
    trainer = Trainer(_opts(tmp_path / "b", init_from=str(start)), None, [tiny_frame] * 2)
    saved = load_checkpoint(start)["model"]
    for name, value in trainer.model.state_dict().items():
        torch.testing.assert_close(value, saved[name])
    assert trainer.cfg == tiny_cfg
    assert trainer.state.global_step == 0 and trainer.progress == 0.0
