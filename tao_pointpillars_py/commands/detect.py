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
``tao-pointpillars detect IN_BAG OUT_BAG``: the node's answers to a whole bag, without DDS.

Writes Detection3DArray, MarkerArray and LabelInfo next to (a copy of) the clouds, on the
topics the node would publish them on, with the clouds' timestamps: ``ros2 bag play`` and
Foxglove show the result directly. Ends with a summary table; with ``--labels``, the AP.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..data.bags import count_clouds
from ..data.labels import read_labels
from ..errors import ConfigError
from ..inference.model_file import default_model_path, load_model_info
from ..ros.parameters import NodeSettings, read_params_file
from ..tools.bag_detect import (detect_bag, FrameAnswer, input_health_lines,
                                latency_percentiles)
from ..tools.evaluation import class_map, evaluate_detections, labelled_detections

#: node parameters that have a command-line option here (the rest: --params-file)
_OPTION_PARAMETERS = ("model_path", "engine_path", "backend", "precision", "score_threshold",
                      "nms_iou_thresh", "threads")


def allowed_cpus() -> int:
    """Give the number of CPUs this process may run on (affinity, else the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the detect options."""
    parser.add_argument("in_bag", type=Path, metavar="IN_BAG",
                        help="rosbag2 folder (sqlite3 or mcap) with PointCloud2 clouds")
    parser.add_argument("out_bag", type=Path, metavar="OUT_BAG",
                        help="rosbag2 folder to write (must not exist)")
    parser.add_argument("--topic", action="append", default=None, metavar="T",
                        help="cloud topic to answer (repeatable; default: every PointCloud2 "
                             "topic); /nsK/points is answered on /nsK/bbox, /nsK/bbox_markers "
                             "and /nsK/bbox/label_info")
    parser.add_argument("--params-file", type=Path, default=None, metavar="YAML",
                        help="node parameters file (as for the node, e.g. "
                             "params/pointpillars.yaml); the options below override it")
    parser.add_argument("--model", dest="model_path", default=None, metavar="MODEL.onnx",
                        help="model (default: the node's, the reference model)")
    parser.add_argument("--engine", dest="engine_path", default=None, metavar="E.engine")
    parser.add_argument("--backend", default=None, choices=("auto", "onnxruntime", "tensorrt"))
    parser.add_argument("--precision", default=None, choices=("fp32", "fp16", "int8"))
    parser.add_argument("--score-threshold", dest="score_threshold", type=float, default=None,
                        metavar="S")
    parser.add_argument("--nms-iou-thresh", dest="nms_iou_thresh", type=float, default=None,
                        metavar="IOU")
    parser.add_argument("--workers", type=int, default=allowed_cpus(), metavar="N",
                        help=f"detector processes (default: the CPUs allowed, "
                             f"{allowed_cpus()} here); output order is kept")
    parser.add_argument("--threads", type=int, default=1, metavar="T",
                        help="ONNX Runtime threads per worker (default 1)")
    parser.add_argument("--storage", default="sqlite3", choices=("sqlite3", "mcap"))
    parser.add_argument("--no-clouds", action="store_true",
                        help="write only the answers, not a copy of the clouds")
    parser.add_argument("--labels", type=Path, default=None, metavar="LABELS.jsonl",
                        help="ground truth: also print the AP of the answers")


def node_parameters(args: argparse.Namespace) -> dict[str, Any]:
    """Merge the parameters file and the options into the node's parameter values."""
    values: dict[str, Any] = {}
    if args.params_file is not None:
        values.update(read_params_file(args.params_file))
    for name in _OPTION_PARAMETERS:
        value = getattr(args, name, None)
        if value is not None:
            values[name] = str(value) if isinstance(value, Path) else value
    return values


def run(args: argparse.Namespace) -> int:
    if args.workers < 1 or args.threads < 1:
        raise ConfigError("--workers and --threads must be >= 1")
    if not args.in_bag.exists():
        raise ConfigError(f"IN_BAG {args.in_bag} does not exist")
    try:
        from ..ros.messages import to_cdr  # noqa: F401 (the node's messages, rclpy's CDR)
    except ImportError as exc:
        raise ConfigError("detect writes the node's ROS 2 messages and needs rclpy and "
                          "vision_msgs: source ROS 2, or run scripts/setup-ros.sh and use "
                          ".venv/bin/tao-pointpillars") from exc
    parameters = node_parameters(args)
    labels = _read_labels(args.labels)
    found: dict[int, Any] = {}
    total = count_clouds(args.in_bag, args.topic)
    progress = tqdm(total=total, desc="detect", unit="frame", dynamic_ncols=True)

    def on_answer(answer: FrameAnswer) -> None:
        progress.update(1)
        if labels is not None and answer.detections is not None \
                and answer.timestamp_ns in labels.frames:
            found[answer.timestamp_ns] = answer.detections

    try:
        report = detect_bag(args.in_bag, args.out_bag, parameters, args.topic, args.workers,
                            args.storage, not args.no_clouds, on_answer)
    finally:
        progress.close()
    print(summary_table(report, args.workers))
    for line in report.skipped[:10]:
        print(f"skipped: {line}")
    if labels is not None:
        print(_ap_table(labels, found, parameters))
    print(f"detect: wrote {args.out_bag} ({report.answered} of {report.frames} frames answered"
          f", {report.frames / report.wall_s:.1f} frames/s with {args.workers} worker(s))")
    return 0


def summary_table(report: Any, workers: int) -> str:
    """Format frames, input health, detections per class and latency percentiles as tables."""
    lines = ["| cloud topic | answered on |", "| --- | --- |"]
    lines += [f"| {topic} | {answer} |" for topic, answer in report.topics.items()]
    lines += input_health_lines(report)
    lines += ["", "| frames | answered | skipped | " + " | ".join(report.per_class) + " |",
              "| --- | --- | --- | " + " | ".join("---" for _ in report.per_class) + " |",
              f"| {report.frames} | {report.answered} | {len(report.skipped)} | "
              + " | ".join(str(n) for n in report.per_class.values()) + " |",
              "", "| per frame, ms | p50 | p90 | p99 |", "| --- | --- | --- | --- |"]
    for stage, values in latency_percentiles(report.timings_ms).items():
        lines.append(f"| {stage} | " + " | ".join(f"{v:.1f}" for v in values) + " |")
    lines.append(f"\n{report.frames} frames in {report.wall_s:.1f} s with {workers} worker(s)")
    return "\n".join(lines)


def _read_labels(path: Path | None) -> Any:
    if path is None:
        return None
    if not path.is_file():
        raise ConfigError(f"--labels {path} does not exist")
    return read_labels(path)


def _ap_table(labels: Any, found: dict[int, Any], parameters: dict[str, Any]) -> str:
    model = parameters.get("model_path") or str(default_model_path())
    config = load_model_info(str(model)).config
    mapping = class_map(config.class_names, labels.class_names, "model")
    frames = {stamp: labelled_detections(detections, mapping)
              for stamp, detections in found.items()}
    result = evaluate_detections(labels, frames, tuple(config.pillars.point_cloud_range),
                                 cloud_to_model=NodeSettings.from_parameters(
                                     parameters).cloud_to_model)
    return str(result.to_table())
