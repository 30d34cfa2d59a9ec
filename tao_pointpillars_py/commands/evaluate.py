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
import dataclasses
import json
from pathlib import Path
import sys
from typing import Optional, Sequence

from ..core.boxes import Extrinsic
from ..data.labels import FrameLabels, LabelsFile, read_labels, read_labels_header
from ..errors import ConfigError
from ..inference.detector import Detector
from ..ros.parameters import NodeSettings, parse_cloud_to_model, settings_from_file
from ..tools.evaluation import (detector_detections, evaluate_detections, file_detections,
                                MODEL_SCORE_THRESHOLD, SAMPLINGS)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--labels", required=True, type=Path, metavar="LABELS.jsonl",
                        help="ground-truth labels file (JSON Lines, see docs/dataset.md)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--detections", type=Path, metavar="DETS.jsonl",
                        help="detections file (labels format with scores), matched to the "
                             "labels by timestamp_ns; ground truth outside the model range it "
                             "records (`detect --detections-out` does) is ignored")
    source.add_argument("--model", type=Path, metavar="MODEL.onnx",
                        help="ONNX model to run on the clouds of --bag; ground truth outside "
                             "its point_cloud_range is ignored")
    parser.add_argument("--bag", type=Path, metavar="BAG_DIR",
                        help="rosbag2 folder with the labeled clouds (needed with --model)")
    parser.add_argument("--topic", metavar="T", help="PointCloud2 topic for --model (default: "
                        "the labels file's topic)")
    parser.add_argument("--params-file", type=Path, default=None, metavar="YAML",
                        help="node parameters file (e.g. params/zvision_ml30s.yaml) for --model: "
                             "the clouds are read as the node would (intensity_range, "
                             "max_points, cloud_to_model, NMS settings; with cloud_to_model the "
                             "boxes are matched in the model's frame, where its range lies); "
                             "its score_threshold is not used, AP sweeps the scores (see "
                             "--score-threshold)")
    parser.add_argument("--json", type=Path, metavar="OUT.json",
                        help="also write the result as JSON")
    parser.add_argument("--score-threshold", type=float, metavar="S",
                        help="drop detections scoring below S (default: keep every detection "
                             f"of a file; {MODEL_SCORE_THRESHOLD} for --model)")
    parser.add_argument("--iou-threshold", action="append", default=[], metavar="CLASS=IOU",
                        help="IoU threshold of a class (repeatable; defaults Vehicle=0.7, "
                             "Pedestrian=0.5, Cyclist=0.5)")
    parser.add_argument("--sampling", choices=SAMPLINGS, default="exact",
                        help="exact (default): AP R40 by its definition, the mean over recall "
                             "1/40..1 of the best precision at that recall or above; kitti: the "
                             "KITTI devkit's 41 sampled score thresholds, IoU above (not at) "
                             "the threshold and ground truth matched box by box, as OpenPCDet "
                             "prints it (AP R40 and R11)")


def _detections_scope(path: Path) -> tuple[tuple[float, ...] | None, Extrinsic | None]:
    """Give the model range and cloud_to_model that ``detect`` records in a detections file."""
    header = read_labels_header(path)
    if header.model_range is None:
        print("tao-pointpillars eval: note: the detections file records no model_range, so "
              "every labeled object counts, also those outside the range its model saw "
              "(`detect --detections-out` records it)", file=sys.stderr)
        return None, None
    cloud_to_model = (None if header.cloud_to_model is None
                      else parse_cloud_to_model(header.cloud_to_model))
    lo, hi = header.model_range[:3], header.model_range[3:]
    print(f"tao-pointpillars eval: ground truth outside the detections' model range "
          f"x {lo[0]:g}..{hi[0]:g}, y {lo[1]:g}..{hi[1]:g}, z {lo[2]:g}..{hi[2]:g} m"
          + (f" (in the model's frame, cloud_to_model '{header.cloud_to_model}')"
             if cloud_to_model is not None else "") + " is ignored", file=sys.stderr)
    return header.model_range, cloud_to_model


def run(args: argparse.Namespace) -> int:
    for option, path in (("--labels", args.labels), ("--detections", args.detections)):
        if path is not None and not path.is_file():
            raise ConfigError(f"{option} {path} is not a file")
    if args.params_file is not None and args.model is None:
        raise ConfigError("--params-file sets how --model reads the clouds of --bag; a "
                          "--detections file is scored as it is: leave --params-file out")
    labels = read_labels(args.labels)
    thresholds = _parse_iou_thresholds(args.iou_threshold)
    point_cloud_range, cloud_to_model = None, None
    if args.detections is not None:
        detections = file_detections(args.detections, labels, args.score_threshold)
        point_cloud_range, cloud_to_model = _detections_scope(args.detections)
    else:
        if args.bag is None or not args.bag.is_dir():
            raise ConfigError("--model needs --bag, the rosbag2 folder with the labeled clouds; "
                              f"got {args.bag}")
        settings = settings_from_file(args.params_file)
        cloud_to_model = settings.cloud_to_model
        detections, point_cloud_range = _detections_from_model(
            args.model, args.bag, args.topic or labels.topic, labels,
            MODEL_SCORE_THRESHOLD if args.score_threshold is None else args.score_threshold,
            settings)
    result = evaluate_detections(labels, detections, point_cloud_range, thresholds,
                                 cloud_to_model, sampling=args.sampling)
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


def _detections_from_model(model: Path, bag: Path, topic: str, labels: LabelsFile,
                           score_threshold: float, settings: Optional[NodeSettings] = None
                           ) -> tuple[dict[int, FrameLabels], tuple[float, ...]]:
    """Run ``model`` on the labeled clouds as the node with ``settings`` would (default: its)."""
    settings = settings or settings_from_file(None)
    detector = Detector.from_model(
        str(model), post=dataclasses.replace(settings.post, score_threshold=score_threshold),
        intensity_range=settings.intensity_range, cloud_to_model=settings.cloud_to_model)
    return (detector_detections(detector, bag, topic, labels, max_points=settings.max_points),
            tuple(detector.config.pillars.point_cloud_range))
