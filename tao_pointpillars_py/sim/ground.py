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

"""Ground surface: a sloped plane through z = -mount_height at the origin plus smooth bumps."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import SimConfig

_NUM_BUMPS = 3


@dataclass(frozen=True)
class Ground:
    """
    Height field ``z = offset + sx * x + sy * y + sum_k a_k sin(w_k . (x, y) + phase_k)``.

    Attributes
    ----------
    offset
        ground height below the sensor at the origin (negative, metres).
    slope
        (sx, sy) dz/dx and dz/dy of the plane.
    bump_amplitude, bump_wavevector, bump_phase
        (K,), (K, 2) rad/m, (K,) rad.
    reflectance
        material reflectance in [0, 1].

    """

    offset: float
    slope: tuple[float, float]
    bump_amplitude: np.ndarray
    bump_wavevector: np.ndarray
    bump_phase: np.ndarray
    reflectance: float

    @classmethod
    def sample(cls, rng: np.random.Generator, config: SimConfig) -> Ground:
        """Random slope (up to ``max_ground_slope_deg``, any direction) and roughness."""
        height = config.mount_height + rng.uniform(-1.0, 1.0) * config.mount_height_jitter
        tilt = np.tan(np.radians(rng.uniform(0.0, config.max_ground_slope_deg)))
        direction = rng.uniform(-np.pi, np.pi)
        amplitude = rng.uniform(0.0, 1.0, _NUM_BUMPS)
        amplitude *= config.ground_roughness / max(amplitude.sum(), 1e-9)
        wavelength = rng.uniform(8.0, 25.0, _NUM_BUMPS)
        angle = rng.uniform(-np.pi, np.pi, _NUM_BUMPS)
        wavevector = (2 * np.pi / wavelength)[:, None] * np.stack(
            [np.cos(angle), np.sin(angle)], axis=1)
        return cls(offset=-height,
                   slope=(float(tilt * np.cos(direction)), float(tilt * np.sin(direction))),
                   bump_amplitude=amplitude, bump_wavevector=wavevector,
                   bump_phase=rng.uniform(-np.pi, np.pi, _NUM_BUMPS),
                   reflectance=float(rng.uniform(*config.ground_reflectance)))

    def _bumps(self, x: np.ndarray | float, y: np.ndarray | float) -> np.ndarray:
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        phase = (x[..., None] * self.bump_wavevector[:, 0]
                 + y[..., None] * self.bump_wavevector[:, 1] + self.bump_phase)
        return (self.bump_amplitude * np.sin(phase)).sum(axis=-1)

    def height(self, x: np.ndarray | float, y: np.ndarray | float) -> np.ndarray:
        """Ground z (metres) at BEV positions x, y (same shape)."""
        sx, sy = self.slope
        return self.offset + sx * np.asarray(x) + sy * np.asarray(y) + self._bumps(x, y)

    def intersect(self, directions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """
        Range (R,) (inf = no hit) and |cos incidence| (R,) of rays from the origin.

        The plane is hit analytically; two fixed-point steps then move the hit onto the bumps
        (converges while the bump slope is below the ray's grazing slope, i.e. within the
        lidar's usable range).
        """
        sx, sy = self.slope
        d = directions
        den = d[:, 2] - sx * d[:, 0] - sy * d[:, 1]
        down = den < -1e-9
        dd, den_d = d[down], den[down]
        t = self.offset / den_d
        for _ in range(2):
            t = (self.offset + self._bumps(t * dd[:, 0], t * dd[:, 1])) / den_d
        t_all = np.full(len(d), np.inf)
        t_all[down] = np.where(t > 0, t, np.inf)
        cos = np.abs(den) / np.sqrt(1.0 + sx * sx + sy * sy)
        return t_all, cos
