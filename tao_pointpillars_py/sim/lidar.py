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

"""Zvision ML-30S-like lidar: ray grid or set, return probability, range noise and intensity."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .config import SimConfig


class RayGrid(NamedTuple):
    """
    Rays of one frame from the sensor origin.

    ``directions`` (R, 3) float64 unit vectors, R = num_elevation * num_azimuth, in row-major
    order: row 0 is the top elevation, column 0 the most negative azimuth (rightmost, -y side).
    Nominal column j points at ``azimuth_start + j * azimuth_step``, row i at
    ``elevation_start - i * elevation_step`` (radians); each ray deviates by at most
    ``max_jitter`` from its nominal angles.
    """

    directions: np.ndarray
    num_azimuth: int
    num_elevation: int
    azimuth_start: float
    azimuth_step: float
    elevation_start: float
    elevation_step: float
    max_jitter: float


def make_grid(rng: np.random.Generator, config: SimConfig) -> RayGrid:
    """Uniform azimuth x elevation grid centred on +x with clipped gaussian per-ray jitter."""
    n_az, n_el = config.num_azimuth, config.num_elevation
    az_step = np.radians(config.azimuth_fov_deg) / n_az
    el_step = np.radians(config.elevation_fov_deg) / n_el
    az0 = -np.radians(config.azimuth_fov_deg) / 2 + az_step / 2
    el0 = np.radians(config.elevation_fov_deg) / 2 - el_step / 2
    sigma = np.radians(config.angular_jitter_deg)
    jitter = np.clip(rng.standard_normal((2, n_el, n_az)), -3.0, 3.0) * sigma
    az = (az0 + az_step * np.arange(n_az))[None, :] + jitter[0]
    el = (el0 - el_step * np.arange(n_el))[:, None] + jitter[1]
    cos_el = np.cos(el)
    directions = np.stack([cos_el * np.cos(az), cos_el * np.sin(az), np.sin(el)], axis=-1)
    return RayGrid(directions.reshape(-1, 3), n_az, n_el, float(az0), float(az_step),
                   float(el0), float(el_step), float(3.0 * sigma))


class RaySet(NamedTuple):
    """
    Rays of any pattern (e.g. a sensor's angle table), bucketed for the ray caster.

    ``directions`` (R, 3) float64 unit vectors in the simulator's frame (x forward, y left,
    z up), in the sensor's point order. The rays are sorted into cells of a regular azimuth x
    elevation grid (same conventions as :class:`RayGrid`: column 0 the most negative azimuth,
    row 0 the top elevation, ``*_start`` the centre of cell 0): ``order[cell_start[c]:
    cell_start[c + 1]]`` are the rays of cell ``c = row * num_azimuth + column``.
    """

    directions: np.ndarray
    order: np.ndarray
    cell_start: np.ndarray
    num_azimuth: int
    num_elevation: int
    azimuth_start: float
    azimuth_step: float
    elevation_start: float
    elevation_step: float


def bucket_rays(directions: np.ndarray, cell_deg: float = 0.5) -> RaySet:
    """Sort (R, 3) unit ``directions`` into ``cell_deg`` x ``cell_deg`` cells."""
    step = np.radians(cell_deg)
    azimuth = np.arctan2(directions[:, 1], directions[:, 0])
    elevation = np.arcsin(np.clip(directions[:, 2], -1.0, 1.0))
    az_lo = np.floor(azimuth.min() / step) * step
    el_hi = np.ceil(elevation.max() / step) * step
    num_azimuth = int(np.floor((azimuth.max() - az_lo) / step)) + 1
    num_elevation = int(np.floor((el_hi - elevation.min()) / step)) + 1
    column = np.clip(((azimuth - az_lo) / step).astype(np.int64), 0, num_azimuth - 1)
    row = np.clip(((el_hi - elevation) / step).astype(np.int64), 0, num_elevation - 1)
    cell = row * num_azimuth + column
    order = np.argsort(cell, kind="stable")
    counts = np.bincount(cell, minlength=num_azimuth * num_elevation)
    cell_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return RaySet(directions, order, cell_start, num_azimuth, num_elevation,
                  float(az_lo + step / 2), float(step), float(el_hi - step / 2), float(step))


def return_probability(distance: np.ndarray, reflectance: np.ndarray,
                       config: SimConfig) -> np.ndarray:
    """
    Probability (R,) that a hit at ``distance`` metres on ``reflectance`` gives a point.

    Logistic in range; the 50 % range grows as a power of the reflectance (lidar equation:
    a brighter target is seen farther).
    """
    ratio = np.maximum(reflectance, 1e-3) / config.reference_reflectance
    r50 = config.return_range_50 * ratio ** config.reflectance_exponent
    z = np.clip((distance - r50) / config.return_range_scale, -50.0, 50.0)
    return (1.0 - config.base_dropout) / (1.0 + np.exp(z))


def range_noise_sigma(distance: np.ndarray, config: SimConfig) -> np.ndarray:
    """Gaussian range noise sigma (metres) at ``distance``."""
    return config.range_noise_sigma + config.range_noise_per_m * distance


def intensity(reflectance: np.ndarray, cos_incidence: np.ndarray, distance: np.ndarray,
              noise: np.ndarray, config: SimConfig) -> np.ndarray:
    """Compute per-ray driver-unit intensities, (R,) float32 in [0, 255]; ``noise`` is N(0, 1)."""
    falloff = 1.0 / (1.0 + (distance / config.intensity_falloff_range) ** 2)
    value = config.intensity_scale * reflectance * cos_incidence * falloff
    value = value * (1.0 + config.intensity_noise * noise)
    return np.clip(value, 0.0, 255.0).astype(np.float32)
