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
``tao-pointpillars precision-report``: fp32 vs int8 (and TensorRT) AP and speed, one run.

Writes the section of ``models/README.md`` between its precision-report markers, so the
figures there are generated, never typed.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
import json
import os
from pathlib import Path
import platform
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ConfigError

if TYPE_CHECKING:
    from ..inference.detector import Detector


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the precision-report options."""
    parser.add_argument("--model", type=Path, required=True, metavar="MODEL.onnx",
                        help="the fp32 model")
    parser.add_argument("--int8", type=Path, default=None, metavar="MODEL.int8.onnx",
                        help="its Q/DQ int8 model (default: MODEL.int8.onnx next to it)")
    parser.add_argument("--labels", type=Path, required=True, metavar="LABELS.jsonl")
    parser.add_argument("--bag", type=Path, required=True, metavar="BAG_DIR",
                        help="rosbag2 folder with the labeled clouds")
    parser.add_argument("--topic", default=None, metavar="T",
                        help="PointCloud2 topic (default: the labels file's)")
    parser.add_argument("--latency-frames", type=int, default=20, metavar="N",
                        help="frames timed, spread over the bag (default 20)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="timed passes over those frames (default 5, after one warm-up)")
    parser.add_argument("--threads", type=int, default=1,
                        help="ONNX Runtime intra-op threads (default 1, as the node's default "
                             "on a busy robot computer)")
    parser.add_argument("--readme", type=Path, default=None, metavar="README.md",
                        help="replace the precision-report section of this file")
    parser.add_argument("--json", type=Path, default=None, metavar="OUT.json",
                        help="also write every AP and time as JSON")


def run(args: argparse.Namespace) -> int:
    from .evaluate import detector_detections, evaluate_detections
    from ..data.labels import read_labels
    from ..inference.backends import tensorrt_available
    from ..quantization.quantize import int8_model_path
    from ..tools.precision_report import (interleaved_forward_ms, replace_section, report_markdown,
                                          Variant, VariantResult)

    int8 = args.int8 or int8_model_path(args.model)
    for option, path in (("--model", args.model), ("--int8", int8), ("--labels", args.labels)):
        if not path.is_file():
            raise ConfigError(f"{option} {path} is not a file")
    if args.latency_frames < 1 or args.rounds < 1:
        raise ConfigError("--latency-frames and --rounds must be >= 1")
    from ..inference.detector import Detector

    labels = read_labels(args.labels)
    topic = args.topic or labels.topic

    def onnxruntime(path: Path, int8_lowering: bool = True) -> Detector:
        return Detector.from_model(str(path), score_threshold=0.1, threads=args.threads,
                                   int8_lowering=int8_lowering)

    cpu_int8 = onnxruntime(int8)
    lowering = getattr(cpu_int8.backend, "int8_lowering", None)
    variants = [Variant("ONNX Runtime fp32 (CPU)", onnxruntime(args.model), args.model.name),
                Variant("ONNX Runtime int8 (CPU)", cpu_int8, int8.name,
                        "what the node runs: " + lowering.describe() if lowering is not None
                        else "the Q/DQ model as stored"),
                Variant("ONNX Runtime int8, Q/DQ as stored (CPU)", onnxruntime(int8, False),
                        int8.name, "TensorRT's numerics: symmetric int8, float ReLUs and heads")]
    gpu = tensorrt_available()
    for precision, source in (("fp32", args.model), ("fp16", args.model), ("int8", int8)):
        label = f"TensorRT {precision}"
        if gpu:
            variants.append(Variant(label, Detector.from_model(
                str(source), backend="tensorrt", score_threshold=0.1, precision=precision),
                source.name))
        else:
            variants.append(Variant(label, None, source.name, "not measured: no GPU / TensorRT "
                                    "on this machine"))
    results = [VariantResult(v) for v in variants]
    for result in results:
        detector = result.variant.detector
        if detector is not None:
            detections = detector_detections(detector, args.bag, topic, labels,
                                             desc=result.variant.label)
            result.evaluation = evaluate_detections(
                labels, detections, tuple(detector.config.pillars.point_cloud_range))
    timed = [r for r in results if r.variant.detector is not None]
    detectors = [r.variant.detector for r in timed if r.variant.detector is not None]
    inputs = _latency_inputs(args.bag, topic, args.latency_frames, detectors[0])
    times = interleaved_forward_ms(detectors, inputs, args.rounds)
    for result, values in zip(timed, times):
        result.forward_ms = values
    context = (f"Generated {datetime.now(timezone.utc):%Y-%m-%d} by `tao-pointpillars "
               f"precision-report --model {args.model} --labels {args.labels} --bag {args.bag}`: "
               f"{len(labels.frames)} labeled frames; forward pass timed on {len(inputs)} "
               f"frames x {args.rounds} rounds, {args.threads} ONNX Runtime thread(s), "
               f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs.")
    section = report_markdown(results, labels.class_names, context)
    print(section)
    if args.readme is not None:
        document = args.readme.read_text(encoding="utf-8") if args.readme.is_file() else ""
        args.readme.write_text(replace_section(document, section), encoding="utf-8")
        print(f"precision-report: updated {args.readme}")
    if args.json is not None:
        args.json.write_text(json.dumps([{
            "variant": r.variant.label, "model": r.variant.model_name,
            "evaluation": r.evaluation.to_json() if r.evaluation is not None else None,
            "forward_ms": r.forward_ms} for r in results], indent=1) + "\n", encoding="utf-8")
    return 0


def _latency_inputs(bag: Path, topic: str, count: int,
                    detector: Detector) -> list[dict[str, np.ndarray]]:
    """Model inputs of ``count`` clouds spread over the bag (copies: buffers are reused)."""
    from ..data.bags import count_clouds, read_clouds
    from ..quantization.calibration import spread_indices

    chosen = set(spread_indices(count_clouds(bag, [topic]), count).tolist())
    return [{k: v.copy() for k, v in detector.model_inputs(cloud.points).items()}
            for index, cloud in enumerate(read_clouds(bag, [topic])) if index in chosen]
