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

"""Global data augmentation applied to a frame's points and boxes together (numpy)."""

from __future__ import annotations

from dataclasses import dataclass
import math

import numpy as np

ROTATION_RANGE = (-math.pi / 4, math.pi / 4)
SCALE_RANGE = (0.95, 1.05)
#: intensity gain drawn log-uniformly in this range: a driver's unknown intensity scale (the
#: Zvision capture is ~15x darker than the old simulator) then hurts less
INTENSITY_GAIN_RANGE = (1.0 / 3.0, 3.0)


@dataclass(frozen=True)
class GlobalTransform:
    """
    Flip y -> -y (first), rotate by ``angle`` [rad] about z, then scale by ``scale``.

    ``intensity_gain`` multiplies the intensity column (column 3), clipped at ``intensity_max``.
    """

    flip_y: bool = False
    angle: float = 0.0
    scale: float = 1.0
    intensity_gain: float = 1.0

    @classmethod
    def random(cls, rng: np.random.Generator,
               gain_range: tuple[float, float] = INTENSITY_GAIN_RANGE) -> GlobalTransform:
        """Flip with p = 0.5, angle in +-pi/4, scale in [0.95, 1.05], gain log-uniform."""
        flip = bool(rng.random() < 0.5)
        angle = float(rng.uniform(*ROTATION_RANGE))
        scale = float(rng.uniform(*SCALE_RANGE))
        # drawn last, so the geometric draws of a seed are those of the runs before it existed
        gain = float(np.exp(rng.uniform(np.log(gain_range[0]), np.log(gain_range[1]))))
        return cls(flip, angle, scale, gain)

    def apply(self, points: np.ndarray, boxes: np.ndarray,
              intensity_max: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """Transform copies of points (N, 4) and boxes (M, 7) (x, y, z, dx, dy, dz, yaw)."""
        points = np.array(points, dtype=np.float32, copy=True)
        boxes = np.array(boxes, dtype=np.float32, copy=True).reshape(-1, 7)
        if self.flip_y:
            points[:, 1] = -points[:, 1]
            boxes[:, 1] = -boxes[:, 1]
            boxes[:, 6] = -boxes[:, 6]
        if self.angle:
            cos, sin = math.cos(self.angle), math.sin(self.angle)
            rot = np.array([[cos, sin], [-sin, cos]], dtype=np.float32)  # row vectors @ rot
            points[:, :2] = points[:, :2] @ rot
            boxes[:, :2] = boxes[:, :2] @ rot
            boxes[:, 6] += np.float32(self.angle)
        if self.scale != 1.0:
            points[:, :3] *= np.float32(self.scale)
            boxes[:, :6] *= np.float32(self.scale)
        if self.intensity_gain != 1.0 and points.shape[1] > 3:
            points[:, 3] = np.minimum(points[:, 3] * np.float32(self.intensity_gain),
                                      np.float32(intensity_max))
        # keep yaw in [-pi, pi) like the labels
        boxes[:, 6] = (boxes[:, 6] + np.pi) % (2 * np.pi) - np.pi
        return points, boxes


def augment_frame(points: np.ndarray, boxes: np.ndarray, rng: np.random.Generator,
                  gain_range: tuple[float, float] = INTENSITY_GAIN_RANGE,
                  intensity_max: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Apply one random :class:`GlobalTransform` drawn from ``rng`` to points and boxes."""
    return GlobalTransform.random(rng, gain_range).apply(points, boxes, intensity_max)
