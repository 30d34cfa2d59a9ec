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

"""ONNX Runtime backend (CPU): the default where no GPU / TensorRT is present."""

from __future__ import annotations

from typing import Mapping

import numpy as np

from ..errors import ModelLoadError

_NUMPY_OF_ORT = {"tensor(float)": np.float32, "tensor(int32)": np.int32,
                 "tensor(int64)": np.int64, "tensor(float16)": np.float16}


class OnnxRuntimeBackend:
    """One ``onnxruntime.InferenceSession`` on the CPU execution provider."""

    name = "onnxruntime"

    def __init__(self, model_path: str, threads: int | None = None) -> None:
        import onnxruntime as ort  # lazily: the core imports without it

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = int(threads)
            options.inter_op_num_threads = 1
        try:
            self._session = ort.InferenceSession(model_path, sess_options=options,
                                                 providers=["CPUExecutionProvider"])
        except Exception as exc:  # ORT raises its own Fail/InvalidGraph/NoSuchFile types
            raise ModelLoadError(f"ONNX Runtime cannot load {model_path!r}: {exc}") from exc
        inputs = self._session.get_inputs()
        self.input_names = tuple(i.name for i in inputs)
        self.output_names = tuple(o.name for o in self._session.get_outputs())
        self._dtypes = {i.name: _NUMPY_OF_ORT.get(i.type, np.float32) for i in inputs}
        self._shapes = {i.name: tuple(i.shape) for i in inputs}

    def infer(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        feed = {}
        for name in self.input_names:
            value = np.ascontiguousarray(inputs[name], dtype=self._dtypes[name])
            expected = self._shapes[name]
            if len(expected) != value.ndim or any(
                    isinstance(e, int) and e != g for e, g in zip(expected, value.shape)):
                raise ModelLoadError(
                    f"input {name} has shape {value.shape}, the model expects {expected}")
            feed[name] = value
        outputs = self._session.run(list(self.output_names), feed)
        return dict(zip(self.output_names, outputs))
