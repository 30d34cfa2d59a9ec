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
What runs where: backend and precision chosen from a plain request, and the detector built.

:func:`select_runtime` resolves backend ``auto``, the model file (the reference model when
none is given, the ``<stem>.int8.onnx`` Q/DQ model for int8) and the precision, or refuses a
combination this machine cannot run; :func:`build_detector` loads the choice. The node and
``tao-pointpillars detect`` start the same way through both.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from .detector import Detector
from .model_file import default_model_path, int8_model_path
from ..core.config import PostProcessConfig
from ..errors import ConfigError

BACKENDS = ("auto", "onnxruntime", "tensorrt")
PRECISIONS = ("fp32", "fp16", "int8")


@dataclass(frozen=True)
class RuntimeRequest:
    """
    What is asked for: backend (or auto), precision, model and engine files, CPU threads.

    An empty ``model_path`` is the reference model; an empty ``engine_path`` builds (and
    caches) the engine from the model where the backend is TensorRT.
    """

    backend: str = "auto"
    precision: str = "fp32"
    model_path: str = ""
    engine_path: str = ""
    threads: int = 0


@dataclass(frozen=True)
class RuntimeChoice:
    """
    What runs: backend, model (metadata), the file the backend loads, precision, threads.

    ``backend_file`` is the model itself, or a serialized TensorRT engine (``engine_path``).
    """

    backend: str
    model_path: Path
    precision: str
    backend_file: Path
    threads: int = 0

    def backend_options(self) -> dict[str, Any]:
        """Return the backend's options: ONNX Runtime threads, TensorRT precision."""
        if self.backend == "tensorrt":
            return {"precision": self.precision}
        return {"threads": self.threads} if self.threads else {}

    @property
    def device(self) -> str:
        """Name the device the backend runs on: GPU (TensorRT) or CPU."""
        return "GPU" if self.backend == "tensorrt" else "CPU"

    def describe(self) -> str:
        """Say in one line, for the start-up log, what actually runs."""
        loaded = "" if self.backend_file == self.model_path else f", engine {self.backend_file}"
        return (f"backend {self.backend} ({device_of(self.backend)}), precision "
                f"{self.precision}, model {self.model_path}{loaded}")


def device_of(backend: str) -> str:
    """Name the library and device a backend runs on, e.g. "ONNX Runtime on CPU"."""
    route = {"onnxruntime": "ONNX Runtime on CPU", "tensorrt": "TensorRT on GPU"}
    return route.get(backend, backend)


def _int8_model(model: Path, backend: str) -> Path:
    """Find the Q/DQ model next to ``model`` (``<stem>.int8.onnx``) that int8 runs."""
    int8_model = int8_model_path(model)
    if not int8_model.is_file():
        raise ConfigError(
            f"precision int8 on {backend} needs the int8 Q/DQ model {int8_model} next to "
            f"{model.name}; it is not there: make it with `tao-pointpillars calibrate --model "
            f"{model} --bag BAG`"
            + (", or set engine_path to an int8 engine from `tao-pointpillars build-engine`"
               if backend == "tensorrt" else "") + ", or use precision fp32")
    return int8_model


def _model_file(model_path: str) -> Path:
    model = Path(model_path) if model_path else default_model_path()
    if not model.is_file():
        what = "is a directory, not a file" if model.is_dir() else "does not exist"
        raise ConfigError(f"model_path {model} {what}; set model_path to an ONNX model "
                          "(e.g. the reference models/pointpillars_zvision.onnx)")
    return model


def _engine_file(engine: Path, backend: str, model: Path) -> Path:
    if backend != "tensorrt":
        raise ConfigError(f"engine_path {engine} is a TensorRT engine, but the backend is "
                          f"{backend} (TensorRT needs a GPU and the tensorrt and pycuda "
                          "modules); clear engine_path to run model_path on ONNX Runtime")
    if not engine.is_file():
        raise ConfigError(f"engine_path {engine} does not exist; build it with "
                          f"`tao-pointpillars build-engine {model} --out {engine}`, or clear "
                          "engine_path to build and cache one from model_path")
    return engine


def select_runtime(request: RuntimeRequest, available_backends: Sequence[str]) -> RuntimeChoice:
    """
    Resolve backend "auto", the model file and the precision, or refuse the combination.

    auto is TensorRT where it is importable with a GPU, else ONNX Runtime. int8 runs the Q/DQ
    model next to the fp32 one (``<stem>.int8.onnx``) on either backend (TensorRT builds it
    as explicit int8); fp16 needs TensorRT; ``engine_path`` needs TensorRT.
    """
    model = _model_file(request.model_path)
    backend = request.backend
    if backend == "auto":
        backend = "tensorrt" if "tensorrt" in available_backends else "onnxruntime"
    if backend not in available_backends:
        raise ConfigError(f"backend {backend} is not available on this machine (available: "
                          f"{list(available_backends)}); set backend to auto or onnxruntime")
    engine = (_engine_file(Path(request.engine_path), backend, model) if request.engine_path
              else None)
    if backend == "onnxruntime" and request.precision == "fp16":
        raise ConfigError("precision fp16 needs backend tensorrt (a GPU); ONNX Runtime on "
                          "CPU runs fp32 or int8")
    if request.precision == "int8" and engine is None:
        model = _int8_model(model, backend)
    return RuntimeChoice(backend, model, request.precision, engine or model, request.threads)


def check_class_names(configured: Sequence[str], model_classes: Sequence[str],
                      model_path: str | Path) -> None:
    """Refuse class_names that differ from the model's classes (names and order)."""
    if tuple(configured) != tuple(model_classes):
        raise ConfigError(
            f"class_names {list(configured)} do not match the classes of {model_path}: "
            f"{list(model_classes)}; set class_names to {list(model_classes)} (same order) "
            "or load the model trained for your classes")


def adopt_class_names(detector: Detector, class_names: Sequence[str],
                      model_path: str | Path) -> None:
    """Name the classes of a model that carries no names (a TAO export) ``class_names``."""
    model_classes = detector.config.num_classes
    if len(class_names) != model_classes:
        raise ConfigError(
            f"{model_path} carries no class names and has {model_classes} classes "
            f"({', '.join(detector.config.class_names)}), but class_names has "
            f"{len(class_names)}: {list(class_names)}; set class_names to {model_classes} names "
            "in the order the model was trained with")
    detector.config = detector.config.with_class_names(class_names)


def build_detector(runtime: RuntimeChoice, post: PostProcessConfig,
                   intensity_range: Sequence[float], class_names: Sequence[str]) -> Detector:
    """
    Load the chosen model on its backend, with its classes named.

    A model that carries class names must be given exactly those (:func:`check_class_names`);
    one that carries none (a TAO export) takes ``class_names``, one name per class.
    """
    detector = Detector.from_model(
        str(runtime.model_path), runtime.backend, post=post, intensity_range=intensity_range,
        backend_file=str(runtime.backend_file), backend_options=runtime.backend_options())
    if detector.class_names_known:
        check_class_names(class_names, detector.config.class_names, runtime.model_path)
    else:
        adopt_class_names(detector, class_names, runtime.model_path)
    return detector
