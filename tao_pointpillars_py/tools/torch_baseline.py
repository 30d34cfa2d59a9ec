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
The PyTorch eager network of a native model, as a backend: the benchmarks' baseline.

Built from the model's own config; the weights are the network's initial ones (the ONNX export
folds most BatchNorms into anonymous convolution weights, which do not map back exactly), so
its outputs are for timing only. torch is imported only when one is built (the [train] extra).
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np

from ..core.config import ModelConfig
from ..core.pointcloud2 import DRIVER_INTENSITY_RANGE
from ..errors import ConfigError
from ..inference.detector import Detector
from ..inference.model_file import load_model_info, ModelContract, NATIVE_INPUTS, NATIVE_OUTPUTS

__all__ = ["TorchBackend", "torch_detector", "torch_importable"]


class TorchBackend:
    """The PyTorch network of a native model, eager, on the CPU, as a :class:`Backend`."""

    name: str = "torch"
    input_names: tuple[str, ...] = NATIVE_INPUTS
    output_names: tuple[str, ...] = NATIVE_OUTPUTS

    def __init__(self, config: ModelConfig, threads: int = 1, seed: int = 0) -> None:
        import torch

        from ..training.network import PointPillarsNet

        torch.set_num_threads(int(threads))
        torch.manual_seed(seed)
        self._torch = torch
        self._net = PointPillarsNet(config).eval()

    def describe(self) -> str:
        """Say what changed in the model to run it here: nothing, it is the network itself."""
        return ""

    def infer(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run one frame's inputs and return the outputs by name."""
        torch = self._torch
        tensors = [torch.from_numpy(np.ascontiguousarray(inputs[n])) for n in self.input_names]
        with torch.inference_mode():
            outputs = self._net(*tensors)
        return {name: t.numpy() for name, t in zip(self.output_names, outputs)}


def torch_detector(model: str | Path, threads: int = 1) -> Detector:
    """Give a detector that runs the PyTorch network of ``model`` (see :class:`TorchBackend`)."""
    info = load_model_info(str(model))
    if info.contract is not ModelContract.NATIVE:
        raise ConfigError(f"{model} is a TAO model; the PyTorch network is that of this "
                          "package's native models")
    return Detector(info.config, TorchBackend(info.config, threads), None,
                    DRIVER_INTENSITY_RANGE, info.contract, info.dynamic_pillars)


def torch_importable() -> bool:
    """Tell whether torch imports here (the [train] extra)."""
    try:
        import torch  # noqa: F401  (imported only to see that it loads)
    except ImportError:
        return False
    return True
