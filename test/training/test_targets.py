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

"""Tests of tao_pointpillars_py.training.targets (numpy only)."""

import numpy as np
import pytest

from tao_pointpillars_py.core.box_coder import direction_targets
from tao_pointpillars_py.training.targets import (IGNORE, TargetAssigner,
                                                  training_box_mask)


@pytest.fixture
def assigner(tiny_cfg):
    return TargetAssigner(tiny_cfg)


def _anchor_of_class(assigner, cls, nth=100, rot=0):
    index = assigner.class_anchor_index[cls]
    a = len(assigner.cfg.anchors[cls].rotations)
    return int(index[nth * a + rot])


@pytest.mark.parametrize("cls, rot", [(0, 0), (0, 1), (1, 0), (2, 1)])
def test_box_equal_to_anchor_makes_it_positive_with_zero_residual(assigner, cls, rot):
    k = _anchor_of_class(assigner, cls, rot=rot)
    box = assigner.anchors[k][None].copy()
    t = assigner.assign(box, np.array([cls]), np.array([True]))
    assert t.labels[k] == cls + 1
    np.testing.assert_allclose(t.box_targets[k], 0.0, atol=1e-6)
    assert t.dir_targets[k] == direction_targets(box[:, 6], assigner.cfg)[0]


def test_far_anchors_and_other_classes_are_background(assigner):
    k = _anchor_of_class(assigner, 0)
    box = assigner.anchors[k][None].copy()
    t = assigner.assign(box, np.array([0]), np.array([True]))
    far = np.linalg.norm(assigner.anchors[:, :2] - box[0, :2], axis=1) > 6.0
    assert far.any()
    assert np.all(t.labels[far] == 0)
    other = np.concatenate(assigner.class_anchor_index[1:])
    assert np.all(t.labels[other] == 0)
    assert np.all(t.box_targets[t.labels <= 0] == 0)


def test_small_box_is_force_matched_to_its_best_anchor(assigner):
    k = _anchor_of_class(assigner, 1)  # pedestrian anchor 0.8 x 0.6, threshold 0.25
    box = assigner.anchors[k][None].copy()
    box[0, 3:5] = 0.3  # IoU 0.09 / 0.48 < unmatched threshold
    t = assigner.assign(box, np.array([1]), np.array([True]))
    assert t.labels[k] == 2
    assert t.num_positive >= 1
    assert np.all(t.labels[t.labels > 0] == 2)


def test_sparse_box_makes_its_anchors_ignored_not_background(assigner):
    k = _anchor_of_class(assigner, 0)
    box = assigner.anchors[k][None].copy()
    use = training_box_mask(assigner.cfg, box, np.array([2]))
    assert not use[0]
    t = assigner.assign(box, np.array([0]), use)
    assert t.labels[k] == IGNORE
    assert t.num_positive == 0


def test_empty_frame_is_all_background(assigner):
    t = assigner.assign(np.zeros((0, 7)), np.zeros(0, np.int64), np.zeros(0, bool))
    assert t.labels.shape == (assigner.num_anchors,)
    assert np.all(t.labels == 0)


@pytest.mark.parametrize("centre, num_points, expected", [
    ((5.0, 0.0), 10, True),
    ((5.0, 0.0), 4, False),
    ((5.0, 0.0), -1, True),       # unknown point count
    ((-1.0, 0.0), 10, False),     # behind the range
    ((5.0, 6.0), 10, False),      # beside the range
])
def test_training_box_mask(tiny_cfg, centre, num_points, expected):
    box = np.array([[centre[0], centre[1], -1.0, 4.0, 2.0, 1.5, 0.0]], np.float32)
    assert training_box_mask(tiny_cfg, box, np.array([num_points]))[0] == expected
