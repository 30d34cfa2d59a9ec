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
Explicit int8 (Q/DQ) models with ONNX Runtime's static quantizer, checked for TensorRT's rules.

The result is a QDQ ONNX model: symmetric int8 (zero points 0) activations and per-channel int8
weights, which ONNX Runtime runs on CPU and TensorRT 8.6 / 10.x builds as an explicit int8
engine. The source model's metadata is carried over, with the calibration's provenance added
under ``calibration.*``.

Before calibration the float model is rewritten without changing its outputs
(:mod:`.onnx_rewrites`): up-sampling ConvTransposes become 1x1 Conv + DepthToSpace (int8 on
ONNX Runtime's CPU kernels) and channels are cross-layer equalized. PointPillars' bird's-eye
features are sparse and long-tailed (median non-zero value ~0.1, maximum ~26 on the
reference model), which per-tensor int8 cannot hold without both.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
import tempfile
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .onnx_rewrites import deconvolutions_as_depth_to_space, equalize_channels
from ..errors import ConfigError

CALIBRATION_METHODS = ("minmax", "entropy", "percentile")
#: chosen by measurement on the reference model (models/README.md, "int8"): clipping the
#: rarest 0.01 % of each activation keeps the small values that carry most pillars
DEFAULT_METHOD = "percentile"
DEFAULT_PERCENTILE = 99.99
#: operators quantized by default: the convolutions carry nearly all of the network's compute
DEFAULT_OP_TYPES = ("Conv",)


def quantize_model(source: str | Path, target: str | Path, inputs: Sequence[Mapping[str, Any]],
                   method: str = DEFAULT_METHOD, keep_float: Iterable[str] = (),
                   op_types: Sequence[str] = DEFAULT_OP_TYPES,
                   provenance: Mapping[str, str] | None = None,
                   percentile: float = DEFAULT_PERCENTILE, equalize: bool = True) -> list[str]:
    """
    Write the Q/DQ int8 version of ``source`` to ``target``; return its quantized nodes.

    ``inputs`` are calibration feeds (model inputs by name); ``keep_float`` names nodes of
    the source model to leave in float (e.g. the first backbone layer or the head);
    ``percentile`` applies to the percentile method; ``equalize`` turns the cross-layer
    equalization on.
    """
    import onnx
    _check_options(method, percentile, inputs)
    keep_float = list(keep_float)
    with tempfile.TemporaryDirectory() as scratch:
        prepared = prepare_for_quantization(source, Path(scratch) / "prepared.onnx", inputs,
                                            equalize)
        node_names = [n.name for n in onnx.load(str(prepared)).graph.node]
        unknown = sorted(set(keep_float) - set(node_names))
        if unknown:
            raise ConfigError(f"--keep-float names {unknown} are not nodes of the model; "
                              f"quantizable ones: {quantizable_nodes(prepared, op_types)}")
        _quantize_prepared(prepared, target, inputs, method, op_types,
                           nodes_to_exclude=keep_float, percentile=percentile)
    model = onnx.load(str(target))
    props = {p.key: p.value for p in onnx.load(str(source)).metadata_props}
    if method == "percentile":
        props["calibration.percentile"] = repr(percentile)
    props.update({"calibration.method": method, "calibration.frames": str(len(inputs)),
                  "calibration.equalized": str(equalize).lower(),
                  "calibration.date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
                  "calibration.keep_float": ",".join(sorted(keep_float)),
                  "calibration.op_types": ",".join(op_types), **(provenance or {})})
    del model.metadata_props[:]
    onnx.helper.set_model_props(model, props)
    onnx.save(model, str(target))
    problems = qdq_problems(model)
    if problems:
        raise ConfigError(f"{target} is not a symmetric per-channel int8 Q/DQ model: "
                          + "; ".join(problems))
    return sorted({n.name for n in model.graph.node if n.op_type == "DequantizeLinear"})


def _check_options(method: str, percentile: float, inputs: Sequence[Any]) -> None:
    if method not in CALIBRATION_METHODS:
        raise ConfigError(f"calibration method must be one of {CALIBRATION_METHODS}, got "
                          f"{method!r}")
    if not 50.0 < percentile <= 100.0:
        raise ConfigError(f"percentile must be in (50, 100], got {percentile}")
    if not inputs:
        raise ConfigError("no calibration frames; pass bags with clouds")


def prepare_for_quantization(source: str | Path, prepared: str | Path,
                             inputs: Sequence[Mapping[str, Any]] = (),
                             equalize: bool = True) -> Path:
    """
    Write the float model that Q/DQ nodes are placed into; same outputs as ``source``.

    BatchNormalization is folded into the convolutions and shapes are inferred (ONNX
    Runtime's pre-processing), ConvTranspose up-sampling becomes Conv + DepthToSpace, and
    with ``equalize`` channels are equalized over ``inputs``; the rewrites are checked to
    keep the outputs of the first frames.
    """
    import onnx
    from onnxruntime.quantization import quant_pre_process

    quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
    model = onnx.load(str(prepared))
    deconvolutions_as_depth_to_space(model)
    if equalize and inputs:
        equalize_channels(model, inputs)
    onnx.save(model, str(prepared))
    if inputs:
        _check_same_outputs(source, prepared, inputs[:2])
    return Path(prepared)


def _check_same_outputs(source: str | Path, rewritten: str | Path,
                        probes: Sequence[Mapping[str, Any]]) -> None:
    import onnxruntime as ort
    sessions = [ort.InferenceSession(str(p), providers=["CPUExecutionProvider"])
                for p in (source, rewritten)]
    for probe in probes:
        for name, a, b in zip([o.name for o in sessions[0].get_outputs()],
                              sessions[0].run(None, dict(probe)),
                              sessions[1].run(None, dict(probe))):
            error = float(np.max(np.abs(a - b))) if a.size else 0.0
            if error > 1e-3 * max(1.0, float(np.max(np.abs(a)))):
                raise ConfigError(f"rewriting the model for int8 changed output {name} by "
                                  f"{error:.3g}; quantize without equalization "
                                  "(--no-equalize) and report this model")


def _quantize_prepared(prepared: Path, target: str | Path, inputs: Sequence[Mapping[str, Any]],
                       method: str, op_types: Sequence[str],
                       nodes_to_quantize: Sequence[str] | None = None,
                       nodes_to_exclude: Sequence[str] = (),
                       percentile: float = DEFAULT_PERCENTILE) -> None:
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod,
                                          QuantFormat, QuantType, quantize_static)

    class Feeds(CalibrationDataReader):  # type: ignore[misc]

        def __init__(self) -> None:
            self._feeds = iter(inputs)

        def get_next(self) -> Any:
            return next(self._feeds, None)

    extra_options: dict[str, Any] = {
        "ActivationSymmetric": True, "WeightSymmetric": True, "CalibPercentile": percentile,
        # TensorRT wants float biases next to int8 weights, not int32 Q/DQ
        "QuantizeBias": False}
    calibrate_method = {"minmax": CalibrationMethod.MinMax,
                        "entropy": CalibrationMethod.MinMax,
                        "percentile": CalibrationMethod.Percentile}[method]
    if method == "entropy":
        # quantize_static's entropy calibrator keeps ONNX Runtime's default of 128 histogram
        # bins for 128 quantized bins: one candidate threshold, the full range, i.e. minmax.
        # The ranges are computed here with a 2048-bin histogram and passed as overrides.
        extra_options["TensorQuantOverrides"] = _entropy_ranges(prepared, Feeds(), op_types)
    quantize_static(
        str(prepared), str(target), Feeds(), quant_format=QuantFormat.QDQ,
        activation_type=QuantType.QInt8, weight_type=QuantType.QInt8, per_channel=True,
        calibrate_method=calibrate_method, op_types_to_quantize=list(op_types),
        nodes_to_quantize=nodes_to_quantize, nodes_to_exclude=list(nodes_to_exclude),
        extra_options=extra_options)


def _entropy_ranges(prepared: Path, feeds: Any, op_types: Sequence[str]
                    ) -> dict[str, list[dict[str, Any]]]:
    """KL-divergence (TensorRT-style entropy) ranges of the activations, as rmin/rmax overrides."""
    from onnxruntime.quantization.calibrate import CalibrationMethod, create_calibrator

    with tempfile.TemporaryDirectory() as scratch:
        calibrator = create_calibrator(
            str(prepared), list(op_types), str(Path(scratch) / "augmented.onnx"),
            calibrate_method=CalibrationMethod.Entropy,
            extra_options={"symmetric": True, "num_bins": 2048, "num_quantized_bins": 128})
        calibrator.collect_data(feeds)
        ranges = calibrator.compute_data()
    overrides = {}
    for name in ranges:
        low, high = ranges[name].range_value
        bound = np.float32(max(abs(float(low)), abs(float(high)), 1e-8))
        overrides[name] = [{"rmin": -bound, "rmax": bound}]
    return overrides


def layer_sensitivity(source: str | Path, inputs: Sequence[Mapping[str, Any]],
                      probes: Sequence[Mapping[str, Any]], method: str = DEFAULT_METHOD,
                      op_types: Sequence[str] = DEFAULT_OP_TYPES,
                      percentile: float = DEFAULT_PERCENTILE, equalize: bool = True
                      ) -> list[tuple[str, dict[str, float]]]:
    """
    Output SQNR [dB] per model output with each quantizable node alone quantized.

    ``inputs`` calibrate, ``probes`` are compared against the float model; a low SQNR marks a
    node to keep in float (``--keep-float``). Infinite SQNR: the node does not change the
    outputs at all.
    """
    import onnxruntime as ort
    _check_options(method, percentile, inputs)
    reference = ort.InferenceSession(str(source), providers=["CPUExecutionProvider"])
    expected = [reference.run(None, dict(p)) for p in probes]
    names = [o.name for o in reference.get_outputs()]
    table = []
    with tempfile.TemporaryDirectory() as scratch:
        prepared = prepare_for_quantization(source, Path(scratch) / "prepared.onnx", inputs,
                                            equalize)
        for node in quantizable_nodes(prepared, op_types):
            single = Path(scratch) / "single.onnx"
            _quantize_prepared(prepared, single, inputs, method, op_types,
                               nodes_to_quantize=[node], percentile=percentile)
            session = ort.InferenceSession(str(single), providers=["CPUExecutionProvider"])
            signal = dict.fromkeys(names, 0.0)
            noise = dict.fromkeys(names, 0.0)
            for probe, reference_outputs in zip(probes, expected):
                for name, a, b in zip(names, reference_outputs, session.run(None, dict(probe))):
                    signal[name] += float(np.square(a, dtype=np.float64).sum())
                    noise[name] += float(np.square(a - b, dtype=np.float64).sum())
            table.append((node, {name: (float("inf") if noise[name] == 0 else
                                        10.0 * float(np.log10(signal[name] / noise[name])))
                                 for name in names}))
    return table


def quantizable_nodes(model_path: str | Path, op_types: Sequence[str] = DEFAULT_OP_TYPES
                      ) -> list[str]:
    """Names of the nodes of ``op_types`` in a model, in graph order."""
    import onnx
    return [n.name for n in onnx.load(str(model_path)).graph.node if n.op_type in op_types]


def qdq_problems(model: Any) -> list[str]:
    """
    List what keeps a Q/DQ model from symmetric int8 with per-channel weights (TensorRT's form).

    Checks every QuantizeLinear / DequantizeLinear: zero point all 0 and of type int8; the
    DequantizeLinear of each weight initializer has one scale per output channel.
    """
    from onnx import numpy_helper, TensorProto
    graph = model.graph
    constants = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    problems = []
    qdq = [n for n in graph.node if n.op_type in ("QuantizeLinear", "DequantizeLinear")]
    if not qdq:
        return ["no QuantizeLinear / DequantizeLinear nodes"]
    types = {t.name: t.data_type for t in graph.initializer}
    for node in qdq:
        if len(node.input) < 3 or node.input[2] not in constants:
            problems.append(f"{node.name}: no constant zero point")
            continue
        zero_point = constants[node.input[2]]
        if types.get(node.input[2]) != TensorProto.INT8:
            problems.append(f"{node.name}: zero point is not int8")
        if np.any(zero_point != 0):
            problems.append(f"{node.name}: zero point is not 0 (asymmetric)")
        source = node.input[0]
        if node.op_type == "DequantizeLinear" and source in constants:
            weight = constants[source]
            scale = constants.get(node.input[1])
            # per-channel along the DQ's axis: 0 for Conv weights, 1 for ConvTranspose
            axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
            if weight.ndim >= 2 and (scale is None or scale.size != weight.shape[axis]):
                problems.append(f"{node.name}: weight {source} is not quantized per channel")
    return problems
