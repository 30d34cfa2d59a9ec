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

"""Anchor grid of the detection head: one anchor per class and rotation at every head cell."""

from __future__ import annotations

import numpy as np

from .config import ModelConfig


def generate_anchors(config: ModelConfig) -> np.ndarray:
    """
    Anchors (ny_f, nx_f, A, 7) float32 as boxes (x, y, z, dx, dy, dz, yaw).

    Head cell (iy, ix) is centred at ``x_min + (ix + 0.5) * sx``, ``y_min + (iy + 0.5) * sy``
    with ``(sx, sy)`` the head cell size; ``z = bottom_height + dz / 2``. Anchor ``a`` runs over
    classes, then rotations (``a = class_index * n_rot + rot_index``), so
    ``anchors.reshape(-1, 7)`` is the order of the flattened head outputs.
    """
    r = config.pillars.point_cloud_range
    nx_f, ny_f = config.feature_map_size
    sx = (r[3] - r[0]) / nx_f
    sy = (r[4] - r[1]) / ny_f
    xs = r[0] + (np.arange(nx_f, dtype=np.float64) + 0.5) * sx
    ys = r[1] + (np.arange(ny_f, dtype=np.float64) + 0.5) * sy
    per_location = np.array([
        (*spec.size, spec.bottom_height + spec.size[2] / 2.0, rot)
        for spec in config.anchors for rot in spec.rotations], dtype=np.float64)
    num_a = per_location.shape[0]
    anchors = np.empty((ny_f, nx_f, num_a, 7), dtype=np.float64)
    anchors[..., 0] = xs[None, :, None]
    anchors[..., 1] = ys[:, None, None]
    anchors[..., 2] = per_location[:, 3]
    anchors[..., 3:6] = per_location[:, :3]
    anchors[..., 6] = per_location[:, 4]
    return anchors.astype(np.float32)


def anchor_class_indices(config: ModelConfig) -> np.ndarray:
    """Class index (A,) int64 of each anchor at a location."""
    return np.array([c for c, spec in enumerate(config.anchors) for _ in spec.rotations],
                    dtype=np.int64)
