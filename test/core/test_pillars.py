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

"""Pillarization against a slow, straightforward reference implementation."""

import numpy as np
import pytest

from tao_pointpillars_py.core.config import PillarConfig
from tao_pointpillars_py.core.pillars import inside_range, pad_pillars, PillarEncoder, pillarize
from tao_pointpillars_py.errors import ConfigError


def reference_pillarize(points, config):
    """Point-by-point reference of the documented rules (slow on purpose)."""
    r, v = config.point_cloud_range, config.voxel_size
    nx, _ = config.grid_size
    pillars = {}  # flat cell -> list of point rows, insertion ordered by first point
    for p in points:
        if not all(r[k] <= p[k] < r[k + 3] for k in range(3)):
            continue
        ix = min(int(np.floor((p[0] - r[0]) / v[0])), nx - 1)
        iy = min(int(np.floor((p[1] - r[1]) / v[1])), config.grid_size[1] - 1)
        pillars.setdefault((iy, ix), []).append(p)
    out_features, out_coords, out_counts = [], [], []
    for (iy, ix), pts in list(pillars.items())[:config.max_pillars]:
        pts = np.array(pts[:config.max_points_per_pillar], dtype=np.float64)
        mean = pts[:, :3].mean(axis=0)
        centre = np.array([r[0] + (ix + 0.5) * v[0], r[1] + (iy + 0.5) * v[1],
                           r[2] + v[2] / 2])
        feats = np.zeros((config.max_points_per_pillar, 10))
        for j, q in enumerate(pts):
            feats[j] = np.concatenate([q[:4], q[:3] - mean, q[:3] - centre])
        out_features.append(feats)
        out_coords.append((iy, ix))
        out_counts.append(len(pts))
    return np.array(out_features), np.array(out_coords), np.array(out_counts)


def random_points(seed, n, config, spill=1.0):
    rng = np.random.default_rng(seed)
    r = np.asarray(config.point_cloud_range)
    xyz = rng.uniform(r[:3] - spill, r[3:] + spill, size=(n, 3))
    # clustered points so pillars overflow max_points_per_pillar
    xyz[: n // 3] = xyz[0] + rng.normal(scale=0.05, size=(n // 3, 3))
    pts = np.concatenate([xyz, rng.uniform(0, 1, size=(n, 1))], axis=1).astype(np.float32)
    return pts


SMALL = PillarConfig(point_cloud_range=(0.0, -2.0, -1.0, 4.0, 2.0, 1.0),
                     voxel_size=(0.5, 0.5, 2.0), max_points_per_pillar=5, max_pillars=20)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("config", [
    SMALL,
    PillarConfig(point_cloud_range=(0.0, -2.0, -1.0, 4.0, 2.0, 1.0),
                 voxel_size=(0.25, 0.5, 2.0), max_points_per_pillar=3, max_pillars=1000),
])
def test_pillarize_matches_reference(seed, config):
    points = random_points(seed, 300, config)
    pillars = pillarize(points, config)
    features, coords, counts = reference_pillarize(points, config)
    np.testing.assert_array_equal(pillars.coords, coords)
    np.testing.assert_array_equal(pillars.num_points, counts)
    np.testing.assert_allclose(pillars.features, features, atol=1e-5)


def test_pillarize_drops_points_on_max_faces_and_outside():
    pts = np.array([[4.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.5], [3.9, 1.99, 0.99, 0.2],
                    [-0.01, 0.0, 0.0, 1.0], [1.0, 0.0, 1.0, 1.0]], dtype=np.float32)
    pillars = pillarize(pts, SMALL)
    assert pillars.num_pillars == 2
    np.testing.assert_array_equal(pillars.coords, [[4, 0], [7, 7]])


def test_pillarize_truncation_keeps_first_pillars_and_points():
    config = PillarConfig(point_cloud_range=(0.0, 0.0, -1.0, 4.0, 4.0, 1.0),
                          voxel_size=(1.0, 1.0, 2.0), max_points_per_pillar=2, max_pillars=2)
    pts = np.array([[3.5, 3.5, 0, 0.1], [0.5, 0.5, 0, 0.2], [3.6, 3.6, 0, 0.3],
                    [2.5, 0.5, 0, 0.4], [3.7, 3.7, 0, 0.5]], dtype=np.float32)
    pillars = pillarize(pts, config)
    np.testing.assert_array_equal(pillars.coords, [[3, 3], [0, 0]])
    np.testing.assert_array_equal(pillars.num_points, [2, 1])
    np.testing.assert_allclose(pillars.features[0, :, 3], [0.1, 0.3])


def test_pillarize_is_deterministic_and_padding_is_zero():
    points = random_points(5, 500, SMALL)
    a, b = pillarize(points, SMALL), pillarize(points.copy(), SMALL)
    np.testing.assert_array_equal(a.features, b.features)
    for p in range(a.num_pillars):
        assert not a.features[p, a.num_points[p]:].any()


def test_pillarize_empty_cloud_gives_no_pillars():
    pillars = pillarize(np.zeros((0, 4), np.float32), SMALL)
    assert pillars.num_pillars == 0
    assert pillars.features.shape == (0, 5, 10)


def test_pad_pillars_fills_fixed_shape():
    pillars = pillarize(random_points(3, 200, SMALL), SMALL)
    features, coords, count = pad_pillars(pillars, 40)
    assert features.shape == (40, 5, 10) and coords.shape == (40, 2)
    assert count == pillars.num_pillars
    assert not features[count:].any() and not coords[count:].any()
    with pytest.raises(ConfigError):
        pad_pillars(pillars, count - 1)


def test_pillarize_rejects_wrong_shape():
    with pytest.raises(ConfigError, match="shape"):
        pillarize(np.zeros((10, 3), np.float32), SMALL)


def test_encoder_equals_padded_pillarize_across_frames():
    config = PillarConfig(point_cloud_range=(0.0, -2.0, -1.0, 4.0, 2.0, 1.0),
                          voxel_size=(0.25, 0.25, 2.0), max_points_per_pillar=4,
                          max_pillars=200)
    encoder = PillarEncoder(config)
    for seed, n in [(0, 600), (1, 40), (2, 0), (3, 300)]:  # big, small, empty: stale rows
        points = random_points(seed, n, config) if n else np.zeros((0, 4), np.float32)
        features, coords, count = encoder.encode(points)
        ref_features, ref_coords, ref_count = pad_pillars(pillarize(points, config), 200)
        assert count == ref_count
        np.testing.assert_array_equal(features, ref_features)
        np.testing.assert_array_equal(coords, ref_coords)


def test_inside_range_keeps_min_drops_max_in_float32():
    r = (0.0, -25.6, -3.0, 40.96, 25.6, 3.0)
    x = np.array([0.0, 40.96, 40.959, -1e-6, 10.0, 10.0], np.float32)
    y = np.array([0.0, 0.0, 0.0, 0.0, -25.6, 25.6], np.float32)
    z = np.zeros(6, np.float32)
    np.testing.assert_array_equal(inside_range(x, y, z, r),
                                  [True, False, True, False, True, False])
    # the float64 value just above float32(40.96) still counts as at the limit
    assert not inside_range(np.array([np.float32(40.96)], np.float64), np.zeros(1), np.zeros(1),
                            r)[0]
