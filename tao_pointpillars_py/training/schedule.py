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

"""
One-cycle learning-rate / momentum schedule driven by training progress in [0, 1].

Progress is ``global_step / total_steps``, or, when a time budget is set, the larger of that and
``training_seconds / budget_seconds``: a run with a budget always finishes its schedule (warm-up,
peak, anneal) within the budget, whatever the machine's speed, and stops there.
"""

from __future__ import annotations

from dataclasses import dataclass
import math

import torch


def _cos_anneal(start: float, end: float, fraction: float) -> float:
    return end + (start - end) * (1.0 + math.cos(math.pi * fraction)) / 2.0


@dataclass(frozen=True)
class OneCycleSchedule:
    """OpenPCDet-style one-cycle: LR lr/div -> lr (cosine) then -> lr/(div*final_div)."""

    max_lr: float
    pct_start: float = 0.4
    div_factor: float = 10.0
    final_div_factor: float = 1e4
    base_momentum: float = 0.85
    max_momentum: float = 0.95

    def lr(self, progress: float) -> float:
        p = min(max(progress, 0.0), 1.0)
        initial = self.max_lr / self.div_factor
        if p < self.pct_start:
            return _cos_anneal(initial, self.max_lr, p / self.pct_start)
        return _cos_anneal(self.max_lr, initial / self.final_div_factor,
                           (p - self.pct_start) / (1.0 - self.pct_start))

    def momentum(self, progress: float) -> float:
        p = min(max(progress, 0.0), 1.0)
        if p < self.pct_start:
            return _cos_anneal(self.max_momentum, self.base_momentum, p / self.pct_start)
        return _cos_anneal(self.base_momentum, self.max_momentum,
                           (p - self.pct_start) / (1.0 - self.pct_start))

    def apply(self, optimizer: torch.optim.Optimizer, progress: float) -> float:
        """Set every param group's LR and Adam beta1 for ``progress``; returns the LR."""
        lr, beta1 = self.lr(progress), self.momentum(progress)
        for group in optimizer.param_groups:
            group["lr"] = lr
            if "betas" in group:
                group["betas"] = (beta1, group["betas"][1])
        return lr


def run_progress(global_step: int, total_steps: int, train_seconds: float,
                 budget_seconds: float | None) -> float:
    """Progress in [0, 1] of a run by steps, or by time when that is further along."""
    progress = global_step / max(total_steps, 1)
    if budget_seconds:
        progress = max(progress, train_seconds / budget_seconds)
    return min(progress, 1.0)
