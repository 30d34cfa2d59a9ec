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

"""Tests of tao_pointpillars_py.tools.evaluation: KITTI-style AP (R40), BEV and 3D."""

import json
import math

import numpy as np
import pytest

from tao_pointpillars_py.core.boxes import rotated_iou_bev
from tao_pointpillars_py.errors import ConfigError
from tao_pointpillars_py.tools.evaluation import (DEFAULT_IOU_THRESHOLDS, DIFFICULTIES,
                                                  EvalFrame, evaluate, METRICS)

NAMES = ("Vehicle", "Pedestrian", "Cyclist")
CAR = (4.0, 2.0, 1.5)
PEDESTRIAN = (0.8, 0.6, 1.7)


def box(x, y=0.0, size=CAR, yaw=0.0):
    return [x, y, -1.0, *size, yaw]


def frame(gt=(), gt_labels=(), points=None, det=(), scores=(), det_labels=None):
    gt_labels = list(gt_labels) or [0] * len(gt)
    return EvalFrame(
        gt_boxes=np.array(gt, dtype=np.float32).reshape(-1, 7),
        gt_labels=np.array(gt_labels, dtype=np.int64),
        gt_num_points=np.array([100] * len(gt) if points is None else points),
        det_boxes=np.array(det, dtype=np.float32).reshape(-1, 7),
        det_scores=np.array(scores, dtype=np.float32),
        det_labels=np.array([0] * len(det) if det_labels is None else det_labels))


def all_ap(result, name="Vehicle"):
    return {(m, d): result.ap[m][name][d] for m in METRICS for d in DIFFICULTIES}


def test_perfect_predictions_score_100_everywhere():
    frames = [frame(gt=[box(10.0), box(20.0, 5.0, yaw=0.4)], det=[box(10.0), box(20.0, 5.0,
                    yaw=0.4)], scores=[0.9, 0.8]) for _ in range(3)]
    result = evaluate(frames, NAMES)
    assert all(v == pytest.approx(100.0) for v in all_ap(result).values())
    assert result.num_gt["Vehicle"] == {"easy": 6, "moderate": 6, "hard": 6}
    assert result.num_frames == 3 and result.num_detections["Vehicle"] == 6


def test_no_predictions_score_0():
    result = evaluate([frame(gt=[box(10.0)])], NAMES)
    assert all(v == 0.0 for v in all_ap(result).values())


def test_class_without_ground_truth_has_nan_ap():
    result = evaluate([frame(gt=[box(10.0)], det=[box(10.0)], scores=[0.9])], NAMES)
    assert math.isnan(result.ap["bev"]["Pedestrian"]["moderate"])
    assert result.num_gt["Pedestrian"]["moderate"] == 0


def test_duplicate_detection_is_a_false_positive():
    # Frame 1: GT a found at 0.9 and again at 0.8 (duplicate); frame 2: GT b found at 0.7.
    # Curve: (R 0.5, P 1), (R 0.5, P 0.5), (R 1, P 2/3) -> 20 positions at 1, 20 at 2/3.
    frames = [frame(gt=[box(10.0)], det=[box(10.0), box(10.1)], scores=[0.9, 0.8]),
              frame(gt=[box(10.0)], det=[box(10.0)], scores=[0.7])]
    result = evaluate(frames, NAMES)
    expected = 100.0 * (20 * 1.0 + 20 * 2.0 / 3.0) / 40
    assert all(v == pytest.approx(expected) for v in all_ap(result).values())


def test_duplicates_scoring_below_every_true_positive_cost_nothing():
    frames = [frame(gt=[box(10.0)], det=[box(10.0), box(10.1)], scores=[0.9, 0.1]),
              frame(gt=[box(10.0)], det=[box(10.0)], scores=[0.7])]
    assert evaluate(frames, NAMES).ap["3d"]["Vehicle"]["hard"] == pytest.approx(100.0)


@pytest.mark.parametrize("label,size,threshold", [(0, CAR, 0.7), (1, PEDESTRIAN, 0.5)])
@pytest.mark.parametrize("margin,expected", [(0.01, 100.0), (-0.01, 0.0)])
def test_iou_just_above_or_below_the_class_threshold(label, size, threshold, margin, expected):
    # Shifting along x by s leaves IoU (dx - s) / (dx + s) in BEV and in 3D.
    iou = threshold + margin
    shift = size[0] * (1.0 - iou) / (1.0 + iou)
    frames = [frame(gt=[box(10.0, size=size)], gt_labels=[label],
                    det=[box(10.0 + shift, size=size)], scores=[0.9], det_labels=[label])]
    result = evaluate(frames, NAMES)
    assert all(v == pytest.approx(expected) for v in all_ap(result, NAMES[label]).values())


def test_iou_thresholds_can_be_overridden():
    frames = [frame(gt=[box(10.0)], det=[box(10.8)], scores=[0.9])]      # IoU 3.2 / 4.8
    assert evaluate(frames, NAMES).ap["bev"]["Vehicle"]["easy"] == 0.0
    relaxed = evaluate(frames, NAMES, iou_thresholds={"Vehicle": 0.6})
    assert relaxed.ap["bev"]["Vehicle"]["easy"] == pytest.approx(100.0)
    assert relaxed.iou_thresholds == {"Vehicle": 0.6, "Pedestrian": 0.5, "Cyclist": 0.5}


@pytest.mark.parametrize("detect_it", [False, True])
def test_ground_truth_with_few_points_neither_helps_nor_hurts(detect_it):
    dets, scores = [box(10.0)], [0.5]
    if detect_it:
        dets, scores = dets + [box(30.0)], scores + [0.9]      # outranks the real match
    frames = [frame(gt=[box(10.0), box(30.0)], points=[100, 3], det=dets, scores=scores)]
    result = evaluate(frames, NAMES)
    assert all(v == pytest.approx(100.0) for v in all_ap(result).values())
    assert result.num_gt["Vehicle"] == {"easy": 1, "moderate": 1, "hard": 1}


def test_difficulty_levels_are_cumulative_by_point_count():
    # 100 points: every level; 30: moderate and hard; 10: hard only. Only the first is found.
    frames = [frame(gt=[box(10.0), box(20.0), box(30.0)], points=[100, 30, 10],
                    det=[box(10.0)], scores=[0.9])]
    result = evaluate(frames, NAMES)
    assert result.num_gt["Vehicle"] == {"easy": 1, "moderate": 2, "hard": 3}
    ap = result.ap["bev"]["Vehicle"]
    assert ap["easy"] == pytest.approx(100.0)
    assert ap["moderate"] == pytest.approx(50.0)                  # recall 1/2: 20 of 40
    assert ap["hard"] == pytest.approx(100.0 * 13 / 40)           # recall 1/3: 13 of 40


def test_unknown_point_count_counts_at_every_level():
    result = evaluate([frame(gt=[box(10.0)], points=[-1])], NAMES)
    assert result.num_gt["Vehicle"] == {"easy": 1, "moderate": 1, "hard": 1}


def test_detections_prefer_ground_truth_that_counts_over_ignored_one():
    # One detection overlaps a counted and an ignored GT (IoU 0.96 / 1.0): it counts as TP.
    frames = [frame(gt=[box(10.0), box(10.08)], points=[3, 100], det=[box(10.0)],
                    scores=[0.9])]
    assert evaluate(frames, NAMES).ap["bev"]["Vehicle"]["moderate"] == pytest.approx(100.0)


def test_classes_do_not_interact():
    frames = [frame(gt=[box(10.0), box(30.0, size=PEDESTRIAN)], gt_labels=[0, 1],
                    det=[box(10.0), box(10.0, size=PEDESTRIAN)], scores=[0.9, 0.95],
                    det_labels=[0, 1])]
    result = evaluate(frames, NAMES)
    assert all(v == pytest.approx(100.0) for v in all_ap(result, "Vehicle").values())
    assert all(v == 0.0 for v in all_ap(result, "Pedestrian").values())
    # A Vehicle-labelled box on the pedestrian does not find it either.
    wrong_class = [frame(gt=[box(30.0, size=PEDESTRIAN)], gt_labels=[1],
                         det=[box(30.0, size=PEDESTRIAN)], scores=[0.9], det_labels=[0])]
    assert evaluate(wrong_class, NAMES).ap["bev"]["Pedestrian"]["hard"] == 0.0


def test_point_cloud_range_ignores_ground_truth_and_drops_detections_outside():
    frames = [frame(gt=[box(10.0), box(60.0)], det=[box(10.0), box(-5.0)], scores=[0.5, 0.9])]
    unfiltered = evaluate(frames, NAMES)
    assert unfiltered.ap["bev"]["Vehicle"]["easy"] == pytest.approx(100.0 * 20 / 40 * 0.5)
    ranged = evaluate(frames, NAMES, point_cloud_range=(0.0, -20.0, -3.0, 40.0, 20.0, 3.0))
    assert ranged.ap["bev"]["Vehicle"]["easy"] == pytest.approx(100.0)
    assert ranged.num_gt["Vehicle"]["easy"] == 1
    assert ranged.num_detections["Vehicle"] == 1


def test_equal_scores_enter_the_curve_together():
    # A TP and an FP share score 0.9, in either order: the curve has one point (R 1, P 0.5).
    for dets in ([box(10.0), box(30.0)], [box(30.0), box(10.0)]):
        result = evaluate([frame(gt=[box(10.0)], det=dets, scores=[0.9, 0.9])], NAMES)
        assert result.ap["bev"]["Vehicle"]["easy"] == pytest.approx(50.0)


def test_bev_and_3d_differ_when_heights_disagree():
    lifted = box(10.0)
    lifted[2] += 0.5                                  # 3D IoU 1.0 / 2.0 = 0.5 < 0.7
    result = evaluate([frame(gt=[box(10.0)], det=[lifted], scores=[0.9])], NAMES)
    assert result.ap["bev"]["Vehicle"]["easy"] == pytest.approx(100.0)
    assert result.ap["3d"]["Vehicle"]["easy"] == 0.0


def test_frames_may_be_a_generator_and_results_serialise():
    result = evaluate((frame(gt=[box(10.0)], det=[box(10.0)], scores=[0.9]) for _ in range(2)),
                      NAMES)
    assert result.num_frames == 2
    data = json.loads(json.dumps(result.to_json()))
    assert data["ap"]["bev"]["Vehicle"]["moderate"] == 100.0
    assert data["ap"]["3d"]["Cyclist"]["easy"] is None
    assert data["num_gt"]["Vehicle"]["hard"] == 2 and data["metric"] == "AP_R40"
    table = result.to_table().splitlines()
    vehicle = next(line for line in table if line.startswith("Vehicle"))
    assert vehicle.split() == ["Vehicle", "0.70"] + ["100.00"] * 6 + ["2"] * 3
    assert len({len(line) for line in table[1:]}) == 1            # fixed width
    assert next(line for line in table if line.startswith("Cyclist")).split()[2] == "-"


def test_class_without_a_threshold_needs_one():
    with pytest.raises(ConfigError, match="Truck"):
        evaluate([], ("Truck",))
    assert evaluate([], ("Truck",), {"Truck": 0.6}).num_frames == 0


@pytest.mark.parametrize("bad", [{"gt_labels": np.array([0, 0])},
                                 {"det_scores": np.zeros(3)}])
def test_eval_frame_rejects_mismatched_arrays(bad):
    fields = {"gt_boxes": np.zeros((1, 7)), "gt_labels": np.zeros(1),
              "gt_num_points": np.ones(1), "det_boxes": np.zeros((2, 7)),
              "det_scores": np.zeros(2), "det_labels": np.zeros(2)}
    fields.update(bad)
    with pytest.raises(ValueError):
        EvalFrame(**fields)


def test_labels_outside_the_class_list_are_rejected():
    with pytest.raises(ValueError, match="gt_labels"):
        evaluate([frame(gt=[box(10.0)], gt_labels=[3])], NAMES)


# --- sampling="kitti" (the KITTI devkit's) against "exact", on hand-built cases ---

def spread(count, size=CAR, per_frame=10, dx=0.0, frame_count=None):
    """``count`` boxes of ``size``, ``per_frame`` to a frame on a 8 m x 6 m grid, shifted dx."""
    positions = [(4.0 + 8.0 * (i % 5), -12.0 + 6.0 * (i // 5)) for i in range(per_frame)]
    frames = [[] for _ in range(frame_count or math.ceil(count / per_frame))]
    for i in range(count):
        x, y = positions[i % per_frame]
        frames[i // per_frame].append(box(x + dx, y, size=size))
    return frames


def found_frames(gt_frames, det_frames, label=0):
    return [frame(gt=gt, gt_labels=[label] * len(gt), det=det,
                  scores=np.linspace(0.9, 0.5, len(det)), det_labels=[label] * len(det))
            for gt, det in zip(gt_frames, det_frames)]


def both(frames, name="Vehicle"):
    exact, kitti = evaluate(frames, NAMES), evaluate(frames, NAMES, sampling="kitti")
    return exact.ap["bev"][name]["moderate"], kitti.ap["bev"][name]["moderate"]


def test_kitti_credits_the_first_unreached_recall_position():
    # 80 boxes, 41 found without a false positive: recall 41/80 reaches 20 positions of 40.
    # kitti also appends the last true positive at position 21 (recall 0.5125 < 21/40).
    frames = found_frames(spread(80), spread(41, frame_count=8))
    exact, kitti = both(frames)
    assert exact == pytest.approx(100.0 * 20 / 40)
    assert kitti == pytest.approx(100.0 * 21 / 40)


@pytest.mark.parametrize("count", [1, 10, 39, 40])
def test_kitti_caps_a_perfect_detector_on_40_or_fewer_boxes_at_n_minus_1_of_40(count):
    frames = found_frames(spread(count), spread(count))
    exact, kitti = both(frames)
    assert exact == pytest.approx(100.0)
    assert kitti == pytest.approx(100.0 * (count - 1) / 40)
    r11 = evaluate(frames, NAMES, sampling="kitti").ap_r11["3d"]["Vehicle"]["hard"]
    assert r11 == pytest.approx(100.0 * len(range(0, count, 4)) / 11)


def test_perfect_detector_on_80_boxes_scores_100_either_way():
    assert both(found_frames(spread(80), spread(80))) == (pytest.approx(100.0),
                                                          pytest.approx(100.0))


def test_iou_exactly_at_the_threshold_matches_in_exact_but_not_in_kitti():
    # A 1 m x 0.5 m pedestrian inside a 2 m long box of the same width: IoU exactly 0.5.
    gt_size, at_threshold, above = (1.0, 0.5, 2.0), (2.0, 0.5, 2.0), (1.75, 0.5, 2.0)
    iou = rotated_iou_bev(np.array([box(0.0, size=at_threshold)]),
                          np.array([box(0.0, size=gt_size)]))
    assert iou[0, 0] == 0.5 == DEFAULT_IOU_THRESHOLDS["Pedestrian"]
    gt = spread(80, size=gt_size)
    tied = found_frames(gt, spread(80, size=at_threshold), label=1)
    assert both(tied, "Pedestrian") == (pytest.approx(100.0), 0.0)
    clear = found_frames(gt, spread(80, size=above), label=1)
    assert both(clear, "Pedestrian") == (pytest.approx(100.0), pytest.approx(100.0))
    # 79 clear matches (0.9 .. 0.5) and the tied one. Scoring 0.95, it is a false positive at
    # every sampled threshold: precision 79/80 at the last, so everywhere. Scoring 0.3, it is
    # no true positive, so no threshold reaches down to it: 100.
    dets = spread(80, size=above)
    dets[7][9] = box(dets[7][9][0], dets[7][9][1], size=at_threshold)
    for tied_score, expected in ((0.95, 100.0 * 79 / 80), (0.3, 100.0)):
        scores = [*np.linspace(0.9, 0.5, 79), tied_score]
        mixed = [frame(gt=g, gt_labels=[1] * 10, det=d, scores=scores[10 * i:10 * i + 10],
                       det_labels=[1] * 10) for i, (g, d) in enumerate(zip(gt, dets))]
        assert both(mixed, "Pedestrian") == (pytest.approx(100.0), pytest.approx(expected))


@pytest.mark.parametrize("b_first,expected_kitti", [(False, 50.0), (True, 100.0)])
def test_overlapping_boxes_of_one_class_are_matched_box_by_box_in_kitti(b_first,
                                                                        expected_kitti):
    # Boxes A (x 0) and B (x 0.655); detection X (0.9, x 0.444): IoU 0.80 with A, 0.90 with
    # B; Y (0.8, x -0.5): 0.78 with A, 0.55 with B. exact: X takes B (best IoU), Y takes A.
    # kitti, A first: A takes X (highest score, then highest IoU), B finds nothing, Y never
    # becomes a true positive, recall 1/2. B first: B takes X, A takes Y.
    offsets = [0.655, 0.0] if b_first else [0.0, 0.655]
    frames = []
    for group in spread(80, per_frame=10)[::2]:
        gt = [box(g[0] + dx, g[1]) for g in group for dx in offsets]
        det = [box(g[0] + dx, g[1]) for g in group for dx in (0.444, -0.5)]
        frames.append(frame(gt=gt, det=det, scores=[0.9, 0.8] * len(group)))
    assert sum(len(f.gt_labels) for f in frames) == 80
    exact, kitti = both(frames)
    assert exact == pytest.approx(100.0)
    assert kitti == pytest.approx(expected_kitti)


def test_sampling_is_recorded_in_the_table_and_json_and_checked():
    frames = found_frames(spread(10), spread(10))
    kitti = evaluate(frames, NAMES, sampling="kitti")
    data = json.loads(json.dumps(kitti.to_json()))
    assert data["sampling"] == "kitti" and data["ap_r11"]["bev"]["Vehicle"]["easy"] > 0
    assert evaluate(frames, NAMES).to_json()["sampling"] == "exact"
    assert "ap_r11" not in evaluate(frames, NAMES).to_json()
    table = kitti.to_table()
    assert "R40, %, kitti sampling" in table and "R11, %, kitti sampling" in table
    with pytest.raises(ConfigError, match="sampling"):
        evaluate(frames, NAMES, sampling="kitty")
