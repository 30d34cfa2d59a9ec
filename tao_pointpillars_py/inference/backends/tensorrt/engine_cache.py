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
Cache of serialized TensorRT engines, keyed so that a stale engine is rebuilt, never loaded.

An engine is only valid for the model bytes, precision, TensorRT version and GPU it was built
with (and, for implicit int8, the calibration cache). All of these go into the key; the key's
digest names the file and a JSON sidecar records the fields, so a mismatch can be explained.
ROS-free and TensorRT-free: the backend supplies the version and device fields.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
import hashlib
import json
from pathlib import Path

from ....errors import ConfigError

ENGINE_PRECISIONS = ("fp32", "fp16", "int8")


@dataclass(frozen=True)
class EngineKey:
    """Everything a serialized engine depends on."""

    model_sha256: str  # model.file_sha256 of the ONNX file
    precision: str
    tensorrt_version: str
    device_name: str
    compute_capability: str
    calibration_sha256: str = ""

    def __post_init__(self) -> None:
        if self.precision not in ENGINE_PRECISIONS:
            raise ConfigError(f"engine precision must be one of {ENGINE_PRECISIONS}, got "
                              f"{self.precision!r}")

    def digest(self) -> str:
        """16 hex digits over every field."""
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def differences(self, other: EngineKey) -> list[str]:
        """Fields that differ, as "name: ours != theirs" (why a cached engine is stale)."""
        return [f"{f.name}: {getattr(self, f.name)!r} != {getattr(other, f.name)!r}"
                for f in fields(self) if getattr(self, f.name) != getattr(other, f.name)]


def engine_path(cache_dir: str | Path, model_path: str | Path, key: EngineKey) -> Path:
    """``<cache_dir>/<model stem>.<precision>.<digest>.engine``."""
    stem = Path(model_path).name.removesuffix(".onnx")
    return Path(cache_dir) / f"{stem}.{key.precision}.{key.digest()}.engine"


def write_key(engine: str | Path, key: EngineKey) -> Path:
    """Write the key's fields next to an engine (``<engine>.json``); return that path."""
    sidecar = Path(str(engine) + ".json")
    sidecar.write_text(json.dumps(asdict(key), indent=2, sort_keys=True) + "\n",
                       encoding="utf-8")
    return sidecar


def read_key(engine: str | Path) -> EngineKey | None:
    """Read the key recorded next to an engine; None when there is none or it is unreadable."""
    sidecar = Path(str(engine) + ".json")
    try:
        return EngineKey(**json.loads(sidecar.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def check_engine_here(engine: str | Path, key: EngineKey, tensorrt_version: str,
                      device_name: str, compute_capability: str) -> None:
    """
    Refuse an engine whose key names another TensorRT version or GPU than the given ones.

    ConfigError naming the engine, the fields that differ (engine != here) and how to get an
    engine for this machine; the model, precision and calibration fields are not compared.
    """
    here = replace(key, tensorrt_version=tensorrt_version, device_name=device_name,
                   compute_capability=compute_capability)
    differences = key.differences(here)
    if differences:
        raise ConfigError(
            f"engine {engine} was built elsewhere ({'; '.join(differences)}: engine != this "
            "machine) and TensorRT engines only run where they were built: rebuild it here "
            f"with `tao-pointpillars build-engine MODEL.onnx --precision {key.precision} --out "
            f"{engine}`, or load the .onnx model instead (node: clear engine_path) so that the "
            "engine cache builds one")
