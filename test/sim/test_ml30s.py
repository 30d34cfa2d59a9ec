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


"""Tests of the ML-30S-A1 sensor of the simulator (tao_pointpillars_py.sim.ml30s)."""

from pathlib import Path

import numpy as np
import pytest

from tao_pointpillars_py.core.boxes import box_corners
from tao_pointpillars_py.data.zvision_pcap import read_angle_table
from tao_pointpillars_py.errors import ConfigError
from tao_pointpillars_py.sim import ml30s, SimConfig, simulate_frame

CAL = Path(__file__).resolve().parents[1] / "data_files" / "zvision" / "ML30S_A1_Default.cal"

# The real capture test/data_files/zvision/ML30S_A1_Default.pcap (10 frames), decoded by
# data/zvision_pcap.py (intensity = reflectance & 0x3FF, the ros2-foxy driver), as printed by
# `bench/sim_vs_real.py`: every return of the 10 frames pooled.
REAL_RETURNS_PER_FRAME = 40_850
REAL_INTENSITY_MEDIAN = 2.0
REAL_INTENSITY_P99 = 46.0       # 45 in each frame alone (shared/real_data/zvision/README.md)
REAL_ELEVATION_DEG = (-52.675, 20.864)   # lowest and highest elevation with a return
# Tolerances of the simulated figures (10 frames of seed 0 pooled, the default mounting heights)
MEDIAN_TOLERANCE = 1.0          # driver units
P99_TOLERANCE = 0.25            # relative
FOV_TOLERANCE_DEG = 0.25        # on the angle table's span and the returns' lowest elevation
RETURNS_TOLERANCE = 0.10        # relative, returns per frame

_FRAMES: dict = {}


def ml30s_frames(count: int = 10, seed: int = 0,
                 heights: tuple[float, float] = ml30s.DEFAULT_MOUNT_HEIGHT_RANGE) -> list:
    key = (count, seed, heights)
    if key not in _FRAMES:
        config = ml30s.mounted_config(SimConfig(), heights)
        _FRAMES[key] = [simulate_frame(seed, i, config, ml30s.Ml30sA1()) for i in range(count)]
    return _FRAMES[key]


def test_angle_table_is_the_calibration_file_in_the_drivers_point_order():
    azimuth, elevation = ml30s.angle_table()
    assert azimuth.shape == elevation.shape == (ml30s.POINTS_PER_FRAME,)
    table = read_angle_table(CAL)     # the driver's reading, by data/zvision_pcap.py
    np.testing.assert_allclose(np.degrees(azimuth), table.azimuth_deg, atol=1e-4)
    np.testing.assert_allclose(np.degrees(elevation), table.elevation_deg, atol=1e-4)
    first_line = [-39.324, -45.881, 3.321, -51.875, 45.940, -47.912, 77.697, -33.533,
                  -33.720, -15.877, 1.464, -16.650, 36.951, -14.753, 71.132, -9.377]
    pairs = np.array(first_line).reshape(8, 2)[list(ml30s.FOV_INDEX)]
    np.testing.assert_allclose(np.degrees(azimuth[:8]), pairs[:, 0], atol=1e-9)
    np.testing.assert_allclose(np.degrees(elevation[:8]), pairs[:, 1], atol=1e-9)


def test_rays_cover_the_real_vertical_field_of_view_not_a_grid():
    rays = ml30s.Ml30sA1().rays()
    assert rays.directions.shape == (ml30s.POINTS_PER_FRAME, 3)
    np.testing.assert_allclose(np.linalg.norm(rays.directions, axis=1), 1.0)
    elevation = np.degrees(np.arcsin(rays.directions[:, 2]))
    low, high = REAL_ELEVATION_DEG
    assert elevation.min() == pytest.approx(low, abs=FOV_TOLERANCE_DEG)
    assert elevation.max() == pytest.approx(high, abs=FOV_TOLERANCE_DEG)
    assert len(np.unique(np.round(elevation, 3))) > 10_000       # no rows of a grid
    # every ray sits in its bucket once
    assert sorted(rays.order.tolist()) == list(range(ml30s.POINTS_PER_FRAME))
    assert rays.cell_start[-1] == ml30s.POINTS_PER_FRAME


def test_simulated_intensity_and_field_of_view_match_the_real_capture():
    frames = ml30s_frames()
    intensity = np.concatenate([f.points[:, 3] for f in frames])
    assert np.array_equal(intensity, np.round(intensity))          # integers, as the driver
    assert np.median(intensity) == pytest.approx(REAL_INTENSITY_MEDIAN, abs=MEDIAN_TOLERANCE)
    assert np.percentile(intensity, 99) == pytest.approx(REAL_INTENSITY_P99,
                                                         rel=P99_TOLERANCE)
    elevation = np.degrees(ml30s.angle_table()[1])[np.concatenate([f.ray for f in frames])]
    assert elevation.min() == pytest.approx(REAL_ELEVATION_DEG[0], abs=FOV_TOLERANCE_DEG)
    assert elevation.max() > 15.0
    returns = np.mean([len(f.points) for f in frames])
    assert returns == pytest.approx(REAL_RETURNS_PER_FRAME, rel=RETURNS_TOLERANCE)


def test_rays_below_minus_20_degrees_all_return_as_on_the_real_ground():
    elevation = np.degrees(ml30s.angle_table()[1])
    down = elevation < -20.0
    for frame in ml30s_frames(3):
        returned = np.zeros(ml30s.POINTS_PER_FRAME, dtype=bool)
        returned[frame.ray] = True
        assert returned[down].mean() > 0.97


@pytest.mark.parametrize("height", [0.8, 1.6])
def test_mount_height_puts_the_ground_that_far_below_the_sensor(height):
    steep = np.degrees(ml30s.angle_table()[1]) < -45.0
    for frame in ml30s_frames(2, seed=3, heights=(height, height)):
        below = steep[frame.ray] & (frame.point_object < 0)
        assert np.median(frame.points[below, 2]) == pytest.approx(-height, abs=0.05)


def test_mount_height_range_is_drawn_per_frame_within_its_bounds():
    config = ml30s.mounted_config(SimConfig(), (0.8, 1.2))
    assert (config.mount_height, config.mount_height_jitter) == pytest.approx((1.0, 0.2))
    for bad in ((1.2, 0.8), (0.0, 1.0), (-1.0, 1.0)):
        with pytest.raises(ConfigError, match="--mount-height-range"):
            ml30s.mounted_config(SimConfig(), bad)


def test_driver_frame_turns_points_and_boxes_and_fills_every_slot():
    frame = ml30s_frames(1)[0]
    driver = ml30s.to_driver_frame(frame)
    assert driver.points.shape == (ml30s.POINTS_PER_FRAME, 4)
    empty = np.setdiff1d(np.arange(ml30s.POINTS_PER_FRAME), frame.ray)
    assert np.all(driver.points[empty] == 0) and np.all(driver.point_object[empty] == -1)
    # the driver's geometry: x = d cos(ele) sin(azi), y = d cos(ele) cos(azi), z = d sin(ele)
    azimuth, elevation = (a[frame.ray] for a in ml30s.angle_table())
    unit = driver.points[frame.ray, :3] / np.linalg.norm(driver.points[frame.ray, :3], axis=1,
                                                         keepdims=True)
    expected = np.stack([np.cos(elevation) * np.sin(azimuth),
                         np.cos(elevation) * np.cos(azimuth), np.sin(elevation)], axis=1)
    np.testing.assert_allclose(unit, expected, atol=1e-5)
    assert np.all(driver.points[frame.ray, 3] == frame.points[:, 3])
    # boxes turn with the points: +90 deg about z
    turn = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    corners = box_corners(frame.boxes.astype(np.float64)) @ turn.T
    turned = box_corners(driver.boxes.astype(np.float64))
    np.testing.assert_allclose(turned, corners, atol=1e-4)
    assert np.all(np.abs(driver.boxes[:, 6]) <= np.pi)
    np.testing.assert_array_equal(driver.num_points, frame.num_points)


def test_driver_frame_refuses_rays_beyond_the_drivers_slots():
    frame = simulate_frame(0, 0)
    grown = frame.__class__(**{**frame.__dict__, "ray": frame.ray + ml30s.POINTS_PER_FRAME})
    with pytest.raises(ConfigError, match="--sensor ml30s-a1"):
        ml30s.to_driver_frame(grown)


def test_fit_intensity_curve_maps_median_and_p99_onto_the_targets():
    values = np.random.default_rng(0).gamma(2.0, 0.1, 10_000)
    gain, gamma = ml30s.fit_intensity_curve(values, 2.0, 46.0)
    mapped = gain * values ** gamma
    assert np.percentile(mapped, [50, 99]) == pytest.approx([2.0, 46.0], rel=1e-6)
    with pytest.raises(ConfigError, match="median < p99"):
        ml30s.fit_intensity_curve(values, 46.0, 2.0)


def test_intensity_is_the_power_law_of_the_default_models_value_clipped_to_255():
    sensor = ml30s.Ml30sA1(intensity_gain=100.0, intensity_gamma=2.0)
    config = SimConfig()
    value = sensor.intensity(np.array([0.5, 1.0, 1.0]), np.array([1.0, 1.0, 1.0]),
                             np.zeros(3), np.array([0.0, 0.0, 20.0]), config)
    assert value.dtype == np.float32
    np.testing.assert_array_equal(value, [25.0, 100.0, 255.0])


def test_sensor_names():
    assert ml30s.sensor_named("default") is None
    assert isinstance(ml30s.sensor_named("ml30s-a1"), ml30s.Ml30sA1)
    with pytest.raises(ConfigError, match="ml30s-a1"):
        ml30s.sensor_named("ml30")
