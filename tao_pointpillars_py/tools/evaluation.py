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
KITTI-style average precision (R40) of 3D detections, in bird's-eye view and in 3D.

Per class, metric (``"bev"``, ``"3d"``) and difficulty:

* Difficulty is set by the ground truth's visible lidar points (``num_points``): easy >= 50,
  moderate >= 20, hard >= 5. A ground-truth box with fewer points than the level asks for, or
  whose centre lies outside ``point_cloud_range``, is *ignored* at that level: missing it is no
  false negative, and a detection matched to it is no false positive (it is left out). A
  negative ``num_points`` means unknown: the box counts at every level.
* Detections whose centre lies outside ``point_cloud_range`` are discarded.
* Matching, per frame and class, visits detections by descending score. Each takes the unmatched
  ground truth with the highest IoU >= the class threshold, preferring boxes that count at this
  level over ignored ones; every ground-truth box is matched at most once, so a duplicate
  detection of a matched object is a false positive. Classes never interact.
* The precision/recall curve is the exact one over all frames' detections sorted by score
  (not KITTI's 41 sampled score thresholds); equal scores enter the curve together.
* AP = mean over recall positions 1/40 .. 40/40 of the interpolated precision, the highest
  precision at any recall >= that position (0 where the recall is never reached), in percent.
  A class without ground truth at a level has AP ``nan``.

:func:`evaluate_detections` scores detections keyed by timestamp against a labels file; they
come from a detections file (:func:`file_detections`) or from a model run on the labeled bag
(:func:`detector_detections`), their classes matched to the labels' by name (:func:`class_map`).
"""

from __future__ import annotations

from dataclasses import dataclass
import math
from pathlib import Path
import sys
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

import numpy as np
from tqdm import tqdm

from ..core.boxes import Extrinsic, rotated_iou_3d, rotated_iou_bev, transform_boxes
from ..core.detections import Detections
from ..core.pointcloud2 import thin_points
from ..data.bags import count_clouds, read_clouds
from ..data.labels import FrameLabels, LabelsFile, read_labels
from ..errors import ConfigError, LabelsFormatError
from ..inference.detector import Detector
from ..ros.parameters import DEFAULTS as NODE_DEFAULTS

METRICS: tuple[str, ...] = ("bev", "3d")
DIFFICULTIES: tuple[str, ...] = ("easy", "moderate", "hard")
#: Fewest visible lidar points of a ground-truth box at each difficulty level.
DEFAULT_MIN_POINTS: Mapping[str, int] = {"easy": 50, "moderate": 20, "hard": 5}
DEFAULT_IOU_THRESHOLDS: Mapping[str, float] = {"Vehicle": 0.7, "Pedestrian": 0.5,
                                               "Cyclist": 0.5}
NUM_RECALL_POSITIONS = 40
#: Score threshold of a model evaluated on a bag when none is given: low, so the curve reaches
#: far.
MODEL_SCORE_THRESHOLD = 0.1

_IOU_FUNCTIONS: Mapping[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "bev": rotated_iou_bev, "3d": rotated_iou_3d}
_TRUE_POSITIVE, _FALSE_POSITIVE, _IGNORED = 1, 0, -1


def _boxes(values: np.ndarray, name: str) -> np.ndarray:
    boxes = np.asarray(values, dtype=np.float64)
    if boxes.size == 0:
        return boxes.reshape(0, 7)
    if boxes.ndim != 2 or boxes.shape[1] != 7:
        raise ValueError(f"{name} must have shape (N, 7), got {boxes.shape}")
    return boxes


def _vector(values: np.ndarray, length: int, dtype: type, name: str) -> np.ndarray:
    vector: np.ndarray = np.asarray(values, dtype=dtype).reshape(-1)
    if vector.shape != (length,):
        raise ValueError(f"{name} must have shape ({length},), got {np.shape(values)}")
    return vector


@dataclass(frozen=True)
class EvalFrame:
    """
    Ground truth and detections of one frame (boxes (N, 7) x, y, z, dx, dy, dz, yaw).

    Attributes
    ----------
    gt_boxes
        (G, 7) ground-truth boxes, centre and size in metres, yaw in radians.
    gt_labels
        (G,) int class indices.
    gt_num_points
        (G,) int lidar points inside each ground-truth box (negative: unknown).
    det_boxes
        (D, 7) detected boxes.
    det_scores
        (D,) float confidences.
    det_labels
        (D,) int class indices.

    """

    gt_boxes: np.ndarray
    gt_labels: np.ndarray
    gt_num_points: np.ndarray
    det_boxes: np.ndarray
    det_scores: np.ndarray
    det_labels: np.ndarray

    def __post_init__(self) -> None:
        gt, det = _boxes(self.gt_boxes, "gt_boxes"), _boxes(self.det_boxes, "det_boxes")
        values = {
            "gt_boxes": gt,
            "gt_labels": _vector(self.gt_labels, len(gt), np.int64, "gt_labels"),
            "gt_num_points": _vector(self.gt_num_points, len(gt), np.int64, "gt_num_points"),
            "det_boxes": det,
            "det_scores": _vector(self.det_scores, len(det), np.float64, "det_scores"),
            "det_labels": _vector(self.det_labels, len(det), np.int64, "det_labels"),
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)


@dataclass(frozen=True)
class EvaluationResult:
    """
    AP in percent per ``ap[metric][class][difficulty]`` (nan without ground truth).

    ``num_gt[class][difficulty]`` counts the ground-truth boxes that count at that level,
    ``num_detections[class]`` the detections inside the range.
    """

    ap: Mapping[str, Mapping[str, Mapping[str, float]]]
    num_gt: Mapping[str, Mapping[str, int]]
    num_detections: Mapping[str, int]
    num_frames: int
    iou_thresholds: Mapping[str, float]

    def to_table(self) -> str:
        """Fixed-width table like KITTI's output: one row per class, BEV and 3D AP (R40)."""
        levels = "".join(f"{d:>10}" for d in DIFFICULTIES)
        lines = [
            f"AP (R40, %) over {self.num_frames} frames",
            f"{'':<12}{'':>6}{'BEV':^30}{'3D':^30}{'ground truth':^30}",
            f"{'class':<12}{'IoU':>6}{levels}{levels}{levels}",
        ]
        for name, threshold in self.iou_thresholds.items():
            cells = [_format_ap(self.ap[m][name][d]) for m in METRICS for d in DIFFICULTIES]
            counts = [f"{self.num_gt[name][d]:>10d}" for d in DIFFICULTIES]
            lines.append(f"{name:<12}{threshold:>6.2f}{''.join(cells)}{''.join(counts)}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict; AP without ground truth (nan) becomes ``None``."""
        return {
            "metric": f"AP_R{NUM_RECALL_POSITIONS}",
            "num_frames": self.num_frames,
            "iou_thresholds": dict(self.iou_thresholds),
            "ap": {m: {c: {d: (None if math.isnan(v) else round(v, 4))
                           for d, v in levels.items()}
                       for c, levels in classes.items()}
                   for m, classes in self.ap.items()},
            "num_gt": {c: dict(levels) for c, levels in self.num_gt.items()},
            "num_detections": dict(self.num_detections),
        }


def _format_ap(value: float) -> str:
    return f"{'-':>10}" if math.isnan(value) else f"{value:>10.2f}"


def evaluate(frames: Iterable[EvalFrame], class_names: Sequence[str],
             iou_thresholds: Optional[Mapping[str, float]] = None,
             point_cloud_range: Optional[Sequence[float]] = None,
             min_points: Optional[Mapping[str, int]] = None) -> EvaluationResult:
    """
    KITTI-style AP (R40) of ``frames`` for every class in ``class_names`` (index order).

    Parameters
    ----------
    frames
        ground truth and detections, labels indexing ``class_names``.
    class_names
        class index -> name.
    iou_thresholds
        class name -> IoU threshold, over :data:`DEFAULT_IOU_THRESHOLDS`.
    point_cloud_range
        (x_min, y_min, z_min, x_max, y_max, z_max) in metres; boxes count as
        inside when ``min <= centre < max`` in x and y. None: no range filter.
    min_points
        difficulty -> fewest points, over :data:`DEFAULT_MIN_POINTS`.

    """
    class_names = tuple(class_names)
    thresholds = _thresholds(class_names, iou_thresholds)
    levels = {**DEFAULT_MIN_POINTS, **(min_points or {})}
    if set(levels) != set(DIFFICULTIES):
        raise ConfigError(f"min_points must name the difficulties {DIFFICULTIES}, "
                          f"got {sorted(levels)}")
    limits = _range(point_cloud_range)
    outcomes: dict[tuple[str, int, str], list[tuple[np.ndarray, np.ndarray]]] = {}
    num_gt = np.zeros((len(class_names), len(DIFFICULTIES)), dtype=np.int64)
    num_det = np.zeros(len(class_names), dtype=np.int64)
    num_frames = 0
    for frame in frames:
        num_frames += 1
        _check_labels(frame, len(class_names))
        gt_inside = _inside(frame.gt_boxes, limits)
        det_inside = _inside(frame.det_boxes, limits)
        for c, name in enumerate(class_names):
            is_gt = frame.gt_labels == c
            gt = frame.gt_boxes[is_gt]
            points = frame.gt_num_points[is_gt]
            counted = [gt_inside[is_gt] & ((points >= levels[d]) | (points < 0))
                       for d in DIFFICULTIES]
            num_gt[c] += [int(mask.sum()) for mask in counted]
            is_det = (frame.det_labels == c) & det_inside
            scores = frame.det_scores[is_det]
            order = np.argsort(-scores, kind="stable")
            dets, scores = frame.det_boxes[is_det][order], scores[order]
            num_det[c] += len(dets)
            if len(dets) == 0:
                continue
            for metric in METRICS:
                iou = _IOU_FUNCTIONS[metric](dets, gt)
                for d, mask in zip(DIFFICULTIES, counted):
                    result = _match(iou, mask, thresholds[name])
                    outcomes.setdefault((metric, c, d), []).append((scores, result))
    ap = {metric: {name: {d: _average_precision(outcomes.get((metric, c, d), []),
                                                int(num_gt[c, k]))
                          for k, d in enumerate(DIFFICULTIES)}
                   for c, name in enumerate(class_names)}
          for metric in METRICS}
    return EvaluationResult(
        ap=ap,
        num_gt={name: {d: int(num_gt[c, k]) for k, d in enumerate(DIFFICULTIES)}
                for c, name in enumerate(class_names)},
        num_detections={name: int(num_det[c]) for c, name in enumerate(class_names)},
        num_frames=num_frames,
        iou_thresholds=thresholds,
    )


def _thresholds(class_names: tuple[str, ...],
                overrides: Optional[Mapping[str, float]]) -> dict[str, float]:
    given = {**DEFAULT_IOU_THRESHOLDS, **(overrides or {})}
    missing = [name for name in class_names if name not in given]
    if missing:
        raise ConfigError(f"no IoU threshold for classes {missing}; pass iou_thresholds "
                          f"(e.g. {{{missing[0]!r}: 0.5}})")
    result = {name: float(given[name]) for name in class_names}
    bad = {name: t for name, t in result.items() if not 0.0 < t <= 1.0}
    if bad:
        raise ConfigError(f"IoU thresholds must be in (0, 1], got {bad}")
    return result


def _range(point_cloud_range: Optional[Sequence[float]]) -> Optional[np.ndarray]:
    if point_cloud_range is None:
        return None
    limits = np.asarray(point_cloud_range, dtype=np.float64).reshape(-1)
    if limits.shape != (6,) or not np.all(limits[3:] > limits[:3]):
        raise ConfigError("point_cloud_range must be (x_min, y_min, z_min, x_max, y_max, z_max) "
                          f"with max > min, got {point_cloud_range}")
    return limits


def _inside(boxes: np.ndarray, limits: Optional[np.ndarray]) -> np.ndarray:
    """(N,) bool: box centre inside the range in x and y (min inclusive, max exclusive)."""
    if limits is None:
        return np.ones(len(boxes), dtype=bool)
    xy = boxes[:, :2]
    return np.all((xy >= limits[:2]) & (xy < limits[3:5]), axis=1)


def _check_labels(frame: EvalFrame, num_classes: int) -> None:
    for name in ("gt_labels", "det_labels"):
        labels = getattr(frame, name)
        if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
            raise ValueError(f"{name} must index the {num_classes} class names, got values "
                             f"{labels.min()}..{labels.max()}")


def _match(iou: np.ndarray, counted: np.ndarray, threshold: float) -> np.ndarray:
    """Outcome (D,) int8 of score-sorted detections against ground truth, iou (D, G)."""
    outcome = np.full(iou.shape[0], _FALSE_POSITIVE, dtype=np.int8)
    hits = iou >= threshold
    free = np.ones(iou.shape[1], dtype=bool)
    for d in np.flatnonzero(hits.any(axis=1)).tolist():
        candidates = hits[d] & free
        if not candidates.any():
            continue
        preferred = candidates & counted
        pool = preferred if preferred.any() else candidates
        g = int(np.argmax(np.where(pool, iou[d], -1.0)))
        free[g] = False
        outcome[d] = _TRUE_POSITIVE if counted[g] else _IGNORED
    return outcome


def _average_precision(parts: list[tuple[np.ndarray, np.ndarray]], num_gt: int) -> float:
    """R40 AP in percent from per-frame (scores, outcomes); nan when ``num_gt`` is 0."""
    if num_gt == 0:
        return float("nan")
    if not parts:
        return 0.0
    scores = np.concatenate([p[0] for p in parts])
    outcome = np.concatenate([p[1] for p in parts])
    scored = outcome != _IGNORED
    scores, positive = scores[scored], outcome[scored] == _TRUE_POSITIVE
    if len(scores) == 0:
        return 0.0
    order = np.argsort(-scores, kind="stable")
    scores, positive = scores[order], positive[order]
    true_pos = np.cumsum(positive)
    false_pos = np.cumsum(~positive)
    # Detections with equal scores enter together: keep the last point of each run.
    run_end = np.append(scores[1:] != scores[:-1], True)
    true_pos, false_pos = true_pos[run_end], false_pos[run_end]
    precision = true_pos / (true_pos + false_pos)
    recall = true_pos / num_gt
    best_after = np.maximum.accumulate(precision[::-1])[::-1]
    positions = np.arange(1, NUM_RECALL_POSITIONS + 1) / NUM_RECALL_POSITIONS
    first = np.searchsorted(recall, positions, side="left")
    reached = first < len(recall)
    interpolated = np.where(reached, best_after[np.minimum(first, len(recall) - 1)], 0.0)
    return float(100.0 * interpolated.mean())


def class_map(source: Sequence[str], target: Sequence[str], what: str) -> np.ndarray:
    """Map (len(source),) source class indices to target ones, -1 where unknown."""
    index = {name: i for i, name in enumerate(target)}
    unknown = [name for name in source if name not in index]
    if unknown:
        print(f"tao-pointpillars eval: note: {what} classes {unknown} are not in the labels "
              f"file {list(target)}; their detections are left out", file=sys.stderr)
    return np.array([index.get(name, -1) for name in source], dtype=np.int64)


def labelled_detections(found: Detections, mapping: np.ndarray) -> FrameLabels:
    """Give a model's detections as labels-file classes (``mapping`` from :func:`class_map`)."""
    mapped = mapping[found.labels] if len(found) else found.labels
    keep = mapped >= 0
    return FrameLabels(found.boxes[keep], mapped[keep],
                       None, found.scores[keep])  # type: ignore[arg-type]


def file_detections(path: Path, labels: LabelsFile,
                    score_threshold: Optional[float]) -> dict[int, FrameLabels]:
    """Read a detections file as labels-file classes, by the labeled frames' timestamps."""
    dets = read_labels(path)
    if any(frame.scores is None and len(frame) for frame in dets.frames.values()):
        raise LabelsFormatError(f"{path} has objects without a \"score\": pass detections, "
                                "not ground truth, to --detections")
    mapping = class_map(dets.class_names, labels.class_names, "detection")
    result = {}
    for timestamp, frame in dets.frames.items():
        if timestamp not in labels.frames:
            continue
        scores = frame.scores if frame.scores is not None else np.zeros(0, np.float32)
        mapped = mapping[frame.labels] if len(frame) else frame.labels
        keep = mapped >= 0
        if score_threshold is not None:
            keep &= scores >= score_threshold
        result[timestamp] = FrameLabels(frame.boxes[keep], mapped[keep],
                                        None, scores[keep])  # type: ignore[arg-type]
    unmatched = len(dets.frames) - len(result)
    if unmatched:
        print(f"tao-pointpillars eval: note: {unmatched} detection frames have no labeled "
              "frame with the same timestamp_ns and are left out", file=sys.stderr)
    return result


def detector_detections(detector: Detector, bag: Path, topic: str, labels: LabelsFile,
                        desc: str = "eval",
                        max_points: int = NODE_DEFAULTS["max_points"]) -> dict[int, FrameLabels]:
    """
    Run ``detector`` on the labeled clouds of ``bag``; detections by timestamp.

    Each cloud is thinned to ``max_points`` first, as the node does (default: the node's).
    """
    mapping = class_map(detector.config.class_names, labels.class_names, "model")
    result: dict[int, FrameLabels] = {}
    clouds = read_clouds(bag, [topic])
    for cloud in tqdm(clouds, total=count_clouds(bag, [topic]), desc=desc, unit="cloud"):
        if cloud.timestamp_ns not in labels.frames:
            continue
        found = detector.detect(thin_points(cloud.points, max_points))
        result[cloud.timestamp_ns] = labelled_detections(found, mapping)
    missing = len(labels.frames) - len(result)
    if missing:
        print(f"tao-pointpillars eval: note: {missing} labeled frames have no cloud on {topic} "
              "in the bag; they count as frames without detections", file=sys.stderr)
    return result


def evaluate_detections(labels: LabelsFile, detections: Mapping[int, FrameLabels],
                        point_cloud_range: Optional[Sequence[float]] = None,
                        thresholds: Optional[Mapping[str, float]] = None,
                        cloud_to_model: Optional[Extrinsic] = None) -> EvaluationResult:
    """
    Give the AP of ``detections`` (by timestamp) against ``labels``.

    Both are in the clouds' frame; ``cloud_to_model`` (the node parameter, None: the same
    frame) moves them into the model's, where ``point_cloud_range`` lies, before matching.
    """
    frames = [_eval_frame(gt, detections.get(timestamp), cloud_to_model)
              for timestamp, gt in labels.frames.items()]
    return evaluate(frames, labels.class_names, thresholds or {}, point_cloud_range)


def _eval_frame(gt: FrameLabels, det: Optional[FrameLabels],
                cloud_to_model: Optional[Extrinsic] = None) -> EvalFrame:
    if det is None:
        det = FrameLabels.empty(with_scores=True)
    scores = det.scores if det.scores is not None else np.zeros(len(det), dtype=np.float32)
    gt_boxes, det_boxes = gt.boxes, det.boxes
    if cloud_to_model is not None:
        gt_boxes = transform_boxes(_boxes(gt_boxes, "ground truth"), cloud_to_model)
        det_boxes = transform_boxes(_boxes(det_boxes, "detections"), cloud_to_model)
    return EvalFrame(gt_boxes, gt.labels, gt.num_points, det_boxes, scores, det.labels)
