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

"""Tests of one simulated frame (sim.frame.simulate_frame), its ground and its scene."""

import dataclasses
import math

import numpy as np
import pytest

from tao_pointpillars_py.errors import ConfigError
from tao_pointpillars_py.sim import SimConfig, SimFrame, simulate_frame
from tao_pointpillars_py.sim.ground import Ground
from tao_pointpillars_py.sim.scene import sample_scene

SEEDS = [0, 7, 1234]
_FRAMES: dict = {}


def frame(seed: int, index: int = 0, config: SimConfig = None) -> SimFrame:
    key = (seed, index, config)
    if key not in _FRAMES:
        _FRAMES[key] = simulate_frame(seed, index, config)
    return _FRAMES[key]


def points_in_box(points: np.ndarray, box: np.ndarray, margin: float) -> np.ndarray:
    x, y, z, dx, dy, dz, yaw = box.astype(np.float64)
    rel = points[:, :3].astype(np.float64) - [x, y, z]
    c, s = math.cos(yaw), math.sin(yaw)
    lx = c * rel[:, 0] + s * rel[:, 1]
    ly = -s * rel[:, 0] + c * rel[:, 1]
    return ((np.abs(lx) <= dx / 2 + margin) & (np.abs(ly) <= dy / 2 + margin)
            & (np.abs(rel[:, 2]) <= dz / 2 + margin))


@pytest.mark.parametrize("seed", SEEDS)
def test_frame_is_deterministic_for_same_seed_and_index(seed):
    a, b = frame(seed), simulate_frame(seed, 0)
    for field in dataclasses.fields(SimFrame):
        np.testing.assert_array_equal(getattr(a, field.name), getattr(b, field.name))


@pytest.mark.parametrize("seed", SEEDS)
def test_frames_differ_between_indices_and_seeds(seed):
    a, b, c = frame(seed, 0), frame(seed, 1), frame(seed + 1, 0)
    assert a.points.shape != b.points.shape or not np.array_equal(a.points, b.points)
    assert a.points.shape != c.points.shape or not np.array_equal(a.points, c.points)


@pytest.mark.parametrize("seed", SEEDS)
def test_arrays_have_documented_shapes_and_dtypes(seed):
    f = frame(seed)
    n, m = len(f.points), len(f.boxes)
    assert f.points.dtype == np.float32 and f.points.shape == (n, 4)
    assert f.boxes.dtype == np.float32 and f.boxes.shape == (m, 7)
    assert f.labels.dtype == np.int64 and f.labels.shape == (m,)
    assert f.num_points.dtype == np.int32 and f.num_points.shape == (m,)
    assert f.point_object.dtype == np.int32 and f.point_object.shape == (n,)
    assert 15_000 <= n <= 51_200
    assert np.all(np.isfinite(f.points)) and np.all(np.isfinite(f.boxes))


@pytest.mark.parametrize("seed", SEEDS)
def test_points_lie_within_field_of_view_range_and_intensity_limits(seed):
    config = SimConfig()
    p = frame(seed).points.astype(np.float64)
    azimuth = np.degrees(np.arctan2(p[:, 1], p[:, 0]))
    elevation = np.degrees(np.arctan2(p[:, 2], np.hypot(p[:, 0], p[:, 1])))
    assert np.all(np.abs(azimuth) <= config.azimuth_fov_deg / 2 + 0.1)
    assert np.all(np.abs(elevation) <= config.elevation_fov_deg / 2 + 0.1)
    assert np.linalg.norm(p[:, :3], axis=1).max() <= config.max_range + 0.5
    assert p[:, 3].min() >= 0.0 and p[:, 3].max() <= 255.0
    assert p[:, 3].max() > 20.0


@pytest.mark.parametrize("seed", SEEDS)
def test_points_follow_ray_order(seed):
    p = frame(seed).points.astype(np.float64)
    elevation = np.arctan2(p[:, 2], np.hypot(p[:, 0], p[:, 1]))
    row = np.round((np.radians(35.0) - elevation) / np.radians(70.0 / 160) - 0.5)
    assert np.all(np.diff(row) >= 0)


@pytest.mark.parametrize("seed", SEEDS)
def test_labels_are_class_indices_with_counts_in_range(seed):
    f = frame(seed)
    assert set(np.unique(f.labels)) <= {0, 1, 2}
    assert 1 <= np.count_nonzero(f.labels == 0) <= 10
    assert np.count_nonzero(f.labels == 1) <= 10
    assert np.count_nonzero(f.labels == 2) <= 6


@pytest.mark.parametrize("seed", SEEDS)
def test_num_points_counts_points_of_each_object(seed):
    f = frame(seed)
    expected = [np.count_nonzero(f.point_object == i) for i in range(len(f.boxes))]
    np.testing.assert_array_equal(f.num_points, expected)
    assert f.point_object.min() >= -1 and f.point_object.max() < len(f.boxes)
    assert f.num_points.sum() > 500


@pytest.mark.parametrize("seed", SEEDS)
def test_boxes_enclose_their_objects_points_without_noise(seed):
    f = frame(seed, config=SimConfig(range_noise_sigma=0.0, range_noise_per_m=0.0))
    for i, box in enumerate(f.boxes):
        inside = points_in_box(f.points[f.point_object == i], box, margin=0.01)
        assert inside.all(), f"object {i} has {np.count_nonzero(~inside)} points outside"


@pytest.mark.parametrize("seed", SEEDS)
def test_boxes_enclose_their_objects_points_with_noise(seed):
    f = frame(seed)
    inside = [points_in_box(f.points[f.point_object == i], box, margin=0.1)
              for i, box in enumerate(f.boxes)]
    assert np.concatenate(inside).mean() >= 0.99


@pytest.mark.parametrize("seed", SEEDS)
def test_box_sizes_match_their_class(seed):
    f = frame(seed)
    size = f.boxes[:, 3:6]
    ped, cyc, veh = size[f.labels == 1], size[f.labels == 2], size[f.labels == 0]
    assert np.all((ped >= [0.49, 0.49, 1.49]) & (ped <= [0.91, 0.71, 1.91]))
    assert np.all((cyc >= [1.59, 0.49, 1.59]) & (cyc <= [1.91, 0.81, 1.91]))
    assert np.all((veh >= [3.7, 1.5, 1.3]) & (veh <= [9.1, 2.7, 3.6]))


@pytest.mark.parametrize("seed", SEEDS)
def test_ground_points_lie_near_the_ground(seed):
    rng = np.random.default_rng([seed, 0])
    ground = sample_scene(rng, SimConfig()).ground
    f = frame(seed)
    free = f.points[f.point_object < 0].astype(np.float64)
    height = free[:, 2] - ground.height(free[:, 0], free[:, 1])
    near = np.hypot(free[:, 0], free[:, 1]) < 30
    assert np.all(height[near] > -0.15)
    assert np.mean(np.abs(height[near]) < 0.1) > 0.5
    assert abs(np.median(free[near & (np.abs(height) < 0.1), 2]) + 1.0) < 0.8


@pytest.mark.parametrize("seed", SEEDS)
def test_objects_stand_on_the_ground(seed):
    rng = np.random.default_rng([seed, 0])
    scene = sample_scene(rng, SimConfig())
    bottom = scene.boxes[:, 2] - scene.boxes[:, 5] / 2
    np.testing.assert_allclose(bottom, scene.ground.height(scene.boxes[:, 0], scene.boxes[:, 1]),
                               atol=1e-4)


@pytest.mark.parametrize("seed", SEEDS)
def test_objects_do_not_overlap_in_bev(seed):
    boxes = frame(seed).boxes.astype(np.float64)
    corners = []
    for x, y, _, dx, dy, _, yaw in boxes:
        c, s = math.cos(yaw), math.sin(yaw)
        local = np.array([[dx, dy], [dx, -dy], [-dx, -dy], [-dx, dy]]) / 2
        corners.append(local @ np.array([[c, s], [-s, c]]) + [x, y])
    for i in range(len(boxes)):
        for j in range(i):
            assert _separated(corners[i], corners[j]), f"boxes {i} and {j} overlap"


def _separated(a: np.ndarray, b: np.ndarray) -> bool:
    for poly in (a, b):
        for k in range(4):
            edge = poly[(k + 1) % 4] - poly[k]
            axis = np.array([-edge[1], edge[0]])
            pa, pb = a @ axis, b @ axis
            if pa.max() <= pb.min() or pb.max() <= pa.min():
                return True
    return False


@pytest.mark.parametrize("seed", SEEDS)
def test_most_objects_lie_in_the_detection_region(seed):
    boxes = frame(seed).boxes
    inside = ((boxes[:, 0] >= 2) & (boxes[:, 0] <= 40) & (np.abs(boxes[:, 1]) <= 25))
    assert inside.mean() >= 0.6


def test_ground_height_follows_slope_and_offset():
    ground = Ground(offset=-1.0, slope=(0.02, -0.01), bump_amplitude=np.zeros(3),
                    bump_wavevector=np.ones((3, 2)), bump_phase=np.zeros(3), reflectance=0.3)
    assert ground.height(10.0, 5.0) == pytest.approx(-1.0 + 0.2 - 0.05)
    t, cos = ground.intersect(np.array([[0.0, 0.0, -1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0],
                                        [0.0, 0.0, 1.0]]))
    assert t[0] == pytest.approx(1.0) and t[1] == pytest.approx(50.0)   # uphill along +x
    assert np.isinf(t[2]) and np.isinf(t[3])
    assert cos[0] == pytest.approx(1.0 / math.sqrt(1 + 0.02 ** 2 + 0.01 ** 2))


@pytest.mark.parametrize("kwargs", [{"num_azimuth": 1}, {"max_range": 0.0},
                                    {"num_vehicles": (5, 2)}, {"base_dropout": 1.5},
                                    {"region_azimuth_deg": 80.0}])
def test_invalid_config_raises_config_error(kwargs):
    with pytest.raises(ConfigError):
        SimConfig(**kwargs)


@pytest.mark.parametrize("seed, index", [(-1, 0), (0, -2), (1.5, 0)])
def test_negative_or_fractional_seed_raises_config_error(seed, index):
    with pytest.raises(ConfigError):
        simulate_frame(seed, index)


def test_scene_without_objects_gives_empty_ground_truth():
    config = SimConfig(num_vehicles=(0, 0), num_pedestrians=(0, 0), num_cyclists=(0, 0),
                       num_distractors=(0, 0))
    f = simulate_frame(5, 0, config)
    assert f.boxes.shape == (0, 7) and f.labels.shape == (0,) and f.num_points.shape == (0,)
    assert len(f.points) > 10_000 and np.all(f.point_object == -1)
