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

"""Tests of tao_pointpillars_py.training.warm_start (fine-tuning from an exported ONNX)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from tao_pointpillars_py.errors import ModelLoadError  # noqa: E402
from tao_pointpillars_py.training.export import (example_inputs, export_model,  # noqa: E402
                                                 frame_inputs, max_abs_differences)
from tao_pointpillars_py.training.train import Trainer, TrainOptions  # noqa: E402
from tao_pointpillars_py.training.warm_start import (exported_model_config,  # noqa: E402
                                                     is_onnx_file, model_from_exported_onnx)


@pytest.fixture
def exported(tmp_path, tiny_cfg, trained_like_net):
    net = trained_like_net(tiny_cfg, scale=True)
    path = tmp_path / "tiny.onnx"
    export_model(net, path)
    return net, path


@pytest.fixture
def frames_inputs(tiny_cfg, tiny_frame_maker):
    """Model inputs of the tiny frames of the given seeds."""
    return lambda seeds: [frame_inputs(tiny_frame_maker(s).points, tiny_cfg) for s in seeds]


def test_the_rebuilt_network_computes_what_the_exported_model_does(
        exported, tiny_cfg, frames_inputs):
    net, path = exported
    model, cfg = model_from_exported_onnx(path, frames_inputs(range(3)))
    assert cfg == tiny_cfg
    held_out = frames_inputs((7, 8)) + [example_inputs(tiny_cfg, seed=2)]
    worst = max_abs_differences(model, path, held_out)
    assert max(worst.values()) <= 1e-4, worst
    with torch.no_grad():
        theirs = net(*(torch.from_numpy(a) for a in held_out[0]))
        ours = model(*(torch.from_numpy(a) for a in held_out[0]))
    for a, b in zip(theirs, ours):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


def test_rebuilt_batchnorms_in_train_mode_compute_the_same_on_their_calibration_frames(
        exported, frames_inputs):
    """Batch statistics of the calibration frames are the measured ones: no jump at step 1."""
    _, path = exported
    inputs = frames_inputs(range(2))
    model, _ = model_from_exported_onnx(path, inputs)
    rebuilt = [m for m in model.backbone.blocks.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(rebuilt) == 16
    assert not all(torch.allclose(bn.running_mean, torch.zeros_like(bn.running_mean))
                   for bn in rebuilt)
    batch = tuple(torch.from_numpy(np.concatenate([a[i] for a in inputs])) for i in range(3))
    with torch.no_grad():
        evaluated = model(*batch)
        for bn in rebuilt:
            bn.train()
        trained = model(*batch)
    for a, b in zip(evaluated, trained):
        torch.testing.assert_close(a, b, atol=2e-3, rtol=1e-3)


def test_a_foreign_onnx_is_refused_with_what_to_pass(tmp_path, tiny_cfg, frames_inputs):
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("Relu", ["x"], ["y"])], "g",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])])
    proto = onnx.helper.make_model(graph)
    onnx.helper.set_model_props(proto, dict(tiny_cfg.to_metadata()))
    path = tmp_path / "relu.onnx"
    onnx.save(proto, str(path))
    with pytest.raises(ModelLoadError, match="not an export of this package"):
        model_from_exported_onnx(path, frames_inputs(range(1)))
    with pytest.raises(ModelLoadError, match="does not exist"):
        exported_model_config(tmp_path / "missing.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"not a protobuf at all")
    with pytest.raises(ModelLoadError, match="is not a readable ONNX model"):
        exported_model_config(tmp_path / "junk.onnx")


def test_init_from_an_exported_onnx_fine_tunes_the_exported_weights(
        exported, tmp_path, tiny_cfg, tiny_frame):
    _, path = exported
    assert is_onnx_file(path) and not is_onnx_file(tmp_path / "last.ckpt")
    opts = TrainOptions(data=("unused",), out=str(tmp_path / "run"), epochs=1, batch_size=1,
                        init_from=str(path), progress=False, num_workers=0, bf16=False)
    trainer = Trainer(opts, None, [tiny_frame] * 2)
    assert trainer.cfg == tiny_cfg and trainer.state.global_step == 0
    worst = max_abs_differences(trainer.model, path, [frame_inputs(tiny_frame.points, tiny_cfg)])
    assert max(worst.values()) <= 1e-4, worst
