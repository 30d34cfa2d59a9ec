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
from typing import Protocol

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
    ray
        (N,) int64 index of the ray (the sensor's point index) each point came from.

    """

    points: np.ndarray
    boxes: np.ndarray
    labels: np.ndarray
    num_points: np.ndarray
    point_object: np.ndarray
    ray: np.ndarray


class Sensor(Protocol):
    """A lidar other than the default grid: its rays and its intensity (``sim.ml30s``)."""

    def rays(self) -> lidar.RaySet:
        """Rays of every frame, in the sensor's point order."""

    def intensity(self, reflectance: np.ndarray, cos_incidence: np.ndarray,
                  distance: np.ndarray, noise: np.ndarray, config: SimConfig) -> np.ndarray:
        """Compute (R,) float32 driver-unit intensities of returns; ``noise`` is N(0, 1)."""


def simulate_frame(seed: int, index: int = 0, config: SimConfig | None = None,
                   sensor: Sensor | None = None) -> SimFrame:
    """
    Frame ``index`` of the sequence ``seed``; rng = ``np.random.default_rng([seed, index])``.

    Frames are independent and bit-identical for the same (seed, index, config, sensor), so
    they can be generated in parallel processes. ``sensor``: None for the default ray grid
    (``config``'s), else e.g. :func:`~tao_pointpillars_py.sim.ml30s.ml30s_a1`.
    """
    for name, value in (("seed", seed), ("index", index)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ConfigError(f"{name} must be a non-negative integer, got {value!r}")
    config = SimConfig() if config is None else config
    rng = np.random.default_rng([int(seed), int(index)])
    scene = sample_scene(rng, config)
    grid = lidar.make_grid(rng, config) if sensor is None else sensor.rays()
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
    intensity = lidar.intensity if sensor is None else sensor.intensity
    points[:, 3] = intensity(reflectance[keep], hits.cos_incidence[ray], distance,
                             noise[1, keep], config)
    num_points = np.bincount(owner[owner >= 0], minlength=len(scene.labels)).astype(np.int32)
    return SimFrame(points=points, boxes=scene.boxes, labels=scene.labels,
                    num_points=num_points, point_object=owner, ray=ray)
