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
``tao-pointpillars calibrate``: an int8 Q/DQ model from frames spread over real recordings.

Frames are preprocessed exactly as the node does (same intensity mapping and pillarization,
through :class:`~..inference.detector.Detector`); the output ``MODEL.int8.onnx`` is
what ``precision: int8`` loads on ONNX Runtime and what TensorRT builds explicit int8 from.
Where TensorRT and a GPU are present, the same frames also calibrate TensorRT's implicit int8
route and its calibration cache is written (``--calib-cache``); elsewhere, and on TensorRT 11
(which has no implicit int8), the command says so and leaves an existing cache alone, and
``build-engine --calib-bag`` draws the same frames on a GPU machine with TensorRT 8.6 / 10.x.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..core.pointcloud2 import DRIVER_INTENSITY_RANGE
from ..errors import ConfigError
from ..inference.detector import Detector
from ..inference.model_file import int8_model_path
from ..quantization.calibration import calibration_inputs
from ..quantization.quantize import (CALIBRATION_METHODS, DEFAULT_METHOD, DEFAULT_OP_TYPES,
                                     DEFAULT_PERCENTILE, layer_sensitivity, quantize_model)
from ..quantization.tensorrt_calibration import write_tensorrt_cache


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the calibrate options."""
    parser.add_argument("--bag", type=Path, action="append", required=True, metavar="BAG",
                        help="rosbag2 folder with lidar clouds (repeatable)")
    parser.add_argument("--topic", default=None, metavar="T",
                        help="PointCloud2 topic (default: every PointCloud2 topic)")
    parser.add_argument("--frames", type=int, default=100,
                        help="calibration frames, spread evenly over the bags (default 100)")
    parser.add_argument("--model", type=Path, required=True, metavar="MODEL.onnx")
    parser.add_argument("--out", type=Path, default=None,
                        help="int8 model to write (default: MODEL.int8.onnx next to MODEL)")
    parser.add_argument("--method", choices=CALIBRATION_METHODS, default=DEFAULT_METHOD,
                        help=f"activation range calibration (default {DEFAULT_METHOD})")
    parser.add_argument("--percentile", type=float, default=DEFAULT_PERCENTILE, metavar="P",
                        help="percentile method: range covers P %% of each activation's "
                             f"values (default {DEFAULT_PERCENTILE})")
    parser.add_argument("--no-equalize", dest="equalize", action="store_false",
                        help="skip cross-layer channel equalization before calibration")
    parser.add_argument("--keep-float", action="append", default=[], metavar="NODE",
                        help="node of the model to leave in float (repeatable)")
    parser.add_argument("--sensitivity", action="store_true",
                        help="first print each layer's output SQNR [dB] with that layer alone "
                             "quantized (low: a candidate for --keep-float)")
    parser.add_argument("--intensity-range", type=float, nargs=2,
                        default=list(DRIVER_INTENSITY_RANGE), metavar=("MIN", "MAX"),
                        help="intensity range of the clouds, as the node's parameter")
    parser.add_argument("--calib-cache", type=Path, default=None, metavar="C",
                        help="TensorRT calibration cache for implicit int8, written where "
                             "TensorRT and a GPU are present (default: MODEL.calib)")


def run(args: argparse.Namespace) -> int:
    if args.frames < 1:
        raise ConfigError(f"--frames must be >= 1, got {args.frames}")
    out = args.out or int8_model_path(args.model)
    detector = Detector.from_model(str(args.model), intensity_range=args.intensity_range)
    with tqdm(total=args.frames, desc="calibration frames", unit="frame") as bar:
        inputs = calibration_inputs(args.bag, args.topic, args.frames, detector,
                                    progress=bar.update)
    if args.sensitivity:
        _print_sensitivity(args, inputs)
    method = args.method + (f" {args.percentile}" if args.method == "percentile" else "")
    print(f"calibrate: {len(inputs)} frames from {', '.join(str(b) for b in args.bag)}; "
          f"quantizing {', '.join(DEFAULT_OP_TYPES)} with {method}"
          f"{', channels equalized' if args.equalize else ''}", flush=True)
    provenance = {"calibration.bags": ",".join(b.resolve().name for b in args.bag),
                  "calibration.topic": args.topic or "",
                  "calibration.intensity_range": ",".join(map(str, args.intensity_range))}
    nodes = quantize_model(args.model, out, inputs, args.method, args.keep_float,
                           provenance=provenance, percentile=args.percentile,
                           equalize=args.equalize)
    print(f"calibrate: wrote {out} ({len(nodes)} dequantized tensors; symmetric int8, "
          "per-channel weights)")
    cache = args.calib_cache or args.model.with_name(
        args.model.name.removesuffix(".onnx") + ".calib")
    write_tensorrt_cache(args.model, cache, inputs, args.frames, out)
    return 0


def _print_sensitivity(args: argparse.Namespace, inputs: list[dict[str, Any]]) -> None:
    probes = inputs[:: max(1, len(inputs) // 5)][:5]
    table = layer_sensitivity(args.model, inputs, probes, args.method,
                              percentile=args.percentile, equalize=args.equalize)
    outputs = list(table[0][1]) if table else []
    print(f"layer sensitivity: output SQNR [dB] with one layer quantized ({len(probes)} "
          "frames; higher is better, inf = unchanged)")
    print(f"{'node':<48}" + "".join(f"{name:>15}" for name in outputs))
    for node, sqnr in table:
        print(f"{node:<48}" + "".join(f"{sqnr[name]:>15.1f}" for name in outputs))
