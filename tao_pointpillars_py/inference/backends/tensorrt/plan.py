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
Planning a TensorRT build without TensorRT: routes, profile shapes, padding, engine files.

Everything here is pure Python + numpy, so it is tested for real in CI; the TensorRT calls
themselves live in :mod:`.backend`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from .engine_cache import ENGINE_PRECISIONS
from ...model_file import is_qdq_model, ModelContract, ModelInfo, read_onnx
from ....errors import ConfigError, ModelLoadError

ENGINE_SUFFIXES = (".engine", ".plan")
PILLAR_INPUTS = ("pillar_features", "pillar_coords")  # axis 1 is the (dynamic) pillar axis

Shape = tuple[int, ...]
ProfileShapes = dict[str, tuple[Shape, Shape, Shape]]


def is_engine_file(path: str | Path) -> bool:
    """Whether ``path`` names a serialized engine (``.engine`` / ``.plan``), not an ONNX model."""
    return Path(path).suffix.lower() in ENGINE_SUFFIXES


def has_qdq_nodes(onnx_path: str | Path) -> bool:
    """Whether an ONNX model is explicitly quantized (QuantizeLinear / DequantizeLinear)."""
    return is_qdq_model(read_onnx(str(onnx_path)))


def profile_shapes(info: ModelInfo) -> ProfileShapes:
    """
    (min, opt, max) shapes of every input with a dynamic dimension; {} when all are fixed.

    The pillar axis (axis 1 of pillar_features (1, P, points, 10) and pillar_coords (1, P, 2))
    spans 1 .. ``max_pillars`` of the model's metadata, with opt = max so that tactics are
    chosen for the worst case (a full scene). A dynamic batch axis is fixed to 1; any other
    dynamic dimension has no known bound and is refused.
    """
    max_pillars = info.config.pillars.max_pillars
    result: ProfileShapes = {}
    for name, dims in info.input_shapes.items():
        if all(isinstance(d, int) and d > 0 for d in dims):
            continue
        low: list[int] = []
        high: list[int] = []
        for axis, dim in enumerate(dims):
            if isinstance(dim, int) and dim > 0:
                low.append(dim)
                high.append(dim)
            elif axis == 0:
                low.append(1)
                high.append(1)
            elif info.contract is ModelContract.NATIVE and name in PILLAR_INPUTS and axis == 1:
                low.append(1)
                high.append(max_pillars)
            else:
                raise ModelLoadError(
                    f"{info.path}: input {name} has a dynamic dimension {axis} ({dim!r}) with no "
                    "known bound; only the pillar axis of pillar_features / pillar_coords may be "
                    "dynamic: re-export the model with that dimension fixed")
        result[name] = (tuple(low), tuple(high), tuple(high))
    return result


def calibration_shapes(info: ModelInfo) -> dict[str, Shape]:
    """
    Shape of each input in the int8 calibration batches: the profile's max, else the fixed one.

    TensorRT calibrates a dynamic-shape network at the OPT shape of the calibration profile
    (its MIN and MAX are overwritten by OPT); the calibration profile built here is the max
    shape, so frames are zero-padded to it: exactly what the model sees when it is fed all
    ``max_pillars`` pillars with ``num_pillars`` marking the occupied ones.
    """
    dynamic = profile_shapes(info)
    return {name: dynamic[name][2] if name in dynamic else tuple(int(d) for d in dims)
            for name, dims in info.input_shapes.items()}


def pad_to_shape(array: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Zero-pad ``array`` at the end of each axis to ``shape`` (contiguous; same dtype)."""
    target = tuple(int(d) for d in shape)
    if array.ndim != len(target) or any(a > t for a, t in zip(array.shape, target)):
        raise ConfigError(f"cannot pad an array of shape {array.shape} to {target}")
    if array.shape == target:
        return np.ascontiguousarray(array)
    padded = np.zeros(target, dtype=array.dtype)
    padded[tuple(slice(0, n) for n in array.shape)] = array
    return padded


def check_route(precision: str, *, explicit_int8: bool, strongly_typed: bool,
                tensorrt_version: str) -> None:
    """Refuse precision / model / TensorRT combinations that cannot build, saying what to do."""
    if precision not in ENGINE_PRECISIONS:
        raise ConfigError(f"precision must be one of {ENGINE_PRECISIONS}, got {precision!r}")
    if explicit_int8 and precision != "int8":
        raise ConfigError(
            f"the model has QuantizeLinear/DequantizeLinear nodes (an int8 model from "
            f"`tao-pointpillars calibrate`) but precision is {precision}: use precision int8 "
            "with it, or the float model for fp32 / fp16")
    if not strongly_typed:
        return
    advice = ("use precision fp32, or an int8 Q/DQ model made by `tao-pointpillars calibrate` "
              "with precision int8, or install TensorRT 8.6 / 10.x (pip install 'tensorrt<11')")
    if precision == "fp16":
        raise ConfigError(
            f"TensorRT {tensorrt_version} builds strongly typed networks only (BuilderFlag.FP16 "
            f"was removed in TensorRT 11), so precision fp16 of a float model is refused: "
            f"{advice}")
    if precision == "int8" and not explicit_int8:
        raise ConfigError(
            f"TensorRT {tensorrt_version} removed implicit int8 calibration (calibrators, "
            f"BuilderFlag.INT8), so int8 needs a Q/DQ model: {advice}")


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/tao_pointpillars/engines`` (default ``~/.cache/...``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tao_pointpillars" / "engines"


def check_cache_dir(folder: str | Path, *, explicit: bool) -> None:
    """
    Make sure engines can be written to ``folder`` (created if missing), or say what to change.

    ``explicit``: the folder was passed as ``engine_cache_dir``; otherwise it is
    :func:`default_cache_dir`, which the environment variable XDG_CACHE_HOME moves.
    """
    target = Path(folder)
    try:
        target.mkdir(parents=True, exist_ok=True)
        probe = target / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        if explicit:
            change = "set engine_cache_dir to a writable directory"
        else:
            where = os.environ.get("XDG_CACHE_HOME")
            now = repr(where) if where else "unset, so ~/.cache"
            change = (f"set the environment variable XDG_CACHE_HOME (now {now}) to a writable "
                      "directory; the engines go to $XDG_CACHE_HOME/tao_pointpillars/engines")
        raise ConfigError(
            f"engine cache directory {target} is not writable ({type(exc).__name__}: {exc}), "
            f"so no TensorRT engine can be built into it: {change}, or load an engine prebuilt "
            "with `tao-pointpillars build-engine MODEL.onnx --out ENGINE` (node: engine_path)"
        ) from exc


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, so readers never see half a file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + f".{os.getpid()}.partial")
    try:
        partial.write_bytes(data)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
