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

"""Tests of tao_pointpillars_py.core.fusion: extrinsics, base-frame boxes, cross-lidar merge."""

import math

import numpy as np
import pytest

from tao_pointpillars_py.core.boxes import Extrinsic, rotated_iou_bev
from tao_pointpillars_py.core.detections import Detections
from tao_pointpillars_py.core.fusion import (DetectionFusion, merge_detections, parse_extrinsic,
                                             parse_extrinsics, to_base_frame)
from tao_pointpillars_py.errors import ConfigError


def _detections(*rows, scores=None, labels=None):
    boxes = np.array(rows, np.float32).reshape(-1, 7)
    n = len(boxes)
    return Detections(boxes, np.asarray(scores or [0.9] * n, np.float32),
                      np.asarray(labels or [0] * n, np.int64))


def test_extrinsic_text_is_frame_metres_and_degrees():
    extrinsic = parse_extrinsic("lidar_left 0.5 1.0 1.6 0 0 90")
    assert extrinsic.frame_id == "lidar_left"
    np.testing.assert_allclose(extrinsic.translation, [0.5, 1.0, 1.6])
    np.testing.assert_allclose(extrinsic.rotation @ [1, 0, 0], [0, 1, 0], atol=1e-12)
    assert extrinsic.heading == pytest.approx(math.pi / 2)


@pytest.mark.parametrize("text", ["lidar 1 2 3", "lidar a b c 0 0 0", "lidar 1 2 nan 0 0 0"])
def test_bad_extrinsic_text_says_the_format(text):
    with pytest.raises(ConfigError, match="x y z roll pitch yaw|non-finite"):
        parse_extrinsic(text)


def test_extrinsics_parameter_skips_blanks_and_refuses_duplicates():
    assert sorted(parse_extrinsics(["a 0 0 0 0 0 0", " ", "b 1 0 0 0 0 0"])) == ["a", "b"]
    with pytest.raises(ConfigError, match="twice"):
        parse_extrinsics(["a 0 0 0 0 0 0", "a 1 0 0 0 0 0"])


def test_boxes_move_into_the_base_frame_and_turn_with_the_lidar():
    # a lidar on the left side, 1 m left of the base origin, looking left (+y)
    left = Extrinsic.from_xyz_rpy("lidar_left", (0.0, 1.0, 1.5), (0.0, 0.0, 90.0))
    moved = to_base_frame(_detections([10, 0, -1, 4, 2, 1.5, 0.3]), left)
    np.testing.assert_allclose(moved.boxes[0, :3], [0, 11, 0.5], atol=1e-5)
    np.testing.assert_allclose(moved.boxes[0, 3:6], [4, 2, 1.5])
    assert moved.boxes[0, 6] == pytest.approx(0.3 + math.pi / 2, abs=1e-6)
    # all four corners land where rotating the corners themselves puts them
    rear = Extrinsic.from_xyz_rpy("lidar_rear", (-1.0, 0.0, 1.5), (0.0, 0.0, 180.0))
    box = _detections([5, 2, 0, 4, 2, 1.5, 0.4])
    moved = to_base_frame(box, rear)
    assert -math.pi <= moved.boxes[0, 6] < math.pi
    same = to_base_frame(_detections([-6, -2, 1.5, 4, 2, 1.5, moved.boxes[0, 6]]),
                         Extrinsic.from_xyz_rpy("base", (0, 0, 0), (0, 0, 0)))
    assert rotated_iou_bev(moved.boxes, same.boxes)[0, 0] == pytest.approx(1.0, abs=1e-5)


def test_an_object_two_lidars_see_is_one_box_and_the_best_score_wins():
    a = _detections([10, 5, 0, 4, 2, 1.5, 0.0], [20, 0, 0, 4, 2, 1.5, 0.0], scores=[0.8, 0.7])
    b = _detections([10.2, 5.1, 0, 4.1, 2, 1.5, 0.05], scores=[0.9])
    merged = merge_detections([a, b], iou_threshold=0.1, max_detections=100)
    assert len(merged) == 2
    np.testing.assert_allclose(merged.scores, [0.9, 0.7])
    np.testing.assert_allclose(merged.boxes[0, :2], [10.2, 5.1])


def test_different_classes_do_not_suppress_each_other_unless_agnostic():
    a = _detections([0, 0, 0, 1, 1, 1.7, 0], scores=[0.8], labels=[1])
    b = _detections([0, 0, 0, 1, 1, 1.7, 0], scores=[0.7], labels=[2])
    assert len(merge_detections([a, b], 0.1, 10)) == 2
    assert len(merge_detections([a, b], 0.1, 10, class_agnostic=True)) == 1


def test_fusion_merges_the_latest_answers_within_the_window():
    fusion = DetectionFusion(window_s=0.1, iou_threshold=0.1)
    car = [10, 5, 0, 4, 2, 1.5, 0]
    assert len(fusion.add("front", 1_000_000_000, _detections(car))) == 1
    # the left lidar sees the same car 30 ms later, and a pedestrian
    merged = fusion.add("left", 1_030_000_000, _detections(car, [3, 8, 0, 0.6, 0.6, 1.7, 0],
                                                           scores=[0.95, 0.6], labels=[0, 1]))
    assert len(merged) == 2 and sorted(merged.labels.tolist()) == [0, 1]
    # 300 ms later the front lidar's old answer is out of the window: only the new one counts
    merged = fusion.add("front", 1_330_000_000, Detections.empty())
    assert len(merged) == 0
