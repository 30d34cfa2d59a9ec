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

"""One simulated lidar frame with ground truth: :func:`simulate_frame`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import lidar
from .config import SimConfig
from .raycast import cast, GROUND_HIT
from .scene import sample_scene
from ..errors import ConfigError


@dataclass(frozen=True)
class SimFrame:
    """
    A simulated frame in the lidar frame (x forward, y left, z up, metres).

    Attributes
    ----------
    points
        (N, 4) float32 x, y, z, intensity (driver units, [0, 255]); in ray order, i.e.
        row-major over the ray grid: elevation rows from top to bottom, within a row
        azimuth from -y (right) to +y (left). Rays without a return are skipped.
    boxes
        (M, 7) float32 ground truth (x, y, z, dx, dy, dz, yaw), (x, y, z) the centre.
    labels
        (M,) int64 class index: 0 Vehicle, 1 Pedestrian, 2 Cyclist.
    num_points
        (M,) int32 points returned from each object.
    point_object
        (N,) int32 index into ``boxes`` of the object a point hit, -1 otherwise.

    """

    points: np.ndarray
    boxes: np.ndarray
    labels: np.ndarray
    num_points: np.ndarray
    point_object: np.ndarray


def simulate_frame(seed: int, index: int = 0, config: SimConfig | None = None) -> SimFrame:
    """
    Frame ``index`` of the sequence ``seed``; rng = ``np.random.default_rng([seed, index])``.

    Frames are independent and bit-identical for the same (seed, index, config), so they can be
    generated in parallel processes.
    """
    for name, value in (("seed", seed), ("index", index)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ConfigError(f"{name} must be a non-negative integer, got {value!r}")
    config = SimConfig() if config is None else config
    rng = np.random.default_rng([int(seed), int(index)])
    scene = sample_scene(rng, config)
    grid = lidar.make_grid(rng, config)
    hits = cast(grid, scene.primitives, scene.ground, config.max_range)

    ray = np.flatnonzero(np.isfinite(hits.range))
    prim = hits.primitive[ray]
    prim = np.where(prim == GROUND_HIT, len(scene.primitives.owner), prim)
    reflectance = np.append(scene.primitives.reflectance, scene.ground.reflectance)[prim]
    owner = np.append(scene.primitives.owner, -1).astype(np.int32)[prim]
    distance = hits.range[ray]
    draw = rng.random(len(ray))
    noise = rng.standard_normal((2, len(ray)))

    keep = draw < lidar.return_probability(distance, reflectance, config)
    ray, distance, owner = ray[keep], distance[keep], owner[keep]
    noisy = distance + noise[0, keep] * lidar.range_noise_sigma(distance, config)
    points = np.empty((len(ray), 4), dtype=np.float32)
    points[:, :3] = grid.directions[ray] * noisy[:, None]
    points[:, 3] = lidar.intensity(reflectance[keep], hits.cos_incidence[ray], distance,
                                   noise[1, keep], config)
    num_points = np.bincount(owner[owner >= 0], minlength=len(scene.labels)).astype(np.int32)
    return SimFrame(points=points, boxes=scene.boxes, labels=scene.labels,
                    num_points=num_points, point_object=owner)
