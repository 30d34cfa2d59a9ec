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
import re
from typing import Sequence, TYPE_CHECKING

import numpy as np

from .engine_cache import ENGINE_PRECISIONS
from ...model_file import file_sha256, is_qdq_model, ModelContract, ModelInfo, read_onnx
from ...tao_layout import DEFAULT_MAX_POINTS, import_tao, tao_model_config
from ....errors import ConfigError, ModelLoadError

if TYPE_CHECKING:  # onnx is imported lazily at run time
    import onnx

ENGINE_SUFFIXES = (".engine", ".plan")
PILLAR_INPUTS = ("pillar_features", "pillar_coords")  # axis 1 is the (dynamic) pillar axis
POINTS_INPUT = "points"  # a TAO model's (1, N, 4) points; axis 1 may be dynamic
#: NVIDIA's words on the three plugins (plugin/{voxelGenerator,pillarScatter,decodeBbox3D}
#: Plugin/README.md:3 of NVIDIA/TensorRT; CHANGELOG.md:113-138, 10.12.0 GA)
TAO_PLUGINS_DEPRECATION = ("This plugin is deprecated since TensorRT 10.12 and will be removed "
                           "in a future release. No alternatives are planned to be provided.")

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
    spans 1 .. ``max_pillars`` of the model's metadata, and the point axis of a TAO model's
    ``points`` (1, N, 4) 1 .. :data:`~...tao_layout.DEFAULT_MAX_POINTS` (TAO's
    ``max_points_num``, the node's ``max_points``), with opt = max so that tactics are chosen
    for the worst case (a full scene). A dynamic batch axis is fixed to 1 (a TAO export's
    ``batch``: ``points`` then gets its fixed size); any other dynamic dimension has no known
    bound and is refused.
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
            elif info.contract is ModelContract.TAO and name == POINTS_INPUT and axis == 1:
                low.append(1)
                high.append(DEFAULT_MAX_POINTS)
            else:
                raise ModelLoadError(
                    f"{info.path}: input {name} has a dynamic dimension {axis} ({dim!r}) with no "
                    "known bound; only the batch axis, the pillar axis of pillar_features / "
                    "pillar_coords and the point axis of a TAO model's points may be dynamic: "
                    "re-export the model with that dimension fixed")
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
                tensorrt_version: str, tao_plugins: bool = False) -> None:
    """
    Refuse precision / model / TensorRT combinations that cannot build, saying what to do.

    ``tao_plugins``: the model holds TAO's TensorRT plugins, which run in float only (TAO
    states that PointPillars does not support int8 calibration), so implicit int8 is refused.
    """
    if precision not in ENGINE_PRECISIONS:
        raise ConfigError(f"precision must be one of {ENGINE_PRECISIONS}, got {precision!r}")
    if tao_plugins and precision == "int8" and not explicit_int8:
        raise ConfigError(
            "precision int8 of a TAO model (VoxelGenerator / PillarScatter / DecodeBbox3D "
            "TensorRT plugins, which run in float only) cannot be calibrated: convert it with "
            "`tao-pointpillars import-tao TAO.onnx --out MODEL.onnx` (add --class-names when "
            "the model carries none), then `tao-pointpillars calibrate --model MODEL.onnx --bag "
            "BAG` and use the MODEL.int8.onnx it writes with precision int8; or use precision "
            "fp32 / fp16 with the TAO model")
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


def converted_model_path(folder: str | Path, model_path: str | Path,
                         model_sha256: str) -> Path:
    """``<folder>/<model stem>.import-tao.<first 16 hex of the TAO file's sha256>.onnx``."""
    stem = Path(model_path).name.removesuffix(".onnx")
    return Path(folder) / f"{stem}.import-tao.{model_sha256[:16]}.onnx"


def write_converted_tao(proto: onnx.ModelProto, model_path: str | Path,
                        folder: str | Path) -> Path:
    """
    Write a TAO model converted as ``tao-pointpillars import-tao`` does into ``folder``.

    The conversion (:func:`~...tao_layout.import_tao`) keeps the model's class names, or its
    placeholder ones ("class_0", ...) when it carries none: the detector names the classes
    from the TAO file. The file is named by :func:`converted_model_path` and rewritten only
    when its bytes change, so an engine keyed on it stays valid across starts.
    """
    source = str(model_path)
    config, _ = tao_model_config(proto, source)
    data = import_tao(proto, class_names=config.class_names, source=source).SerializeToString()
    target = converted_model_path(folder, model_path, file_sha256(model_path))
    if not (target.is_file() and target.read_bytes() == data):
        write_atomic(target, data)
    return target


def describe_parser_errors(errors: Sequence[str], model: onnx.ModelProto) -> list[str]:
    """
    Add the node's operator and name to parser errors that give only its index.

    TensorRT 8.x words them "In node 3 (importFallbackPluginImporter): ..."; 10.x already
    names the node ("In node 3 with name: ... and operator: ...") and is left as it is.
    """
    nodes = model.graph.node
    described = []
    for error in errors:
        found = re.match(r"In node (\d+) \(", error)
        if found and int(found.group(1)) < len(nodes):
            node = nodes[int(found.group(1))]
            error = f"{error} [node {found.group(1)}: {node.op_type} {node.name!r}]"
        described.append(error)
    return described


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
