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

"""Tests of tao_pointpillars_py.training.augment."""

import numpy as np
import pytest

from tao_pointpillars_py.training.augment import (augment_frame, GlobalTransform,
                                                  INTENSITY_GAIN_RANGE)


def _inside(points, box, margin=1e-4):
    c, s = np.cos(box[6]), np.sin(box[6])
    d = points[:, :2] - box[:2]
    lx = d[:, 0] * c + d[:, 1] * s
    ly = -d[:, 0] * s + d[:, 1] * c
    lz = points[:, 2] - box[2]
    half = box[3:6] / 2 + margin
    return (np.abs(lx) <= half[0]) & (np.abs(ly) <= half[1]) & (np.abs(lz) <= half[2])


@pytest.mark.parametrize("transform", [
    GlobalTransform(),
    GlobalTransform(flip_y=True),
    GlobalTransform(angle=0.7),
    GlobalTransform(scale=1.05),
    GlobalTransform(flip_y=True, angle=-0.78, scale=0.95),
])
def test_points_inside_boxes_stay_inside(transform):
    rng = np.random.default_rng(1)
    box = np.array([[6.0, 2.0, -1.0, 4.0, 1.8, 1.6, 0.5]], np.float32)
    points = np.column_stack([rng.uniform(0, 12, 3000), rng.uniform(-4, 8, 3000),
                              rng.uniform(-2, 0, 3000), rng.uniform(0, 1, 3000)])
    points = points.astype(np.float32)
    before = _inside(points, box[0], margin=-1e-3)
    outside = ~_inside(points, box[0], margin=1e-3)
    assert before.sum() > 50
    new_points, new_boxes = transform.apply(points, box)
    assert np.all(_inside(new_points, new_boxes[0])[before])
    assert not np.any(_inside(new_points, new_boxes[0], margin=-1e-4)[outside])
    np.testing.assert_array_equal(new_points[:, 3], points[:, 3])
    assert -np.pi <= new_boxes[0, 6] < np.pi


def test_augment_does_not_modify_inputs_and_is_seeded():
    points = np.ones((5, 4), np.float32)
    boxes = np.ones((1, 7), np.float32)
    a = augment_frame(points, boxes, np.random.default_rng(3))
    b = augment_frame(points, boxes, np.random.default_rng(3))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert np.all(points == 1) and np.all(boxes == 1)


def test_intensity_gain_scales_the_intensity_alone_and_clips_at_the_range_top():
    points = np.array([[1.0, 2.0, -1.0, 0.1], [3.0, -1.0, 0.0, 0.4]], np.float32)
    boxes = np.zeros((0, 7), np.float32)
    new, _ = GlobalTransform(intensity_gain=3.0).apply(points, boxes, intensity_max=1.0)
    np.testing.assert_allclose(new[:, 3], [0.3, 1.0], rtol=1e-6)
    np.testing.assert_array_equal(new[:, :3], points[:, :3])


def test_intensity_gains_are_log_uniform_over_the_range_and_leave_geometry_draws_alone():
    gains = np.array([GlobalTransform.random(np.random.default_rng(i)).intensity_gain
                      for i in range(2000)])
    low, high = INTENSITY_GAIN_RANGE
    assert gains.min() >= low and gains.max() <= high
    # log-uniform: as many draws below 1 as above it, the median near the geometric mean
    assert abs(np.median(np.log(gains)) - np.log(np.sqrt(low * high))) < 0.1
    assert abs((gains < 1.0).mean() - 0.5) < 0.05
    plain = GlobalTransform.random(np.random.default_rng(5), (1.0, 1.0))
    gained = GlobalTransform.random(np.random.default_rng(5))
    assert plain.intensity_gain == 1.0
    assert (plain.flip_y, plain.angle, plain.scale) == (gained.flip_y, gained.angle,
                                                        gained.scale)
