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

"""Decoding head outputs and TAO boxes into NMS-filtered detections."""

import numpy as np
from onnx_fixtures import TINY_CONFIG
import pytest

from tao_pointpillars_py.core.anchors import generate_anchors
from tao_pointpillars_py.core.box_coder import encode_boxes
from tao_pointpillars_py.core.config import PostProcessConfig
from tao_pointpillars_py.core.postprocess import decode_predictions, decode_tao_boxes

ANCHORS = generate_anchors(TINY_CONFIG).reshape(-1, 7)
K, C = ANCHORS.shape[0], TINY_CONFIG.num_classes


def logits_for(scores):
    p = np.clip(np.asarray(scores, np.float64), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p)).astype(np.float32)


def empty_head():
    return (np.full((K, C), -10.0, np.float32), np.zeros((K, 7), np.float32),
            np.zeros((K, 2), np.float32))


@pytest.mark.parametrize("direction_bin,yaw_offset", [(1, 0.0), (0, np.pi)])
def test_confident_anchor_decodes_to_its_target_box(direction_bin, yaw_offset):
    cls, box, dirs = empty_head()
    target = np.array([[3.1, 0.4, -0.1, 4.2, 1.8, 1.5, 0.3]], np.float32)
    cls[37, 0] = logits_for(0.9)
    box[37] = encode_boxes(target, ANCHORS[37:38])[0]
    dirs[37, direction_bin] = 5.0  # bin 1 is the true half-turn of yaw 0.3 (dir_offset 0.785)
    out = decode_predictions(cls, box, dirs, ANCHORS, TINY_CONFIG, PostProcessConfig())
    assert len(out) == 1
    assert out.labels[0] == 0 and out.scores[0] == pytest.approx(0.9, abs=1e-6)
    np.testing.assert_allclose(out.boxes[0, :6], target[0, :6], atol=1e-4)
    assert np.cos(out.boxes[0, 6] - 0.3 - yaw_offset) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("threshold,expected", [(0.3, 3), (0.55, 2), (0.75, 1), (0.95, 0)])
def test_score_threshold_keeps_scores_above_it(threshold, expected):
    cls, box, dirs = empty_head()
    for anchor, score in zip((0, 100, 300), (0.5, 0.6, 0.8)):  # far apart: no NMS overlap
        cls[anchor, 2] = logits_for(score)
    out = decode_predictions(cls, box, dirs, ANCHORS, TINY_CONFIG,
                             PostProcessConfig(score_threshold=threshold))
    assert len(out) == expected
    assert np.all(np.diff(out.scores) <= 0)


def test_pre_nms_top_n_and_max_detections_cap_the_output():
    cls, box, dirs = empty_head()
    cls[:, 1] = logits_for(np.linspace(0.5, 0.9, K))
    capped = decode_predictions(cls, box, dirs, ANCHORS, TINY_CONFIG,
                                PostProcessConfig(pre_nms_top_n=5, nms_iou_thresh=1.0))
    assert len(capped) == 5
    np.testing.assert_allclose(capped.scores, np.sort(capped.scores)[::-1])
    assert capped.scores[0] == pytest.approx(0.9, abs=1e-6)
    limited = decode_predictions(cls, box, dirs, ANCHORS, TINY_CONFIG,
                                 PostProcessConfig(max_detections=3, nms_iou_thresh=1.0))
    assert len(limited) == 3


def test_overlapping_duplicates_are_suppressed_per_class():
    cls, box, dirs = empty_head()
    # anchors 0 and 1 share a location (rotations 0 and pi/2 of the Vehicle anchor)
    cls[0, 0], cls[1, 0] = logits_for(0.9), logits_for(0.8)
    out = decode_predictions(cls, box, dirs, ANCHORS, TINY_CONFIG,
                             PostProcessConfig(nms_iou_thresh=0.1))
    assert len(out) == 1 and out.scores[0] == pytest.approx(0.9, abs=1e-6)


def test_no_confident_anchor_gives_empty_detections():
    cls, box, dirs = empty_head()
    out = decode_predictions(cls, box, dirs, ANCHORS, TINY_CONFIG, PostProcessConfig())
    assert len(out) == 0 and out.boxes.shape == (0, 7)


def test_tao_boxes_use_only_num_boxes_rows_and_threshold():
    rows = np.zeros((6, 9), np.float32)
    rows[:, :7] = [[i * 10.0, 0, 0, 2, 2, 2, 0] for i in range(6)]
    rows[:, 7] = [0, 1, 2, 0, 1, 2]
    rows[:, 8] = [0.9, 0.2, 0.7, 0.8, 0.95, 0.99]
    out = decode_tao_boxes(rows, 4, PostProcessConfig(score_threshold=0.5))
    np.testing.assert_allclose(out.scores, [0.9, 0.8, 0.7])
    np.testing.assert_array_equal(out.labels, [0, 0, 2])
