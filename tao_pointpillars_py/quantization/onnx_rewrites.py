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
Function-preserving rewrites of a float ONNX model that let it quantize to int8 well.

Both rewrites leave the model's outputs unchanged (up to float rounding):

- :func:`deconvolutions_as_depth_to_space`: a ConvTranspose whose kernel equals its stride
  (PointPillars' up-sampling blocks) is a 1x1 Conv to ``out * k * k`` channels followed by
  DepthToSpace. ONNX Runtime has no int8 ConvTranspose on CPU; the 1x1 Conv runs as int8.
- :func:`equalize_channels`: cross-layer equalization (Nagel et al., "Data-Free Quantization",
  2019). Between a layer and the convolutions reading its output through ReLU, max-pooling and
  reshaping (all commute with a positive per-channel scale), channel ``c`` is divided by
  ``s_c`` on the producer side and multiplied by ``s_c`` in the consumers' weights. With
  ``s_c = sqrt(r_c / w_c)`` (``r_c`` the channel's activation range over calibration frames,
  ``w_c`` the consumers' weight range for it) both become ``sqrt(r_c * w_c)``, so one
  per-tensor int8 scale fits every channel.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import numpy as np

#: ops between a producer and its consumer convolutions that commute with a positive
#: per-channel scale and keep the channel order (PointPillars: ReLU, the pillar max, scatter)
_SCALE_COMMUTING = {"Relu", "ReduceMax", "Transpose", "ScatterElements", "Slice", "Reshape"}
_CONVOLUTIONS = {"Conv", "ConvTranspose"}


def _attribute(node: Any, name: str, default: Any) -> Any:
    import onnx
    for attribute in node.attribute:
        if attribute.name == name:
            return onnx.helper.get_attribute_value(attribute)
    return default


def _initializers(model: Any) -> dict[str, Any]:
    return {t.name: t for t in model.graph.initializer}


def _array(initializers: Mapping[str, Any], name: str) -> np.ndarray:
    from onnx import numpy_helper
    return numpy_helper.to_array(initializers[name]).copy()


def _store(initializers: Mapping[str, Any], name: str, value: np.ndarray) -> None:
    from onnx import numpy_helper
    initializers[name].CopyFrom(numpy_helper.from_array(value.astype(np.float32), name))


def deconvolutions_as_depth_to_space(model: Any) -> list[str]:
    """
    Replace each ConvTranspose with kernel == stride (no padding, group 1) in place.

    Returns the names of the replaced nodes; the new Conv keeps the name, so ``keep_float``
    lists stay valid.
    """
    import onnx
    graph = model.graph
    initializers = _initializers(model)
    replaced = []
    for index, node in enumerate(list(graph.node)):
        if node.op_type != "ConvTranspose" or node.input[1] not in initializers:
            continue
        kernel = list(_attribute(node, "kernel_shape", []))
        strides = list(_attribute(node, "strides", [1, 1]))
        pads = list(_attribute(node, "pads", [0, 0, 0, 0]))
        output_padding = list(_attribute(node, "output_padding", [0, 0]))
        weight = _array(initializers, node.input[1])  # (in, out, k, k)
        if (weight.ndim != 4 or kernel not in ([], list(weight.shape[2:]))
                or strides != list(weight.shape[2:]) or weight.shape[2] != weight.shape[3]
                or any(pads) or any(output_padding) or _attribute(node, "group", 1) != 1
                or list(_attribute(node, "dilations", [1, 1])) != [1, 1]):
            continue
        channels_in, block = weight.shape[0], weight.shape[2]
        # Conv channel o * k * k + i * k + j is ConvTranspose output (o, i, j): CRD order
        conv_weight = weight.reshape(channels_in, -1).T.reshape(-1, channels_in, 1, 1)
        _store(initializers, node.input[1], conv_weight)
        if len(node.input) > 2 and node.input[2]:
            _store(initializers, node.input[2],
                   np.repeat(_array(initializers, node.input[2]), block * block))
        graph.node.remove(node)
        if block == 1:  # a 1x1 ConvTranspose is a 1x1 Conv
            graph.node.insert(index, onnx.helper.make_node(
                "Conv", list(node.input), list(node.output), name=node.name, kernel_shape=[1, 1]))
        else:
            expanded = node.output[0] + "_before_depth_to_space"
            graph.node.insert(index, onnx.helper.make_node(
                "DepthToSpace", [expanded], [node.output[0]], name=node.name + "_DepthToSpace",
                blocksize=block, mode="CRD"))
            graph.node.insert(index, onnx.helper.make_node(
                "Conv", list(node.input), [expanded], name=node.name, kernel_shape=[1, 1]))
        replaced.append(node.name)
    return replaced


def equalization_pairs(model: Any) -> list[tuple[Any, list[Any]]]:
    """
    Find the (producer, consumer convolutions) pairs that :func:`equalize_channels` rescales.

    A producer is a Gemm / Conv / ConvTranspose with constant weights whose output reaches
    only convolutions' data inputs (and Shape nodes) through scale-commuting ops.
    """
    consumers: dict[str, list[tuple[Any, int]]] = {}
    for node in model.graph.node:
        for position, name in enumerate(node.input):
            consumers.setdefault(name, []).append((node, position))
    initializers = _initializers(model)
    pairs = []
    for producer in model.graph.node:
        if producer.op_type not in _CONVOLUTIONS | {"Gemm"} or \
                producer.input[1] not in initializers:
            continue
        frontier, ends, commutes = [producer.output[0]], [], True
        while frontier and commutes:
            for node, position in consumers.get(frontier.pop(), []):
                data_input = position == 0 or (node.op_type == "ScatterElements" and position == 2)
                if node.op_type == "Shape":
                    continue
                if node.op_type in _CONVOLUTIONS and position == 0 \
                        and node.input[1] in initializers:
                    ends.append(node)
                elif node.op_type in _SCALE_COMMUTING and data_input:
                    frontier.append(node.output[0])
                else:
                    commutes = False
        if commutes and ends:
            pairs.append((producer, ends))
    return pairs


def channel_ranges(model: Any, tensors: Sequence[str],
                   feeds: Iterable[Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Per-channel (axis 1) max |value| of ``tensors`` over ``feeds``, with ONNX Runtime."""
    import onnx
    import onnxruntime as ort
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    for name in tensors:
        probe.graph.output.append(onnx.helper.make_tensor_value_info(
            name, onnx.TensorProto.FLOAT, None))
    session = ort.InferenceSession(probe.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    ranges: dict[str, np.ndarray] = {}
    for feed in feeds:
        for name, value in zip(tensors, session.run(list(tensors), dict(feed))):
            per_channel = np.abs(np.moveaxis(value, 1, 0)).reshape(value.shape[1], -1).max(axis=1)
            ranges[name] = np.maximum(ranges.get(name, per_channel), per_channel)
    return ranges


def equalize_channels(model: Any, feeds: Sequence[Mapping[str, np.ndarray]]
                      ) -> list[tuple[str, float, float]]:
    """
    Cross-layer-equalize ``model`` in place from activation ranges over ``feeds``.

    Returns (producer name, smallest scale, largest scale) per equalized pair.
    """
    initializers = _initializers(model)
    pairs = equalization_pairs(model)
    ranges = channel_ranges(model, sorted({ends[0].input[0] for _, ends in pairs}), feeds)
    summary = []
    for producer, ends in pairs:
        activation = ranges[ends[0].input[0]]
        weight_range = np.zeros_like(activation)
        for consumer in ends:
            weight = _array(initializers, consumer.input[1])
            axis = 1 if consumer.op_type == "Conv" else 0  # input channels
            weight_range = np.maximum(weight_range, np.abs(np.moveaxis(weight, axis, 0)).reshape(
                weight.shape[axis], -1).max(axis=1))
        usable = (activation > 0) & (weight_range > 0)
        scale = np.where(usable, np.sqrt(activation / np.where(usable, weight_range, 1.0)), 1.0)
        _scale_producer(initializers, producer, 1.0 / scale)
        for consumer in ends:
            _scale_channels(initializers, consumer.input[1],
                            1 if consumer.op_type == "Conv" else 0, scale)
        summary.append((producer.name, float(scale.min()), float(scale.max())))
    return summary


def _scale_producer(initializers: Mapping[str, Any], producer: Any, factor: np.ndarray) -> None:
    if producer.op_type == "Gemm":
        axis = 0 if _attribute(producer, "transB", 0) else 1
    else:
        axis = 0 if producer.op_type == "Conv" else 1  # output channels
    _scale_channels(initializers, producer.input[1], axis, factor)
    if len(producer.input) > 2 and producer.input[2]:
        _store(initializers, producer.input[2], _array(initializers, producer.input[2]) * factor)


def _scale_channels(initializers: Mapping[str, Any], name: str, axis: int,
                    factor: np.ndarray) -> None:
    value = _array(initializers, name)
    shape = [1] * value.ndim
    shape[axis] = -1
    _store(initializers, name, value * factor.reshape(shape))
