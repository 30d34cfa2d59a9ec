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
Foxglove show the result directly. Ends with a summary table; with ``--labels``, the AP;
``--detections-out`` also writes the answers as a detections file for ``eval --detections``.
Exits 1 when no cloud was answered; 2 (before writing anything) on a wrong invocation.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
import shlex
import sys
from typing import Any

from rosbags.highlevel import AnyReaderError
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
    parser.add_argument("--detections-out", type=Path, default=None, metavar="D.jsonl",
                        help="also write every answered cloud's detections as a detections "
                             "file (labels format with scores, by bag timestamp, boxes in the "
                             "cloud's frame) for eval --detections; one cloud topic only: "
                             "with several, pass --topic T (one file per run)")


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
    check_in_bag(args.in_bag)
    _check_detections_out(args.detections_out, args.labels)
    try:
        from ..ros.messages import to_cdr  # noqa: F401 (the node's messages, rclpy's CDR)
    except ImportError as exc:
        raise ConfigError("detect writes the node's ROS 2 messages and needs rclpy and "
                          "vision_msgs: source ROS 2, or run scripts/setup-ros.sh and use "
                          ".venv/bin/tao-pointpillars") from exc
    parameters = node_parameters(args)
    labels = _read_labels(args.labels)
    found: dict[int, Any] = {}
    try:
        total = count_clouds(args.in_bag, args.topic)
    except AnyReaderError as exc:
        raise ConfigError(f"IN_BAG {args.in_bag} cannot be read as a bag ({exc}); pass a "
                          "rosbag2 folder (sqlite3 or mcap) or a ROS 1 .bag file") from None
    progress = tqdm(total=total, desc="detect", unit="frame", dynamic_ncols=True)

    def on_answer(answer: FrameAnswer) -> None:
        progress.update(1)
        if labels is not None and answer.detections is not None \
                and answer.timestamp_ns in labels.frames:
            found[answer.timestamp_ns] = answer.detections

    try:
        report = detect_bag(args.in_bag, args.out_bag, parameters, args.topic, args.workers,
                            args.storage, not args.no_clouds, on_answer, args.detections_out)
    finally:
        progress.close()
    print(summary_table(report, args.workers))
    for line in report.skipped[:10]:
        print(f"skipped: {line}")
    if labels is not None:
        print(_ap_table(labels, found, parameters))
    print(f"detect: wrote {args.out_bag} ({report.answered} of {report.frames} frames answered"
          f", {report.frames / report.wall_s:.1f} frames/s with {args.workers} worker(s))")
    if args.detections_out is not None:
        print(f"detect: wrote {args.detections_out} ({report.answered} frames; "
              f"eval --labels L.jsonl --detections {args.detections_out} scores them)")
    if report.answered == 0:
        print(f"tao-pointpillars detect: error: {_nothing_answered(report)}", file=sys.stderr)
        return 1
    return 0


def check_in_bag(path: Path) -> None:
    """Raise ConfigError saying what to pass when ``path`` is not a bag detect can read."""
    if not path.exists():
        raise ConfigError(f"IN_BAG {path} does not exist; pass a rosbag2 folder (the one "
                          "with metadata.yaml) or a ROS 1 .bag file")
    quoted = shlex.quote(str(path))
    bag = shlex.quote(str(path.parent / f"{path.stem}_bag"))
    if path.is_dir() and not (path / "metadata.yaml").is_file():
        if (path / "bag").is_dir():
            labels = path / "labels.jsonl"
            raise ConfigError(
                f"IN_BAG {path} is a dataset folder (bag/ and labels.jsonl, as sim writes it): "
                f"pass {shlex.quote(str(path / 'bag'))}"
                + (f" (and --labels {shlex.quote(str(labels))} for the AP)"
                   if labels.is_file() else ""))
        if any(path.glob("*.bin")):
            raise ConfigError(f"IN_BAG {path} holds .bin scans, not a bag: convert them first "
                              f"with tao-pointpillars import-bin {quoted} --out {bag}, then "
                              f"pass {bag}")
        raise ConfigError(f"IN_BAG {path} is a folder without metadata.yaml, not a rosbag2 "
                          "bag: pass the folder ros2 bag record (or tao-pointpillars record / "
                          "sim / import-*) wrote; ros2 bag reindex rebuilds a lost "
                          "metadata.yaml")
    if path.suffix.lower() == ".bin":
        raise ConfigError(f"IN_BAG {path} is a KITTI-style scan, not a bag: convert it first "
                          f"with tao-pointpillars import-bin {quoted} --out {bag} (or give "
                          f"import-bin its folder for every scan), then pass {bag}")
    if path.suffix.lower() in (".pcap", ".pcapng"):
        calibration = path.with_suffix(".cal")
        raise ConfigError(
            f"IN_BAG {path} is a packet capture, not a bag: convert it first with "
            f"tao-pointpillars import-pcap {quoted} --calibration "
            f"{shlex.quote(str(calibration)) if calibration.is_file() else 'FILE.cal'} "
            f"--out {bag}, then pass {bag}")


def _check_detections_out(path: Path | None, labels: Path | None) -> None:
    if path is None:
        return
    if path.is_dir() or not path.parent.is_dir():
        raise ConfigError(f"--detections-out {path} must be a file in an existing folder")
    if labels is not None and path.resolve() == labels.resolve():
        raise ConfigError(f"--detections-out {path} is the --labels file: choose another "
                          "path, or the ground truth is overwritten")


def _nothing_answered(report: Any) -> str:
    """Say why no cloud was answered: no clouds, or the first skip reasons."""
    if report.frames == 0:
        return f"no cloud was answered: the bag has no messages on {list(report.topics)}"
    return (f"no cloud was answered: all {report.frames} clouds were skipped (first: "
            f"{report.skipped[0]}); the skipped: lines above say why, per cloud")


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
