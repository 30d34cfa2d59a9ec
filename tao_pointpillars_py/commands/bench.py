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
``tao-pointpillars bench [MODEL]``: side-by-side speed of every backend and precision here.

Times preprocessing, inference and decode + NMS of ONNX Runtime fp32 / int8, TensorRT fp32 /
fp16 / int8 (where a GPU is present) and a PyTorch eager baseline on the same frames,
interleaved frame by frame (see :mod:`tao_pointpillars_py.tools.benchmark`), and prints a table.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..errors import ConfigError
from ..inference.model_file import default_model_path
from ..ros.parameters import settings_from_file
from ..tools.benchmark import (bag_frames, BenchReport, configure_variants, machine_context,
                               measure, simulated_frames)
from ..tools.variants import build_variants


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the bench options."""
    parser.add_argument("model", type=Path, nargs="?", default=None, metavar="MODEL",
                        help="ONNX model (default: the reference model "
                             "models/pointpillars_zvision.onnx); its int8 model is "
                             "MODEL.int8.onnx next to it")
    parser.add_argument("--bag", type=Path, default=None, metavar="BAG",
                        help="time clouds spread over this bag (default: simulated clouds)")
    parser.add_argument("--topic", default=None, metavar="T",
                        help="PointCloud2 topic of --bag (default: every PointCloud2 topic)")
    parser.add_argument("--frames", type=int, default=20, metavar="N",
                        help="frames timed (default 20)")
    parser.add_argument("--rounds", type=int, default=5, metavar="R",
                        help="timed passes over the frames (default 5, after one warm-up)")
    parser.add_argument("--threads", type=int, default=1, metavar="T",
                        help="ONNX Runtime intra-op threads and torch threads (default 1)")
    parser.add_argument("--seed", type=int, default=0,
                        help="sequence of the simulated clouds (default 0)")
    parser.add_argument("--params-file", type=Path, default=None, metavar="YAML",
                        help="node parameters file (e.g. params/zvision_ml30s.yaml): every "
                             "variant reads the clouds as the node would (model_path when MODEL "
                             "is not given, intensity_range, max_points, cloud_to_model, "
                             "score_threshold and NMS settings); simulated clouds are put into "
                             "the clouds' frame cloud_to_model names")
    parser.add_argument("--json", type=Path, default=None, metavar="OUT.json",
                        help="also write every time and summary as JSON")


def run(args: argparse.Namespace) -> int:
    for option in ("frames", "rounds", "threads"):
        if getattr(args, option) < 1:
            raise ConfigError(f"--{option} must be >= 1, got {getattr(args, option)}")
    if args.topic is not None and args.bag is None:
        raise ConfigError("--topic needs --bag")
    settings = settings_from_file(args.params_file)
    model = args.model or Path(settings.runtime.model_path or default_model_path())
    if not model.is_file():
        raise ConfigError(f"MODEL {model} is not a file")
    extra: dict[str, Any]
    if args.bag is not None:
        frames, indices = bag_frames(args.bag, args.topic, args.frames, settings.max_points)
        source = f"frames spread over {args.bag}" + (f" ({args.topic})" if args.topic else "")
        extra = {"bag": str(args.bag), "topic": args.topic, "frame_indices": indices}
    else:
        frames = simulated_frames(args.frames, args.seed, settings.cloud_to_model)
        source = f"simulated frames (seed {args.seed})"
        extra = {"seed": args.seed}
    if args.params_file is not None:
        extra["params_file"] = str(args.params_file)
    variants = build_variants(model, args.threads)
    configure_variants(variants, settings)
    running = sum(v.detector is not None for v in variants)
    with tqdm(total=(args.rounds + 1) * len(frames), desc=f"bench ({running} variants)",
              unit="frame") as bar:
        results = measure(variants, frames, args.rounds, progress=bar.update)
    report = BenchReport(results, machine_context(model, source, len(frames), args.rounds,
                                                  args.threads, **extra))
    print(report.context_line())
    print()
    print(report.table())
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report.to_json(), indent=1) + "\n", encoding="utf-8")
        print(f"bench: wrote {args.json}")
    return 0
