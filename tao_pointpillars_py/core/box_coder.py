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
Residual box coder and direction classifier (OpenPCDet ``ResidualCoder`` semantics).

Encoding of a box g against an anchor a, with ``d = sqrt(dx_a^2 + dy_a^2)``:
``((x_g - x_a) / d, (y_g - y_a) / d, (z_g - z_a) / dz_a, log(dx_g / dx_a), log(dy_g / dy_a),
log(dz_g / dz_a), yaw_g - yaw_a)``. The regressed yaw is only known modulo pi; the direction
classifier picks the half-turn (bins of width ``2 pi / num_dir_bins`` after ``dir_offset``).
"""

from __future__ import annotations

import numpy as np

from .boxes import limit_period
from .config import ModelConfig


def encode_boxes(boxes: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """Regression targets (K, 7) float32 of boxes (K, 7) against anchors (K, 7)."""
    b = boxes.astype(np.float64)
    a = anchors.astype(np.float64)
    diag = np.sqrt(a[:, 3] ** 2 + a[:, 4] ** 2)
    out = np.empty_like(b)
    out[:, 0] = (b[:, 0] - a[:, 0]) / diag
    out[:, 1] = (b[:, 1] - a[:, 1]) / diag
    out[:, 2] = (b[:, 2] - a[:, 2]) / a[:, 5]
    out[:, 3:6] = np.log(np.maximum(b[:, 3:6], 1e-5) / a[:, 3:6])
    out[:, 6] = b[:, 6] - a[:, 6]
    return out.astype(np.float32)


def decode_boxes(deltas: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """Boxes (K, 7) float32 from regression outputs (K, 7) and anchors (K, 7)."""
    d = deltas.astype(np.float32)
    a = anchors.astype(np.float32)
    diag = np.sqrt(a[:, 3] ** 2 + a[:, 4] ** 2)
    out = np.empty_like(d)
    out[:, 0] = d[:, 0] * diag + a[:, 0]
    out[:, 1] = d[:, 1] * diag + a[:, 1]
    out[:, 2] = d[:, 2] * a[:, 5] + a[:, 2]
    # clip before exp: an untrained or int8 head can emit large logits
    out[:, 3:6] = np.exp(np.minimum(d[:, 3:6], 10.0)) * a[:, 3:6]
    out[:, 6] = d[:, 6] + a[:, 6]
    return out


def direction_targets(yaw: np.ndarray, config: ModelConfig) -> np.ndarray:
    """Direction bin (K,) int64 of ground-truth yaws (K,)."""
    period = 2.0 * np.pi / config.num_dir_bins
    offset_rot = limit_period(yaw.astype(np.float64) - config.dir_offset, 0.0, 2.0 * np.pi)
    bins = np.floor(offset_rot / period).astype(np.int64)
    return np.clip(bins, 0, config.num_dir_bins - 1)


def apply_direction(yaw: np.ndarray, dir_labels: np.ndarray, config: ModelConfig) -> np.ndarray:
    """Yaw (K,) with its half-turn chosen by the direction classifier's labels (K,)."""
    period = 2.0 * np.pi / config.num_dir_bins
    dir_rot = limit_period(yaw - config.dir_offset, config.dir_limit_offset, period)
    return (dir_rot + config.dir_offset + period * dir_labels.astype(yaw.dtype)).astype(
        yaw.dtype)
