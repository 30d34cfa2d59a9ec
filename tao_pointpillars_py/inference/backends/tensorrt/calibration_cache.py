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
TensorRT calibration caches (implicit int8): read, check against a model, record their model.

A cache holds the scales of one model's tensors: a header line ``TRT-<version>-<algorithm>``,
then ``<tensor name>: <scale>`` per tensor. TensorRT given another model's cache builds with
wrong or missing scales, or recalibrates without frames and fails, so
:func:`check_calibration_cache` refuses it first, from the tensor names and from the record
``<cache>.json`` (:func:`write_calibration_record`) of the model it was made for.
"""

from __future__ import annotations

from dataclasses import dataclass
import json
from pathlib import Path
import re

from ...model_file import file_sha256, read_onnx
from ....errors import ConfigError

#: The calibrator of the TensorRT backend (``IInt8EntropyCalibrator2``) reads only its own caches.
CALIBRATION_ALGORITHM = "EntropyCalibration2"
_HEADER = re.compile(r"TRT-([0-9.]+)-(\w+)$")
_FLOAT_TYPES = (1, 10, 16)  # onnx.TensorProto FLOAT, FLOAT16, BFLOAT16


@dataclass(frozen=True)
class CalibrationCache:
    """The parsed text of a TensorRT calibration cache."""

    tensorrt_version: str  # as in the header, e.g. "8601" for 8.6.1
    algorithm: str  # e.g. "EntropyCalibration2"
    tensors: tuple[str, ...]  # names with a scale, in file order


def read_calibration_cache(path: str | Path) -> CalibrationCache:
    """Parse a calibration cache; ConfigError naming the file when it is not one."""
    cache = Path(path)
    try:
        lines = cache.read_bytes().decode("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"calibration cache {cache} cannot be read as a TensorRT calibration "
                          f"cache ({type(exc).__name__}: {exc}); {_recalibrate(cache)}") from exc
    header = _HEADER.match(lines[0].strip()) if lines else None
    if header is None:
        first = lines[0][:40] if lines else ""
        raise ConfigError(f"calibration cache {cache} is not a TensorRT calibration cache (its "
                          f"first line is {first!r}, not TRT-<version>-<algorithm>); "
                          f"{_recalibrate(cache)}")
    names = tuple(line.rpartition(":")[0].strip() for line in lines[1:] if ":" in line)
    return CalibrationCache(header.group(1), header.group(2), names)


def check_calibration_cache(path: str | Path, model_path: str | Path) -> CalibrationCache:
    """
    Refuse a calibration cache that was not made for ``model_path``, saying what to do.

    Refused: a file that is not a calibration cache; one of another calibrator than
    :data:`CALIBRATION_ALGORITHM`; one whose record (``<cache>.json``) names another model
    file hash; one that lacks the model's float inputs or whose tensor names are mostly not
    the model's. TensorRT-internal names (``(Unnamed Layer* ...``) are not counted.
    """
    cache, model = Path(path), Path(model_path)
    parsed = read_calibration_cache(cache)
    if parsed.algorithm != CALIBRATION_ALGORITHM:
        raise ConfigError(f"calibration cache {cache} was made by another calibrator "
                          f"({parsed.algorithm}); the TensorRT backend reads "
                          f"{CALIBRATION_ALGORITHM} caches only: {_recalibrate(cache, model)}")
    record = _read_record(cache)
    if record is not None and record.get("model_sha256") != file_sha256(model):
        raise ConfigError(
            f"calibration cache {cache} was made for another model ({record.get('model')!r}, "
            f"sha256 {str(record.get('model_sha256'))[:12]}...) than {model} (its record "
            f"{_record_path(cache)} says so); {_recalibrate(cache, model)}")
    graph = read_onnx(str(model)).graph
    weights = {init.name for init in graph.initializer}
    tensors = {i.name for i in graph.input} | {o for n in graph.node for o in n.output}
    float_inputs = [i.name for i in graph.input if i.name not in weights
                    and i.type.tensor_type.elem_type in _FLOAT_TYPES]
    named = [n for n in parsed.tensors if not n.startswith("(Unnamed Layer")]
    foreign = [n for n in named if n not in tensors]
    problems = []
    missing = [n for n in float_inputs if n not in parsed.tensors]
    if missing:
        problems.append(f"it has no scale for the model's input(s) {missing}")
    if not named:
        problems.append("it lists no tensors")
    elif len(foreign) * 2 > len(named):
        problems.append(f"{len(foreign)} of its {len(named)} tensor names are not tensors of "
                        f"the model (e.g. {foreign[:3]})")
    if problems:
        raise ConfigError(f"calibration cache {cache} does not match the model {model}: "
                          f"{'; '.join(problems)}; {_recalibrate(cache, model)}")
    return parsed


def write_calibration_record(path: str | Path, model_path: str | Path) -> Path:
    """Record next to a calibration cache (``<cache>.json``) the model it was made for."""
    record = _record_path(Path(path))
    model = Path(model_path)
    record.write_text(json.dumps({"model": model.name, "model_sha256": file_sha256(model)},
                                 indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return record


def _record_path(cache: Path) -> Path:
    return Path(str(cache) + ".json")


def _read_record(cache: Path) -> dict[str, object] | None:
    try:
        record = json.loads(_record_path(cache).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _recalibrate(cache: Path, model: Path | None = None) -> str:
    onnx = model if model is not None else "MODEL.onnx"
    return (f"delete {cache} and calibrate again for this model (`tao-pointpillars build-engine "
            f"{onnx} --precision int8 --calib-bag BAG --calib-cache {cache}`), or pass the "
            "cache made for it, or use the Q/DQ model of `tao-pointpillars calibrate` (explicit "
            "int8, no cache)")
