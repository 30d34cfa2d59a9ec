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

from ..data.labels import read_labels
from ..errors import ConfigError
from ..inference.model_file import int8_model_path
from ..tools.evaluation import MODEL_SCORE_THRESHOLD
from ..tools.precision_report import measure_variants, replace_section, report_markdown
from ..tools.variants import build_variants


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
    int8 = args.int8 or int8_model_path(args.model)
    for option, path in (("--model", args.model), ("--int8", int8), ("--labels", args.labels)):
        if not path.is_file():
            raise ConfigError(f"{option} {path} is not a file")
    if args.latency_frames < 1 or args.rounds < 1:
        raise ConfigError("--latency-frames and --rounds must be >= 1")
    labels = read_labels(args.labels)
    variants = build_variants(args.model, args.threads, int8=int8,
                              score_threshold=MODEL_SCORE_THRESHOLD, eager_baseline=False)
    results = measure_variants(variants, args.bag, args.topic or labels.topic, labels,
                               args.latency_frames, args.rounds)
    timed_frames = len(results[0].forward_ms) // args.rounds
    context = (f"Generated {datetime.now(timezone.utc):%Y-%m-%d} by `tao-pointpillars "
               f"precision-report --model {args.model} --labels {args.labels} --bag {args.bag}`: "
               f"{len(labels.frames)} labeled frames; forward pass timed on {timed_frames} "
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
            "evaluation_kitti": (r.kitti_evaluation.to_json() if r.kitti_evaluation is not None
                                 else None),
            "forward_ms": r.forward_ms} for r in results], indent=1) + "\n", encoding="utf-8")
    return 0
