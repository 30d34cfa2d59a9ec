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

"""Typed detection results."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Detections:
    """
    Detections of one frame, highest score first.

    Attributes
    ----------
    boxes
        (N, 7) float32 (x, y, z, dx, dy, dz, yaw), centre, lidar frame, metres/radians.
    scores
        (N,) float32 in [0, 1].
    labels
        (N,) int64 class indices into the model's class names.

    """

    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 7), np.float32), np.zeros((0,), np.float32),
                   np.zeros((0,), np.int64))

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    def select(self, index: np.ndarray) -> Detections:
        """Subset by an index or boolean mask, preserving order."""
        return Detections(self.boxes[index], self.scores[index], self.labels[index])
