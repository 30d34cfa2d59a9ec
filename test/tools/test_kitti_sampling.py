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

"""
Tests of tao_pointpillars_py.tools.kitti_sampling against a loop-by-loop devkit procedure.

The reference below follows the KITTI devkit's evaluation as OpenPCDet's
``kitti_object_eval_python/eval.py`` publishes it, one detection and one ground-truth box at a
time: ``get_thresholds``, ``compute_statistics`` without and with false positives,
``eval_class``'s precision and ``get_mAP_R40`` / ``get_mAP``. It is slow and plain on purpose.
"""

import math

import numpy as np
import pytest

from tao_pointpillars_py.core.boxes import rotated_iou_3d, rotated_iou_bev
from tao_pointpillars_py.tools.evaluation import (DEFAULT_IOU_THRESHOLDS, DEFAULT_MIN_POINTS,
                                                  DIFFICULTIES, EvalFrame, evaluate, METRICS)
from tao_pointpillars_py.tools.kitti_sampling import (kitti_average_precision,
                                                      sample_thresholds)

NAMES = ("Vehicle", "Pedestrian", "Cyclist")
SIZES = {0: (4.0, 2.0, 1.5), 1: (0.8, 0.6, 1.7), 2: (1.8, 0.6, 1.7)}
RANGE = (0.0, -20.0, -3.0, 40.0, 20.0, 3.0)
IOU = {"bev": rotated_iou_bev, "3d": rotated_iou_3d}


def reference_thresholds(scores, num_gt, num_sample_pts=41):
    scores = sorted(scores, reverse=True)
    current_recall = 0.0
    thresholds = []
    for i, score in enumerate(scores):
        l_recall = (i + 1) / num_gt
        r_recall = (i + 2) / num_gt if i < len(scores) - 1 else l_recall
        if (r_recall - current_recall) < (current_recall - l_recall) and i < len(scores) - 1:
            continue
        thresholds.append(score)
        current_recall += 1 / (num_sample_pts - 1.0)
    return thresholds


def reference_statistics(overlaps, scores, ignored_gt, min_overlap, thresh, compute_fp):
    """One frame: (tp, fp, true positive scores); ignored_gt 0 counts, 1 is ignored."""
    assigned = [False] * len(scores)
    tp, fp, found = 0, 0, []
    for i in range(len(ignored_gt)):
        det_idx, valid_detection, max_overlap = -1, None, 0.0
        for j in range(len(scores)):
            if assigned[j] or (compute_fp and scores[j] < thresh):
                continue
            overlap = overlaps[j][i]
            if overlap <= min_overlap:
                continue
            if not compute_fp and (valid_detection is None or scores[j] > valid_detection):
                det_idx, valid_detection = j, scores[j]
            elif compute_fp and overlap > max_overlap:
                det_idx, valid_detection, max_overlap = j, 1.0, overlap
        if valid_detection is None:
            continue
        assigned[det_idx] = True
        if ignored_gt[i] == 0:
            tp += 1
            found.append(scores[det_idx])
    if compute_fp:
        fp = sum(1 for j in range(len(scores)) if not assigned[j] and scores[j] >= thresh)
    return tp, fp, found


def reference_ap(frames, class_index, metric, level):
    """(R40, R11) in percent of one class, metric and level over EvalFrames, loop by loop."""
    threshold = DEFAULT_IOU_THRESHOLDS[NAMES[class_index]]
    data, num_valid_gt = [], 0
    for frame in frames:
        gt, det, scores, ignored = [], [], [], []
        for box, label, points in zip(frame.gt_boxes, frame.gt_labels, frame.gt_num_points):
            if label != class_index:
                continue
            inside = RANGE[0] <= box[0] < RANGE[3] and RANGE[1] <= box[1] < RANGE[4]
            counts = inside and (points >= DEFAULT_MIN_POINTS[level] or points < 0)
            gt.append(box)
            ignored.append(0 if counts else 1)
            num_valid_gt += int(counts)
        for box, label, score in zip(frame.det_boxes, frame.det_labels, frame.det_scores):
            if label == class_index and RANGE[0] <= box[0] < RANGE[3] \
                    and RANGE[1] <= box[1] < RANGE[4]:
                det.append(box)
                scores.append(float(score))
        overlaps = IOU[metric](np.array(det).reshape(-1, 7), np.array(gt).reshape(-1, 7))
        data.append((overlaps.tolist(), scores, ignored))
    if num_valid_gt == 0:
        return math.nan, math.nan
    found = []
    for overlaps, scores, ignored in data:
        found += reference_statistics(overlaps, scores, ignored, threshold, 0.0, False)[2]
    thresholds = reference_thresholds(found, num_valid_gt)
    precision = [0.0] * 41
    for t, thresh in enumerate(thresholds):
        tp = fp = 0
        for overlaps, scores, ignored in data:
            frame_tp, frame_fp, _ = reference_statistics(overlaps, scores, ignored, threshold,
                                                         thresh, True)
            tp, fp = tp + frame_tp, fp + frame_fp
        precision[t] = tp / (tp + fp) if tp + fp else 0.0
    for t in range(len(thresholds)):
        precision[t] = max(precision[t:])
    r40 = sum(precision[i] for i in range(1, 41)) / 40 * 100
    r11 = sum(precision[i] for i in range(0, 41, 4)) / 11 * 100
    return r40, r11


def simulated_frames(seed, count):
    """Seeded scenes: objects, some touching, found with jitter, missed, doubled, invented."""
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(count):
        labels = rng.integers(0, 3, rng.integers(0, 9))
        gt = [[rng.uniform(-2, 44), rng.uniform(-22, 22), -1.0, *SIZES[int(c)],
               rng.uniform(-np.pi, np.pi)] for c in labels]
        for k in range(len(gt) // 3):                    # a neighbour overlapping a box
            gt.append([gt[k][0] + rng.uniform(0.3, 1.0), gt[k][1], *gt[k][2:]])
            labels = np.append(labels, labels[k])
        points = rng.choice([-1, 3, 10, 30, 80, 400], len(gt))
        det, det_labels = [], []
        for box, label in zip(gt, labels):
            for _ in range(rng.choice([0, 1, 1, 1, 2])):
                det.append(np.add(box, [*rng.normal(0, 0.15, 3), *rng.normal(0, 0.08, 3),
                                        rng.normal(0, 0.05)]))
                det_labels.append(label)
        for _ in range(rng.integers(0, 3)):
            c = int(rng.integers(0, 3))
            det.append([rng.uniform(0, 40), rng.uniform(-20, 20), -1.0, *SIZES[c], 0.0])
            det_labels.append(c)
        scores = np.round(rng.uniform(0.1, 1.0, len(det)), 2)   # rounded: ties happen
        frames.append(EvalFrame(np.array(gt).reshape(-1, 7), labels, points,
                                np.array(det).reshape(-1, 7), scores, np.array(det_labels)))
    return frames


def test_kitti_mode_matches_the_loop_by_loop_devkit_procedure():
    frames = simulated_frames(seed=17, count=60)
    result = evaluate(frames, NAMES, point_cloud_range=RANGE, sampling="kitti")
    exact = evaluate(frames, NAMES, point_cloud_range=RANGE)
    differs = 0
    for metric in METRICS:
        for c, name in enumerate(NAMES):
            for level in DIFFICULTIES:
                r40, r11 = reference_ap(frames, c, metric, level)
                assert result.ap[metric][name][level] == pytest.approx(r40, abs=1e-9)
                assert result.ap_r11[metric][name][level] == pytest.approx(r11, abs=1e-9)
                differs += abs(r40 - exact.ap[metric][name][level]) > 0.1
    assert result.sampling == "kitti" and exact.sampling == "exact"
    assert exact.ap_r11 is None
    assert differs >= 9                                   # the set tells the samplings apart


@pytest.mark.parametrize("num_gt", [1, 7, 39, 40, 41, 55, 80, 123, 1000])
@pytest.mark.parametrize("share", [0.2, 0.5, 0.77, 1.0])
def test_sampled_thresholds_are_the_devkits(num_gt, share):
    rng = np.random.default_rng(num_gt)
    scores = np.round(rng.uniform(0, 1, max(1, int(share * num_gt))), 3)
    expected = reference_thresholds(scores.tolist(), num_gt)
    assert sample_thresholds(scores, num_gt).tolist() == expected
    assert len(expected) <= 41


def test_perfect_detector_on_41_or_more_boxes_scores_100_and_on_40_scores_97_5():
    for num_gt, expected in ((40, 97.5), (41, 100.0), (80, 100.0)):
        parts = [(np.eye(num_gt), np.linspace(1.0, 0.5, num_gt), np.ones(num_gt, bool))]
        assert kitti_average_precision(parts, num_gt, 0.7)[0] == pytest.approx(expected)


def test_without_ground_truth_ap_is_nan_and_without_detections_0():
    assert all(math.isnan(v) for v in kitti_average_precision([], 0, 0.7))
    assert kitti_average_precision([], 5, 0.7) == (0.0, 0.0)


def test_frames_are_matched_in_chunks_alike(monkeypatch):
    frames = simulated_frames(seed=3, count=30)
    whole = evaluate(frames, NAMES, sampling="kitti")
    monkeypatch.setattr("tao_pointpillars_py.tools.kitti_sampling._FRAMES_PER_CHUNK", 4)
    chunked = evaluate(frames, NAMES, sampling="kitti")
    assert chunked.ap == whole.ap and chunked.ap_r11 == whole.ap_r11
