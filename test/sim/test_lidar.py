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

"""Tests of the simulated lidar model (tao_pointpillars_py.sim.lidar)."""

import numpy as np
import pytest

from tao_pointpillars_py.sim import SimConfig
from tao_pointpillars_py.sim.lidar import (bucket_rays, intensity, make_grid,
                                           range_noise_sigma, return_probability)


def test_grid_has_one_unit_ray_per_cell_in_row_major_order():
    config = SimConfig()
    grid = make_grid(np.random.default_rng(0), config)
    d = grid.directions
    assert d.shape == (51_200, 3)
    np.testing.assert_allclose(np.linalg.norm(d, axis=1), 1.0)
    az = np.degrees(np.arctan2(d[:, 1], d[:, 0])).reshape(160, 320)
    el = np.degrees(np.arcsin(d[:, 2])).reshape(160, 320)
    assert np.all(np.diff(az, axis=1) > 0) and np.all(np.diff(el, axis=0) < 0)
    assert az.min() > -70.0 and az.max() < 70.0 and el.min() > -35.0 and el.max() < 35.0


@pytest.mark.parametrize("distance, low, high", [(5.0, 0.97, 1.0), (20.0, 0.95, 1.0),
                                                 (40.0, 0.6, 0.8), (65.0, 0.0, 0.05)])
def test_return_probability_falls_with_range(distance, low, high):
    p = return_probability(np.array([distance]), np.array([0.5]), SimConfig())[0]
    assert low <= p <= high


@pytest.mark.parametrize("distance", [25.0, 35.0, 45.0])
def test_dark_targets_return_less_often(distance):
    p = return_probability(np.full(3, distance), np.array([0.1, 0.5, 0.9]), SimConfig())
    assert p[0] < p[1] < p[2]


def test_range_noise_grows_with_range():
    sigma = range_noise_sigma(np.array([0.0, 10.0, 40.0]), SimConfig())
    assert sigma[0] == pytest.approx(0.02) and np.all(np.diff(sigma) > 0)


@pytest.mark.parametrize("reflectance, cos, expected", [(1.0, 1.0, 255.0), (0.5, 1.0, 127.5),
                                                        (0.5, 0.5, 63.75), (0.0, 1.0, 0.0)])
def test_intensity_scales_with_reflectance_and_incidence(reflectance, cos, expected):
    value = intensity(np.array([reflectance]), np.array([cos]), np.array([0.0]),
                      np.zeros(1), SimConfig())
    assert value.dtype == np.float32 and value[0] == pytest.approx(expected)


def test_intensity_is_clipped_to_driver_range():
    value = intensity(np.ones(2), np.ones(2), np.zeros(2), np.array([10.0, -30.0]),
                      SimConfig())
    np.testing.assert_array_equal(value, [255.0, 0.0])


def test_bucket_rays_puts_each_ray_in_the_cell_of_its_angles():
    rng = np.random.default_rng(1)
    azimuth, elevation = rng.uniform(-1.2, 1.2, 5000), rng.uniform(-0.9, 0.4, 5000)
    d = np.stack([np.cos(elevation) * np.cos(azimuth), np.cos(elevation) * np.sin(azimuth),
                  np.sin(elevation)], axis=1)
    rays = bucket_rays(d, cell_deg=1.0)
    assert sorted(rays.order.tolist()) == list(range(5000))
    cell = np.repeat(np.arange(len(rays.cell_start) - 1), np.diff(rays.cell_start))
    row, column = np.divmod(cell, rays.num_azimuth)
    centre_az = rays.azimuth_start + column * rays.azimuth_step
    centre_el = rays.elevation_start - row * rays.elevation_step
    half = np.radians(0.5) + 1e-9
    assert np.all(np.abs(azimuth[rays.order] - centre_az) <= half)
    assert np.all(np.abs(elevation[rays.order] - centre_el) <= half)
