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

"""Tests of tao_pointpillars_py.core.nms: greedy rotated NMS, class-aware and class-agnostic."""

import numpy as np
import pytest

from tao_pointpillars_py.core import nms
from tao_pointpillars_py.core.boxes import rotated_iou_bev
from tao_pointpillars_py.core.nms import multiclass_nms, rotated_nms


def boxes_at(xs, ys=None, size=2.0, yaw=0.0):
    xs = np.asarray(xs, dtype=np.float64)
    ys = np.zeros_like(xs) if ys is None else np.asarray(ys, dtype=np.float64)
    n = len(xs)
    return np.column_stack([xs, ys, np.zeros(n), np.full((n, 3), size), np.full(n, yaw)])


def reference_nms(boxes, scores, threshold, labels=None):
    """Plain greedy NMS over the full IoU matrix, one box at a time."""
    iou = rotated_iou_bev(boxes, boxes).astype(np.float64)
    if labels is not None:
        iou[labels[:, None] != labels[None, :]] = 0.0
    suppressed = np.zeros(len(boxes), dtype=bool)
    keep = []
    for i in np.argsort(-scores, kind="stable"):
        if not suppressed[i]:
            keep.append(i)
            suppressed |= iou[i] > threshold
    return np.array(keep, dtype=np.int64)


def clustered_boxes(rng, objects, per_object):
    centres = np.column_stack([rng.uniform(0, 60, (objects, 2)), rng.uniform(-1, 0, objects),
                               rng.uniform(0.6, 4.5, objects), rng.uniform(0.6, 2.0, objects),
                               rng.uniform(1.5, 2.0, objects),
                               rng.uniform(-np.pi, np.pi, objects)])
    noise = rng.normal(0.0, 1.0, (objects * per_object, 7)) * [0.4, 0.4, 0.1, 0.2, 0.1, 0.1, 0.3]
    return np.repeat(centres, per_object, axis=0) + noise


def test_overlapping_pair_keeps_the_higher_score():
    boxes = boxes_at([0.0, 1.0])                       # IoU 1/3
    assert rotated_nms(boxes, np.array([0.4, 0.9]), 0.1).tolist() == [1]
    assert rotated_nms(boxes, np.array([0.9, 0.4]), 0.1).tolist() == [0]


@pytest.mark.parametrize("threshold,kept", [(1 / 3 - 1e-4, [1]), (1 / 3 + 1e-4, [1, 0])])
def test_suppression_needs_iou_above_the_threshold(threshold, kept):
    boxes = boxes_at([0.0, 1.0])                       # IoU exactly 1/3
    assert rotated_nms(boxes, np.array([0.5, 0.8]), threshold).tolist() == kept


def test_suppressed_boxes_do_not_suppress_others():
    boxes = boxes_at([0.0, 1.0, 2.0])                  # 0-1 and 1-2 overlap, 0-2 touch only
    scores = np.array([0.9, 0.8, 0.7])
    assert rotated_nms(boxes, scores, 0.1).tolist() == [0, 2]


def test_kept_indices_come_in_descending_score_order():
    boxes = boxes_at([0.0, 10.0, 20.0, 30.0])
    scores = np.array([0.2, 0.9, 0.5, 0.7])
    assert rotated_nms(boxes, scores, 0.5).tolist() == [1, 3, 2, 0]


def test_equal_scores_rank_by_index():
    boxes = boxes_at([0.0, 0.5, 20.0, 20.5])
    scores = np.full(4, 0.5, dtype=np.float32)
    assert rotated_nms(boxes, scores, 0.3).tolist() == [0, 2]
    assert rotated_nms(boxes[::-1], scores, 0.3).tolist() == [0, 2]


@pytest.mark.parametrize("max_output,expected", [(None, [3, 1, 4, 0, 2]), (3, [3, 1, 4]),
                                                 (0, [])])
def test_max_output_caps_the_kept_boxes(max_output, expected):
    boxes = boxes_at([0.0, 10.0, 20.0, 30.0, 40.0])
    scores = np.array([0.3, 0.8, 0.1, 0.9, 0.5])
    assert rotated_nms(boxes, scores, 0.1, max_output).tolist() == expected


def test_empty_input_gives_empty_int64_indices():
    for kept in (rotated_nms(np.zeros((0, 7)), np.zeros(0), 0.5),
                 multiclass_nms(np.zeros((0, 7)), np.zeros(0), np.zeros(0, np.int64), 0.5, 10)):
        assert kept.dtype == np.int64 and kept.shape == (0,)


@pytest.mark.parametrize("class_agnostic,expected", [(False, [0, 1]), (True, [0])])
def test_classes_suppress_each_other_only_when_agnostic(class_agnostic, expected):
    boxes = boxes_at([0.0, 0.2])
    kept = multiclass_nms(boxes, np.array([0.9, 0.8]), np.array([0, 1]), 0.1, 10,
                          class_agnostic=class_agnostic)
    assert kept.tolist() == expected


def test_multiclass_nms_caps_detections_over_all_classes():
    boxes = boxes_at([0.0, 10.0, 20.0, 30.0])
    kept = multiclass_nms(boxes, np.array([0.1, 0.9, 0.8, 0.7]), np.array([0, 1, 2, 0]), 0.1, 2)
    assert kept.tolist() == [1, 2]


def test_mismatched_shapes_are_rejected():
    with pytest.raises(ValueError, match="scores"):
        rotated_nms(boxes_at([0.0, 1.0]), np.zeros(3), 0.5)
    with pytest.raises(ValueError, match="labels"):
        multiclass_nms(boxes_at([0.0, 1.0]), np.zeros(2), np.zeros(3), 0.5, 10)
    with pytest.raises(ValueError, match="iou_threshold"):
        rotated_nms(boxes_at([0.0, 1.0]), np.zeros(2), 1.5)


@pytest.mark.parametrize("threshold", [0.01, 0.1, 0.3, 0.5, 0.7])
@pytest.mark.parametrize("objects,per_object", [(5, 40), (40, 12), (200, 2)])
def test_rotated_nms_equals_plain_greedy_nms(threshold, objects, per_object):
    rng = np.random.default_rng(objects * 1000 + int(threshold * 100))
    boxes = clustered_boxes(rng, objects, per_object)
    scores = rng.random(len(boxes)).astype(np.float32)
    np.testing.assert_array_equal(rotated_nms(boxes, scores, threshold),
                                  reference_nms(boxes, scores, threshold))
    labels = rng.integers(0, 3, len(boxes))
    np.testing.assert_array_equal(multiclass_nms(boxes, scores, labels, threshold, 10_000),
                                  reference_nms(boxes, scores, threshold, labels))


@pytest.mark.parametrize("batch_pairs", [0, 256])
@pytest.mark.parametrize("step,threshold", [(1.2, 0.5), (0.6, 0.5)])
def test_long_chains_of_decisions_match_plain_greedy_nms(monkeypatch, step, threshold,
                                                         batch_pairs):
    # A row of boxes, scores falling along it: each decision waits for the previous one, so
    # the vectorized rounds stop paying off and the sequential finish takes over.
    monkeypatch.setattr(nms, "_BATCH_PAIRS", batch_pairs)
    boxes = boxes_at(np.arange(60) * step)
    scores = np.linspace(1.0, 0.1, 60)
    kept = rotated_nms(boxes, scores, threshold)
    np.testing.assert_array_equal(kept, reference_nms(boxes, scores, threshold))
    assert len(kept) == (60 if step == 1.2 else 30)    # IoU 0.25 never / 0.54 every other


def test_rounds_and_batch_paths_give_the_same_result(monkeypatch):
    rng = np.random.default_rng(5)
    boxes = clustered_boxes(rng, 30, 20)
    scores = rng.random(len(boxes))
    results = []
    for batch_pairs, rounds in [(0, 50), (10**9, 0), (256, 8)]:
        monkeypatch.setattr(nms, "_BATCH_PAIRS", batch_pairs)
        monkeypatch.setattr(nms, "_MAX_ROUNDS", rounds)
        results.append(rotated_nms(boxes, scores, 0.2, max_output=25))
    assert len(results[0]) == 25
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])
