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

"""``tao-pointpillars eval``: KITTI-style AP of detections, or of a model run on a bag."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import sys
from typing import Mapping, Optional, Sequence, TYPE_CHECKING

import numpy as np

from ..data.labels import FrameLabels, LabelsFile, read_labels
from ..errors import ConfigError, LabelsFormatError
from ..tools.evaluation import EvalFrame, evaluate, EvaluationResult

if TYPE_CHECKING:
    from ..core.detections import Detections
    from ..inference.detector import Detector

#: Score threshold of the model route when none is given: low, so the curve reaches far.
MODEL_SCORE_THRESHOLD = 0.1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--labels", required=True, type=Path, metavar="LABELS.jsonl",
                        help="ground-truth labels file (JSON Lines, see docs/dataset.md)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--detections", type=Path, metavar="DETS.jsonl",
                        help="detections file (labels format with scores), matched to the "
                             "labels by timestamp_ns")
    source.add_argument("--model", type=Path, metavar="MODEL.onnx",
                        help="ONNX model to run on the clouds of --bag; ground truth outside "
                             "its point_cloud_range is ignored")
    parser.add_argument("--bag", type=Path, metavar="BAG_DIR",
                        help="rosbag2 folder with the labeled clouds (needed with --model)")
    parser.add_argument("--topic", metavar="T", help="PointCloud2 topic for --model (default: "
                        "the labels file's topic)")
    parser.add_argument("--json", type=Path, metavar="OUT.json",
                        help="also write the result as JSON")
    parser.add_argument("--score-threshold", type=float, metavar="S",
                        help="drop detections scoring below S (default: keep every detection "
                             f"of a file; {MODEL_SCORE_THRESHOLD} for --model)")
    parser.add_argument("--iou-threshold", action="append", default=[], metavar="CLASS=IOU",
                        help="IoU threshold of a class (repeatable; defaults Vehicle=0.7, "
                             "Pedestrian=0.5, Cyclist=0.5)")


def run(args: argparse.Namespace) -> int:
    for option, path in (("--labels", args.labels), ("--detections", args.detections)):
        if path is not None and not path.is_file():
            raise ConfigError(f"{option} {path} is not a file")
    labels = read_labels(args.labels)
    thresholds = _parse_iou_thresholds(args.iou_threshold)
    point_cloud_range = None
    if args.detections is not None:
        detections = _detections_from_file(args.detections, labels, args.score_threshold)
    else:
        if args.bag is None or not args.bag.is_dir():
            raise ConfigError("--model needs --bag, the rosbag2 folder with the labeled clouds; "
                              f"got {args.bag}")
        detections, point_cloud_range = _detections_from_model(
            args.model, args.bag, args.topic or labels.topic, labels,
            MODEL_SCORE_THRESHOLD if args.score_threshold is None else args.score_threshold)
    result = evaluate_detections(labels, detections, point_cloud_range, thresholds)
    print(result.to_table())
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")
    return 0


def _parse_iou_thresholds(items: Sequence[str]) -> dict[str, float]:
    thresholds = {}
    for item in items:
        name, _, value = item.partition("=")
        try:
            iou = float(value)
        except ValueError:
            iou = None
        if iou is None or not name.strip():
            raise ConfigError(f"--iou-threshold wants CLASS=IOU (e.g. Vehicle=0.7), got {item!r}")
        thresholds[name.strip()] = iou
    return thresholds


def _class_map(source: Sequence[str], target: Sequence[str], what: str) -> np.ndarray:
    """Index map (len(source),) from source class indices to target ones, -1 where unknown."""
    index = {name: i for i, name in enumerate(target)}
    unknown = [name for name in source if name not in index]
    if unknown:
        print(f"tao-pointpillars eval: note: {what} classes {unknown} are not in the labels "
              f"file {list(target)}; their detections are left out", file=sys.stderr)
    return np.array([index.get(name, -1) for name in source], dtype=np.int64)


def _detections_from_file(path: Path, labels: LabelsFile,
                          score_threshold: Optional[float]) -> dict[int, FrameLabels]:
    dets = read_labels(path)
    if any(frame.scores is None and len(frame) for frame in dets.frames.values()):
        raise LabelsFormatError(f"{path} has objects without a \"score\": pass detections, "
                                "not ground truth, to --detections")
    mapping = _class_map(dets.class_names, labels.class_names, "detection")
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


def _detections_from_model(model: Path, bag: Path, topic: str, labels: LabelsFile,
                           score_threshold: float
                           ) -> tuple[dict[int, FrameLabels], tuple[float, ...]]:
    from ..inference.detector import Detector

    detector = Detector.from_model(str(model), score_threshold=score_threshold)
    return (detector_detections(detector, bag, topic, labels),
            tuple(detector.config.pillars.point_cloud_range))


def detector_detections(detector: Detector, bag: Path, topic: str, labels: LabelsFile,
                        desc: str = "eval") -> dict[int, FrameLabels]:
    """Run ``detector`` on the labeled clouds of ``bag``; detections by timestamp."""
    from tqdm import tqdm

    from ..data.bags import count_clouds, read_clouds

    mapping = _class_map(detector.config.class_names, labels.class_names, "model")
    result: dict[int, FrameLabels] = {}
    clouds = read_clouds(bag, [topic])
    for cloud in tqdm(clouds, total=count_clouds(bag, [topic]), desc=desc, unit="cloud"):
        if cloud.timestamp_ns not in labels.frames:
            continue
        result[cloud.timestamp_ns] = labelled_detections(detector.detect(cloud.points),
                                                         mapping)
    missing = len(labels.frames) - len(result)
    if missing:
        print(f"tao-pointpillars eval: note: {missing} labeled frames have no cloud on {topic} "
              "in the bag; they count as frames without detections", file=sys.stderr)
    return result


def labelled_detections(found: Detections, mapping: np.ndarray) -> FrameLabels:
    """Give a model's detections as labels-file classes (``mapping`` from _class_map)."""
    mapped = mapping[found.labels] if len(found) else found.labels
    keep = mapped >= 0
    return FrameLabels(found.boxes[keep], mapped[keep],
                       None, found.scores[keep])  # type: ignore[arg-type]


def evaluate_detections(labels: LabelsFile, detections: Mapping[int, FrameLabels],
                        point_cloud_range: Optional[Sequence[float]] = None,
                        thresholds: Optional[Mapping[str, float]] = None) -> EvaluationResult:
    """AP of ``detections`` (by timestamp) against ``labels``."""
    frames = [_eval_frame(gt, detections.get(timestamp)) for timestamp, gt in
              labels.frames.items()]
    return evaluate(frames, labels.class_names, thresholds or {}, point_cloud_range)


def _eval_frame(gt: FrameLabels, det: Optional[FrameLabels]) -> EvalFrame:
    if det is None:
        det = FrameLabels.empty(with_scores=True)
    scores = det.scores if det.scores is not None else np.zeros(len(det), dtype=np.float32)
    return EvalFrame(gt.boxes, gt.labels, gt.num_points, det.boxes, scores, det.labels)
