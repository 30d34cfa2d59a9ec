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

"""Tests of ray casting against primitives (tao_pointpillars_py.sim.raycast)."""

import numpy as np
import pytest

from tao_pointpillars_py.sim import SimConfig
from tao_pointpillars_py.sim.ground import Ground
from tao_pointpillars_py.sim.lidar import bucket_rays, make_grid
from tao_pointpillars_py.sim.ml30s import Ml30sA1
from tao_pointpillars_py.sim.primitives import BOX, CYLINDER, ELLIPSOID, Part, PrimitiveBuilder
from tao_pointpillars_py.sim.raycast import cast, GROUND_HIT, NO_HIT
from tao_pointpillars_py.sim.scene import sample_scene

FLAT = Ground(offset=-1.0, slope=(0.0, 0.0), bump_amplitude=np.zeros(1),
              bump_wavevector=np.ones((1, 2)), bump_phase=np.zeros(1), reflectance=0.3)
CONFIG = SimConfig(angular_jitter_deg=0.0)
GRID = make_grid(np.random.default_rng(0), CONFIG)


def forward_ray() -> int:
    """Index of the ray closest to +x."""
    return int(np.argmax(GRID.directions[:, 0]))


def scene(*objects):
    builder = PrimitiveBuilder()
    for owner, (parts, x, y, yaw) in enumerate(objects):
        builder.add_parts(parts, x, y, -1.0, yaw, owner)
    return builder.build()


@pytest.mark.parametrize("part, near_face", [
    (Part(BOX, (0.0, 0.0, 1.0), (2.0, 2.0, 2.0), 0.5), 9.0),
    (Part(CYLINDER, (0.0, 0.0, 1.0), (2.0, 2.0, 2.0), 0.5), 9.0),
    (Part(ELLIPSOID, (0.0, 0.0, 1.0), (2.0, 1.0, 1.0), 0.5), 9.0),
])
def test_forward_ray_hits_the_near_face_head_on(part, near_face):
    hits = cast(GRID, scene(([part], 10.0, 0.0, 0.0)), FLAT, CONFIG.max_range)
    ray = forward_ray()
    assert hits.primitive[ray] == 0
    assert hits.range[ray] * GRID.directions[ray, 0] == pytest.approx(near_face, abs=1e-2)
    assert hits.cos_incidence[ray] == pytest.approx(1.0, abs=0.03)


@pytest.mark.parametrize("yaw", [0.3, 1.2, -2.0])
def test_yawed_box_hit_points_lie_on_its_surface(yaw):
    part = Part(BOX, (0.0, 0.0, 0.75), (4.0, 1.8, 1.5), 0.5)
    hits = cast(GRID, scene(([part], 8.0, 1.0, yaw)), FLAT, CONFIG.max_range)
    hit = np.flatnonzero(hits.primitive == 0)
    assert len(hit) > 100
    p = GRID.directions[hit] * hits.range[hit, None] - [8.0, 1.0, -0.25]
    c, s = np.cos(yaw), np.sin(yaw)
    local = np.abs(np.stack([c * p[:, 0] + s * p[:, 1], -s * p[:, 0] + c * p[:, 1], p[:, 2]], 1))
    excess = local - [2.0, 0.9, 0.75]
    assert np.all(excess <= 1e-6) and np.all(np.abs(excess).min(axis=1) <= 1e-6)


def test_nearer_object_occludes_farther_one():
    near = Part(BOX, (0.0, 0.0, 1.0), (1.0, 1.0, 2.0), 0.5)
    far = Part(BOX, (0.0, 0.0, 1.5), (1.0, 4.0, 3.0), 0.5)
    hits = cast(GRID, scene(([far], 20.0, 0.0, 0.0), ([near], 10.0, 0.0, 0.0)), FLAT,
                CONFIG.max_range)
    assert hits.primitive[forward_ray()] == 1
    assert np.count_nonzero(hits.primitive == 0) > 0


def test_rays_miss_to_the_sky_and_hit_the_ground_below():
    hits = cast(GRID, scene(), FLAT, CONFIG.max_range)
    d = GRID.directions
    assert np.all(hits.primitive[d[:, 2] > 0] == NO_HIT)
    below = hits.primitive == GROUND_HIT
    z = d[below, 2] * hits.range[below]
    np.testing.assert_allclose(z, -1.0, atol=1e-9)
    assert np.all(np.isinf(hits.range[~below]))
    assert hits.range[below].max() <= CONFIG.max_range


@pytest.mark.parametrize("seed", [0, 1])
def test_bucketed_rays_hit_what_every_ray_against_every_primitive_hits(seed):
    """The angle table's cells give the hits of a brute-force cast (one cell holds all rays)."""
    rays = bucket_rays(Ml30sA1().rays().directions[::5])   # a fifth of the table: quicker
    scene_ = sample_scene(np.random.default_rng(seed), CONFIG)
    hits = cast(rays, scene_.primitives, scene_.ground, CONFIG.max_range)
    brute = cast(bucket_rays(rays.directions, cell_deg=400.0), scene_.primitives,
                 scene_.ground, CONFIG.max_range)
    assert (brute.primitive >= 0).sum() > 200           # objects were hit
    np.testing.assert_array_equal(hits.range, brute.range)
    np.testing.assert_array_equal(hits.primitive, brute.primitive)
    np.testing.assert_array_equal(hits.cos_incidence, brute.cos_incidence)
