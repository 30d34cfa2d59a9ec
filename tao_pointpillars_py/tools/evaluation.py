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

That is ``sampling="exact"``, the definition. ``sampling="kitti"`` gives what the KITTI devkit and
OpenPCDet print for the same boxes instead (:mod:`.kitti_sampling`: 41 sampled score
thresholds, IoU strictly above the threshold, ground truth matched box by box in annotation
order), AP R40 and R11.

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

from .kitti_sampling import kitti_average_precision
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
#: ``exact``: AP R40 by its definition; ``kitti``: the KITTI devkit's sampling (OpenPCDet's).
SAMPLINGS: tuple[str, ...] = ("exact", "kitti")
#: Why the two samplings give different AP, in one sentence (the model card and report say it).
SAMPLING_NOTE = (
    "`exact` averages, over the recall positions 1/40 .. 40/40, the best precision at any "
    "recall at or above each (the definition of AP R40), while `kitti` (the KITTI devkit's and "
    "OpenPCDet's sampling) takes the precision at the true positive whose recall is nearest "
    "each position, even just below it, and always adds the lowest-scoring true positive, so "
    "it credits the first recall position a model never reaches with its precision at maximum "
    "recall (up to +2.5 AP) and scores a perfect detector on N <= 40 ground-truth boxes "
    "(N - 1)/40.")
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
    ``num_detections[class]`` the detections inside the range. ``sampling`` names how the
    precision was sampled (:data:`SAMPLINGS`); ``ap_r11`` holds the devkit's 11-point AP with
    ``kitti`` sampling (None with ``exact``).
    """

    ap: Mapping[str, Mapping[str, Mapping[str, float]]]
    num_gt: Mapping[str, Mapping[str, int]]
    num_detections: Mapping[str, int]
    num_frames: int
    iou_thresholds: Mapping[str, float]
    sampling: str = "exact"
    ap_r11: Optional[Mapping[str, Mapping[str, Mapping[str, float]]]] = None

    def to_table(self) -> str:
        """Fixed-width table like KITTI's output: one row per class, BEV and 3D AP (R40)."""
        lines = self._table(self.ap, f"AP (R40, %, {self.sampling} sampling) over "
                                     f"{self.num_frames} frames")
        if self.ap_r11 is not None:
            lines += [""] + self._table(self.ap_r11, f"AP (R11, %, {self.sampling} sampling)")
        return "\n".join(lines)

    def _table(self, ap: Mapping[str, Mapping[str, Mapping[str, float]]],
               title: str) -> list[str]:
        levels = "".join(f"{d:>10}" for d in DIFFICULTIES)
        lines = [
            title,
            f"{'':<12}{'':>6}{'BEV':^30}{'3D':^30}{'ground truth':^30}",
            f"{'class':<12}{'IoU':>6}{levels}{levels}{levels}",
        ]
        for name, threshold in self.iou_thresholds.items():
            cells = [_format_ap(ap[m][name][d]) for m in METRICS for d in DIFFICULTIES]
            counts = [f"{self.num_gt[name][d]:>10d}" for d in DIFFICULTIES]
            lines.append(f"{name:<12}{threshold:>6.2f}{''.join(cells)}{''.join(counts)}")
        return lines

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict; AP without ground truth (nan) becomes ``None``."""
        result = {
            "metric": f"AP_R{NUM_RECALL_POSITIONS}",
            "sampling": self.sampling,
            "num_frames": self.num_frames,
            "iou_thresholds": dict(self.iou_thresholds),
            "ap": _json_ap(self.ap),
            "num_gt": {c: dict(levels) for c, levels in self.num_gt.items()},
            "num_detections": dict(self.num_detections),
        }
        if self.ap_r11 is not None:
            result["ap_r11"] = _json_ap(self.ap_r11)
        return result


def _json_ap(ap: Mapping[str, Mapping[str, Mapping[str, float]]]
             ) -> dict[str, dict[str, dict[str, Optional[float]]]]:
    return {m: {c: {d: (None if math.isnan(v) else round(v, 4)) for d, v in levels.items()}
                for c, levels in classes.items()}
            for m, classes in ap.items()}


def _format_ap(value: float) -> str:
    return f"{'-':>10}" if math.isnan(value) else f"{value:>10.2f}"


def evaluate(frames: Iterable[EvalFrame], class_names: Sequence[str],
             iou_thresholds: Optional[Mapping[str, float]] = None,
             point_cloud_range: Optional[Sequence[float]] = None,
             min_points: Optional[Mapping[str, int]] = None,
             sampling: str = "exact") -> EvaluationResult:
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
    sampling
        ``exact`` (the definition) or ``kitti`` (the KITTI devkit's, also AP R11).

    """
    class_names = tuple(class_names)
    thresholds = _thresholds(class_names, iou_thresholds)
    levels = {**DEFAULT_MIN_POINTS, **(min_points or {})}
    if set(levels) != set(DIFFICULTIES):
        raise ConfigError(f"min_points must name the difficulties {DIFFICULTIES}, "
                          f"got {sorted(levels)}")
    if sampling not in SAMPLINGS:
        raise ConfigError(f"sampling must be one of {SAMPLINGS}, got {sampling!r}")
    limits = _range(point_cloud_range)
    parts: dict[tuple[str, int, str], list[Any]] = {}
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
            dets, scores = frame.det_boxes[is_det], frame.det_scores[is_det]
            if sampling == "exact":
                order = np.argsort(-scores, kind="stable")
                dets, scores = dets[order], scores[order]
            num_det[c] += len(dets)
            if len(dets) == 0:
                continue
            for metric in METRICS:
                iou = _IOU_FUNCTIONS[metric](dets, gt)
                for d, mask in zip(DIFFICULTIES, counted):
                    parts.setdefault((metric, c, d), []).append(
                        (scores, _match(iou, mask, thresholds[name])) if sampling == "exact"
                        else (iou, scores, mask))
    return EvaluationResult(
        num_gt={name: {d: int(num_gt[c, k]) for k, d in enumerate(DIFFICULTIES)}
                for c, name in enumerate(class_names)},
        num_detections={name: int(num_det[c]) for c, name in enumerate(class_names)},
        num_frames=num_frames, iou_thresholds=thresholds, sampling=sampling,
        **_ap_tables(parts, num_gt, class_names, thresholds, sampling))


def _ap_tables(parts: Mapping[tuple[str, int, str], list[Any]], num_gt: np.ndarray,
               class_names: tuple[str, ...], thresholds: Mapping[str, float],
               sampling: str) -> dict[str, Any]:
    """``ap`` (and with ``kitti`` sampling ``ap_r11``) per metric, class and difficulty."""
    ap: dict[str, dict[str, dict[str, float]]] = {}
    ap_r11: dict[str, dict[str, dict[str, float]]] = {}
    for metric in METRICS:
        for c, name in enumerate(class_names):
            for k, d in enumerate(DIFFICULTIES):
                found, count = parts.get((metric, c, d), []), int(num_gt[c, k])
                if sampling == "exact":
                    r40, r11 = _average_precision(found, count), math.nan
                else:
                    r40, r11 = kitti_average_precision(found, count, thresholds[name])
                ap.setdefault(metric, {}).setdefault(name, {})[d] = r40
                ap_r11.setdefault(metric, {}).setdefault(name, {})[d] = r11
    return {"ap": ap, "ap_r11": ap_r11 if sampling == "kitti" else None}


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
                        cloud_to_model: Optional[Extrinsic] = None,
                        sampling: str = "exact") -> EvaluationResult:
    """
    Give the AP of ``detections`` (by timestamp) against ``labels``.

    Both are in the clouds' frame; ``cloud_to_model`` (the node parameter, None: the same
    frame) moves them into the model's, where ``point_cloud_range`` lies, before matching.
    ``sampling``: see :func:`evaluate`.
    """
    frames = [_eval_frame(gt, detections.get(timestamp), cloud_to_model)
              for timestamp, gt in labels.frames.items()]
    return evaluate(frames, labels.class_names, thresholds or {}, point_cloud_range,
                    sampling=sampling)


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
