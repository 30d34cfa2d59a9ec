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
TensorRT's implicit int8 route calibrated on the frames ``calibrate`` drew: its cache file.

The Q/DQ model (:mod:`.quantize`) is the int8 route everywhere; this cache is only for
TensorRT 8.6 / 10.x building the float model as implicit int8, and only where TensorRT and a
GPU are present. Each outcome is said in one line on stdout, prefixed ``calibrate:``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..inference.backends import tensorrt_available
from ..inference.backends.tensorrt.backend import (build_engine, build_route, make_calibrator,
                                                   strongly_typed_only)
from ..inference.backends.tensorrt.plan import calibration_shapes
from ..inference.model_file import load_model_info

__all__ = ["write_tensorrt_cache"]


def write_tensorrt_cache(model: Path, cache: Path, inputs: list[dict[str, Any]], frames: int,
                         qdq_model: Path) -> bool:
    """
    Calibrate TensorRT's implicit int8 route on ``inputs`` into ``cache``, where TensorRT can.

    Says in one line why not otherwise (no TensorRT / GPU here; TensorRT 11, which removed
    implicit int8; a Q/DQ ``model``) and then leaves an existing ``cache`` as it is. Returns
    whether the cache was written.
    """
    if not tensorrt_available():
        print("calibrate: no TensorRT / GPU here, so no TensorRT calibration cache; on the GPU "
              "machine `tao-pointpillars build-engine MODEL --precision int8 --calib-bag BAG "
              f"--calib-frames {frames}` draws these same frames (or use the Q/DQ model)")
        return False
    import tensorrt as trt

    if strongly_typed_only(trt):  # checked before anything is deleted
        print(f"calibrate: TensorRT {trt.__version__} has no implicit int8 calibration (removed "
              f"in TensorRT 11), so no TensorRT calibration cache ({cache} is left as it is); "
              f"build the Q/DQ model instead: `tao-pointpillars build-engine {qdq_model} "
              "--precision int8 --out ENGINE` (explicit int8)")
        return False
    if build_route(model, "int8") != "implicit-int8":
        print(f"calibrate: {model} has Q/DQ nodes: TensorRT builds it as explicit int8, from "
              "the scales in the model, so no TensorRT calibration cache")
        return False
    if cache.exists():
        cache.unlink()  # an existing cache would be read instead of calibrating these frames
    shapes = calibration_shapes(load_model_info(str(model)))
    build_engine(model, "int8", calibrator=make_calibrator(inputs, cache, shapes))
    print(f"calibrate: wrote the TensorRT calibration cache {cache} (implicit int8 route)")
    return True
