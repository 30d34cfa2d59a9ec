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
Inference backends behind one interface (:class:`Backend`), chosen by name.

May import: core, inference and the base modules; heavy libraries (onnx, onnxruntime,
tensorrt, pycuda) are imported inside each backend.
"""

from __future__ import annotations

import importlib
from typing import Any, Mapping, Protocol

import numpy as np

from ...errors import ConfigError

__all__ = ["available_backends", "Backend", "create_backend", "REGISTRY", "tensorrt_available"]


class Backend(Protocol):
    """Runs one model at batch 1: named numpy inputs in, named numpy outputs out."""

    name: str
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]

    def infer(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run one frame's inputs and return the outputs by name."""
        ...

    def describe(self) -> str:
        """Say what the backend changed in the model to run it here ("" when nothing)."""
        ...


#: backend name -> "module:class" (imported only when chosen)
REGISTRY: dict[str, str] = {
    "onnxruntime": "onnxruntime_backend:OnnxRuntimeBackend",
    "tensorrt": "tensorrt.backend:TensorRTBackend",
}


def tensorrt_available() -> bool:
    """
    Tell whether the TensorRT backend can run here: tensorrt and pycuda import, a GPU exists.

    Never raises: a missing package, a missing CUDA driver or no device all give False.
    """
    try:
        import pycuda.driver as cuda
        import tensorrt  # noqa: F401  (imported only to see that it loads)

        cuda.init()
        return int(cuda.Device.count()) > 0
    except Exception:  # ImportError, OSError (libnvinfer), pycuda's driver errors, ...
        return False


def available_backends() -> list[str]:
    """Backends that can run on this machine: ONNX Runtime always, TensorRT with a GPU."""
    return ["onnxruntime"] + (["tensorrt"] if tensorrt_available() else [])


def create_backend(name: str, model_path: str, **options: Any) -> Backend:
    """Instantiate the backend registered as ``name`` for ``model_path``."""
    if name not in REGISTRY:
        raise ConfigError(f"unknown backend {name!r}; choose one of {sorted(REGISTRY)}")
    module_name, class_name = REGISTRY[name].split(":")
    module = importlib.import_module(f"{__name__}.{module_name}")
    backend: Backend = getattr(module, class_name)(model_path, **options)
    return backend
