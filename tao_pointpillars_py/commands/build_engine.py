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
``tao-pointpillars build-engine``: a TensorRT engine (plus its key sidecar) from an ONNX model.

int8 of a Q/DQ model (from ``tao-pointpillars calibrate``) is explicit: no calibration here.
int8 of a float model is implicit (TensorRT 8.6 / 10.x only): an entropy calibrator reads
``--calib-cache`` when it exists, else frames drawn from ``--calib-bag`` exactly as
``calibrate`` draws them, and writes the cache it made to ``--calib-cache``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..core.pointcloud2 import DRIVER_INTENSITY_RANGE
from ..errors import ConfigError
from ..inference.backends import tensorrt_available
from ..inference.backends.tensorrt.backend import build_engine_file, build_route, make_calibrator
from ..inference.backends.tensorrt.engine_cache import ENGINE_PRECISIONS
from ..inference.backends.tensorrt.plan import calibration_shapes, is_engine_file
from ..inference.detector import Detector
from ..inference.model_file import load_model_info
from ..quantization.calibration import calibration_inputs

NEEDS_TENSORRT = (
    "build-engine needs TensorRT and pycuda (a GPU machine, e.g. Jetson Orin with JetPack 6, "
    "where TensorRT comes with JetPack; then `pip install pycuda`); on this machine run the "
    "model with ONNX Runtime instead (backend onnxruntime)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the build-engine options."""
    parser.add_argument("model", type=Path, metavar="MODEL.onnx")
    parser.add_argument("--precision", choices=ENGINE_PRECISIONS, default="fp32",
                        help="engine precision (default fp32); int8 of a Q/DQ model is "
                             "explicit, of a float model calibrated here")
    parser.add_argument("--out", type=Path, required=True, metavar="E",
                        help="engine to write (.engine or .plan); its key goes to E.json")
    parser.add_argument("--calib-cache", type=Path, default=None, metavar="C",
                        help="implicit int8: calibration cache to read, or to write after "
                             "calibrating on --calib-bag (default: E with suffix .calib)")
    parser.add_argument("--calib-bag", type=Path, action="append", default=[], metavar="BAG",
                        help="implicit int8: rosbag2 folder with lidar clouds (repeatable)")
    parser.add_argument("--calib-frames", type=int, default=100, metavar="N",
                        help="implicit int8: frames spread evenly over the bags (default 100)")
    parser.add_argument("--topic", default=None, metavar="T",
                        help="PointCloud2 topic of the bags (default: every PointCloud2 topic)")
    parser.add_argument("--intensity-range", type=float, nargs=2,
                        default=list(DRIVER_INTENSITY_RANGE), metavar=("MIN", "MAX"),
                        help="intensity range of the bags' clouds, as the node's parameter")
    parser.add_argument("--timing-cache", type=Path, default=None, metavar="F",
                        help="TensorRT timing cache to reuse and update (faster rebuilds)")
    parser.add_argument("--workspace-mb", type=int, default=1024, metavar="N",
                        help="builder workspace limit in MiB (default 1024)")


def run(args: argparse.Namespace) -> int:
    if not tensorrt_available():
        raise ConfigError(NEEDS_TENSORRT)
    if not is_engine_file(args.out):
        raise ConfigError(f"--out {args.out} must end in .engine or .plan (what the tensorrt "
                          "backend loads as an engine)")
    if args.workspace_mb < 1 or args.calib_frames < 1:
        raise ConfigError("--workspace-mb and --calib-frames must be >= 1")
    load_model_info(str(args.model))  # refuses a missing file or one without metadata early
    route = build_route(args.model, args.precision)  # refuses what this TensorRT cannot build
    calibrator = None
    if route == "implicit-int8":
        calibrator = _calibrator(args)
    elif args.calib_bag or args.calib_cache:
        print("build-engine: --calib-* apply to int8 of a float model only; ignored", flush=True)
    print(f"build-engine: building {route} from {args.model} (minutes on a Jetson)", flush=True)
    key = build_engine_file(args.model, args.out, args.precision,
                            workspace_bytes=args.workspace_mb << 20, calibrator=calibrator,
                            timing_cache_path=args.timing_cache)
    print(f"build-engine: wrote {args.out} ({args.out.stat().st_size / 2**20:.1f} MiB) and "
          f"{args.out}.json: TensorRT {key.tensorrt_version}, {key.device_name} (compute "
          f"capability {key.compute_capability})")
    return 0


def _calibrator(args: argparse.Namespace) -> Any:
    """Entropy calibrator from the cache, or from frames drawn like ``calibrate`` draws them."""
    cache: Path = args.calib_cache or args.out.with_suffix(".calib")
    shapes = calibration_shapes(load_model_info(str(args.model)))
    if cache.is_file():
        print(f"build-engine: int8 scales from the calibration cache {cache}", flush=True)
        return make_calibrator([], cache, shapes)
    if not args.calib_bag:
        raise ConfigError(
            f"int8 of the float model {args.model} needs calibration: pass --calib-bag BAG "
            f"(frames drawn like `tao-pointpillars calibrate`; the cache goes to {cache}), or an "
            "existing --calib-cache, or build a Q/DQ model with `tao-pointpillars calibrate` "
            "and pass that (explicit int8, also the only int8 route on TensorRT 11)")
    detector = Detector.from_model(str(args.model), intensity_range=args.intensity_range)
    with tqdm(total=args.calib_frames, desc="calibration frames", unit="frame") as bar:
        frames = calibration_inputs(args.calib_bag, args.topic, args.calib_frames, detector,
                                    progress=bar.update)
    print(f"build-engine: calibrating on {len(frames)} frames; cache -> {cache}", flush=True)
    return make_calibrator(frames, cache, shapes)
