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

import logging
from typing import Any, Mapping

import numpy as np

from .ort_int8 import CpuLowering, lower_for_cpu
from ..model_file import is_qdq_model
from ...errors import ModelLoadError

LOG = logging.getLogger(__name__)

_NUMPY_OF_ORT = {"tensor(float)": np.float32, "tensor(int32)": np.int32,
                 "tensor(int64)": np.int64, "tensor(float16)": np.float16}


class OnnxRuntimeBackend:
    """
    One ``onnxruntime.InferenceSession`` on the CPU execution provider.

    ``model`` is an ONNX file's path or a serialized model (bytes, e.g. a TAO model converted
    in memory); ``source`` names it in messages (default: the path, or "the in-memory model").
    A Q/DQ int8 model runs in its CPU form (:mod:`.ort_int8`) unless ``int8_lowering`` is
    False, which runs it as stored (TensorRT's numerics, slower on CPU); ``int8_lowering``
    then tells what was rewritten (None: nothing).
    """

    name = "onnxruntime"

    def __init__(self, model: str | bytes, threads: int | None = None,
                 int8_lowering: bool = True, source: str | None = None) -> None:
        import onnxruntime as ort  # lazily: the core imports without it

        if not isinstance(model, bytes):
            model = str(model)  # a Path works too
        self.source = source or (model if isinstance(model, str) else "the in-memory model")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = int(threads)
            options.inter_op_num_threads = 1
        self.int8_lowering: CpuLowering | None = None
        self._session: Any = None
        if int8_lowering:
            self._session = self._lowered_session(model, options)
        if self._session is None:
            try:
                self._session = ort.InferenceSession(model, sess_options=options,
                                                     providers=["CPUExecutionProvider"])
            except Exception as exc:  # ORT raises its own Fail/InvalidGraph/NoSuchFile types
                what = repr(model) if isinstance(model, str) else self.source
                raise ModelLoadError(f"ONNX Runtime cannot load {what}: {exc}") from exc
        inputs = self._session.get_inputs()
        self.input_names = tuple(i.name for i in inputs)
        self.output_names = tuple(o.name for o in self._session.get_outputs())
        self._dtypes = {i.name: _NUMPY_OF_ORT.get(i.type, np.float32) for i in inputs}
        #: input name -> shape; a symbolic (or unknown) axis is a string
        self.input_shapes: dict[str, tuple[int | str, ...]] = {
            i.name: tuple(d if isinstance(d, int) else str(d) for d in i.shape)
            for i in inputs}

    def _lowered_session(self, model: str | bytes, options: Any) -> Any:
        """Open a session on the CPU form of a Q/DQ model; None for other models or on failure."""
        import onnx
        import onnxruntime as ort
        try:
            proto = onnx.load(model) if isinstance(model, str) else onnx.load_from_string(model)
        except Exception:  # not ONNX: the plain load below says so
            return None
        if not is_qdq_model(proto):
            return None
        try:
            lowering = lower_for_cpu(proto)
            session = ort.InferenceSession(proto.SerializeToString(), sess_options=options,
                                           providers=["CPUExecutionProvider"])
        except Exception as exc:  # a model the rewrites do not expect: run it as stored
            LOG.warning("%s: running the Q/DQ model as stored, its CPU int8 form failed (%s)",
                        self.source, exc)
            return None
        self.int8_lowering = lowering
        return session

    def describe(self) -> str:
        """Say how a Q/DQ model was rewritten for the CPU ("" when it runs as stored)."""
        return "" if self.int8_lowering is None else self.int8_lowering.describe()

    def infer(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        feed = {}
        for name in self.input_names:
            value = np.ascontiguousarray(inputs[name], dtype=self._dtypes[name])
            expected = self.input_shapes[name]
            if len(expected) != value.ndim or any(
                    isinstance(e, int) and e != g for e, g in zip(expected, value.shape)):
                raise ModelLoadError(
                    f"input {name} has shape {value.shape}, the model expects {expected}")
            feed[name] = value
        outputs = self._session.run(list(self.output_names), feed)
        return dict(zip(self.output_names, outputs))
