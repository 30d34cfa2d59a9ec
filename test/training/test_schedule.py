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

"""One-cycle schedule by progress, and progress by steps or time budget."""

import pytest

torch = pytest.importorskip("torch")

from tao_pointpillars_py.training.schedule import OneCycleSchedule, run_progress  # noqa: E402


def test_one_cycle_rises_to_peak_then_anneals():
    schedule = OneCycleSchedule(max_lr=3e-3)
    assert schedule.lr(0.0) == pytest.approx(3e-4)
    assert schedule.lr(0.4) == pytest.approx(3e-3)
    assert schedule.lr(1.0) == pytest.approx(3e-8)
    lrs = [schedule.lr(p / 100) for p in range(101)]
    peak = lrs.index(max(lrs))
    assert all(a <= b for a, b in zip(lrs[:peak], lrs[1:peak + 1]))
    assert all(a >= b for a, b in zip(lrs[peak:], lrs[peak + 1:]))
    assert schedule.momentum(0.4) == pytest.approx(0.85)
    assert schedule.momentum(1.0) == pytest.approx(0.95)


def test_apply_sets_lr_and_beta1_of_every_group():
    params = [torch.nn.Parameter(torch.zeros(2))]
    optimizer = torch.optim.AdamW(params, lr=1.0)
    lr = OneCycleSchedule(max_lr=1e-2).apply(optimizer, 0.4)
    assert lr == pytest.approx(1e-2)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(1e-2)
    assert optimizer.param_groups[0]["betas"][0] == pytest.approx(0.85)


@pytest.mark.parametrize("step,seconds,budget,expected", [
    (50, 0.0, None, 0.5),
    (50, 10.0, 100.0, 0.5),
    (10, 75.0, 100.0, 0.75),
    (200, 0.0, None, 1.0),
    (10, 500.0, 100.0, 1.0),
])
def test_progress_is_the_further_of_steps_and_time(step, seconds, budget, expected):
    assert run_progress(step, 100, seconds, budget) == pytest.approx(expected)
