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
The ONNX Runtime CPU form of a symmetric int8 Q/DQ model: same calibrated grid, int8 kernels.

The stored Q/DQ model is TensorRT's form: symmetric int8 activations, zero point 0. ONNX
Runtime's CPU kernels cannot fold a ReLU into such a QuantizeLinear, so every layer pays a
float ``DequantizeLinear -> Relu -> QuantizeLinear`` round trip, and they leave float the
1x1 detection heads that calibration keeps out of int8 (their outputs are the box residuals
themselves, which int8 cannot hold). Three rewrites of the in-memory model, made when ONNX
Runtime loads it (the file is unchanged; TensorRT gets it as stored):

1. **ReLU into uint8.** A ``Q -> DQ -> Relu`` chain becomes ``Q -> DQ`` in uint8 with the same
   scale and zero point 0: uint8's clamp at 0 is the ReLU. The grid is the calibrated one;
   only values that int8 saturates at 127 steps now reach 255. Where the ReLU fed nothing but
   the next layer's QuantizeLinear, that one takes the pre-ReLU tensor: one rounding, not two.
2. **DepthToSpace in uint8.** ``Q -> DQ -> DepthToSpace -> Relu`` (up-sampling written as
   1x1 Conv + DepthToSpace) becomes ``Q -> DepthToSpace -> DQ`` in uint8: a permutation
   commutes with a per-tensor DequantizeLinear, and the ReLU folds as in 1.
3. **int8 heads.** A 1x1 Conv over a Concat of uint8 tensors (after 1 and 2) becomes one
   ``MatMulIntegerToFloat`` per concatenated branch, each on that branch's own uint8 values
   and scale (nothing is re-quantized), with the weights quantized per output channel,
   symmetric int8, and the products summed in float: int8 arithmetic, float outputs. The
   matmuls read channels-last data; a DepthToSpace in front of them is done in that layout.

Each rewrite matches conservatively and leaves anything else alone. The accuracy of the result
is what ``tao-pointpillars precision-report`` measures for ONNX Runtime int8.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

#: name of the uint8 zero point the rewrites share
UINT8_ZERO_POINT = "cpu_int8/zero_point_uint8"


@dataclass
class CpuLowering:
    """What :func:`lower_for_cpu` rewrote."""

    relus_folded: int = 0
    depth_to_space_uint8: int = 0
    int8_heads: int = 0

    def describe(self) -> str:
        return (f"{self.relus_folded} ReLUs folded into uint8, {self.depth_to_space_uint8} "
                f"DepthToSpace in uint8, {self.int8_heads} 1x1 heads as int8 matmuls")


def lower_for_cpu(model: Any) -> CpuLowering:
    """Rewrite a symmetric Q/DQ ``onnx.ModelProto`` in place for ONNX Runtime's CPU kernels."""
    graph = _Graph(model)
    done = CpuLowering()
    done.depth_to_space_uint8 = graph.depth_to_space_in_uint8()
    done.relus_folded = graph.fold_relus_into_uint8()
    done.int8_heads = graph.int8_pointwise_heads(model)
    graph.finish()
    return done


class _Graph:
    """The rewrites over one graph, with the lookups they share."""

    def __init__(self, model: Any) -> None:
        from onnx import numpy_helper
        self.graph = model.graph
        # one wrapper per node, held: protobuf may hand out a new wrapper on every access
        self.nodes = list(self.graph.node)
        self.constants = {t.name: numpy_helper.to_array(t) for t in self.graph.initializer}
        self.removed: set[int] = set()
        self.added: list[Any] = []
        self._zero_point_added = False
        self._nhwc: dict[str, str] = {}

    def _nodes(self) -> list[Any]:
        return [n for n in self.nodes + self.added if id(n) not in self.removed]

    def _index(self) -> tuple[dict[str, Any], dict[str, list[Any]]]:
        producers: dict[str, Any] = {}
        consumers: dict[str, list[Any]] = {}
        for node in self._nodes():
            for name in node.output:
                producers[name] = node
            for name in node.input:
                consumers.setdefault(name, []).append(node)
        return producers, consumers

    def _initializer(self, name: str, value: np.ndarray) -> str:
        from onnx import numpy_helper
        self.graph.initializer.append(numpy_helper.from_array(value, name))
        self.constants[name] = value
        return name

    def _uint8_zero(self) -> str:
        if not self._zero_point_added:
            self._initializer(UINT8_ZERO_POINT, np.array(0, dtype=np.uint8))
            self._zero_point_added = True
        return UINT8_ZERO_POINT

    def _symmetric_int8(self, node: Any) -> bool:
        """Tell whether a Q or DQ is per-tensor with an int8 zero point of 0 (the stored form)."""
        if len(node.input) < 3:
            return False
        scale = self.constants.get(node.input[1])
        zero = self.constants.get(node.input[2])
        return (scale is not None and scale.size == 1 and zero is not None
                and zero.dtype == np.int8 and zero.size == 1 and int(zero.reshape(())) == 0)

    def _pair_before(self, name: str, producers: dict[str, Any],
                     consumers: dict[str, list[Any]]) -> tuple[Any, Any] | None:
        """Find the symmetric ``Q -> DQ`` pair that produces ``name`` for one reader only."""
        dequantize = producers.get(name)
        if dequantize is None or dequantize.op_type != "DequantizeLinear":
            return None
        quantize = producers.get(dequantize.input[0])
        if (quantize is None or quantize.op_type != "QuantizeLinear"
                or len(consumers.get(quantize.output[0], [])) != 1
                or len(consumers.get(dequantize.output[0], [])) != 1
                or not self._symmetric_int8(quantize) or not self._symmetric_int8(dequantize)
                or quantize.input[1] != dequantize.input[1]):
            return None
        return quantize, dequantize

    def depth_to_space_in_uint8(self) -> int:
        producers, consumers = self._index()
        count = 0
        for space in [n for n in self._nodes() if n.op_type == "DepthToSpace"]:
            pair = self._pair_before(space.input[0], producers, consumers)
            readers = consumers.get(space.output[0], [])
            if pair is None or len(readers) != 1 or readers[0].op_type != "Relu":
                continue
            quantize, dequantize = pair
            relu = readers[0]
            quantize.input[2] = dequantize.input[2] = self._uint8_zero()
            space.input[0] = quantize.output[0]
            space.output[0] = space.output[0] + "/uint8"
            dequantize.input[0] = space.output[0]
            dequantize.output[0] = relu.output[0]
            self.removed.add(id(relu))
            count += 1
        return count

    def fold_relus_into_uint8(self) -> int:
        producers, consumers = self._index()
        count = 0
        for relu in [n for n in self._nodes() if n.op_type == "Relu"]:
            pair = self._pair_before(relu.input[0], producers, consumers)
            readers = consumers.get(relu.output[0], [])
            if pair is None or not readers:
                continue
            quantize, dequantize = pair
            dequantized = [d for q in readers for d in consumers.get(q.output[0], [])]
            if (all(r.op_type == "QuantizeLinear" and self._symmetric_int8(r) for r in readers)
                    and len({r.input[1] for r in readers}) == 1
                    and all(d.op_type == "DequantizeLinear" for d in dequantized)):
                # the ReLU only fed the next layer's input: quantize the pre-ReLU tensor once
                kept = readers[0]
                kept.input[0] = quantize.input[0]
                kept.input[2] = self._uint8_zero()
                for reader in dequantized:
                    reader.input[0] = kept.output[0]
                    reader.input[2] = self._uint8_zero()
                self.removed.update({id(r) for r in readers[1:]})
                self.removed.update({id(quantize), id(dequantize)})
            else:
                quantize.input[2] = dequantize.input[2] = self._uint8_zero()
                dequantize.output[0] = relu.output[0]
            self.removed.add(id(relu))
            count += 1
        return count

    def int8_pointwise_heads(self, model: Any) -> int:
        producers, _ = self._index()
        channels = self._channels(model)
        count = 0
        for conv in [n for n in self._nodes() if n.op_type == "Conv"]:
            branches = self._uint8_concat_branches(conv, producers, channels)
            if branches is not None:
                self._replace_with_matmuls(conv, branches, producers, channels)
                count += 1
        if count and not any(o.domain == "com.microsoft" for o in model.opset_import):
            from onnx import helper
            model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
        return count

    def _channels(self, model: Any) -> dict[str, int]:
        """Channel count (axis 1) of each 4D tensor that shape inference can tell."""
        import onnx
        probe = onnx.ModelProto()
        probe.CopyFrom(model)
        del probe.graph.node[:]
        probe.graph.node.extend([_copy(n, onnx.NodeProto)
                                 for n in _topological(self._nodes(), probe.graph)])
        del probe.graph.value_info[:]
        try:
            inferred = onnx.shape_inference.infer_shapes(probe)
        except Exception:  # an op shape inference does not know: no shapes, no head rewrite
            return {}
        channels = {}
        for info in inferred.graph.value_info:
            dims = info.type.tensor_type.shape.dim
            if len(dims) == 4 and dims[1].HasField("dim_value"):
                channels[info.name] = int(dims[1].dim_value)
        return channels

    def _uint8_concat_branches(self, conv: Any, producers: dict[str, Any],
                               channels: dict[str, int]) -> list[tuple[Any, int]] | None:
        """List the (uint8 DequantizeLinear, channels) branches of a 1x1 Conv over a Concat."""
        weight = self.constants.get(conv.input[1])
        attributes = _attributes(conv)
        if (weight is None or weight.ndim != 4 or weight.shape[2:] != (1, 1)
                or weight.dtype != np.float32 or _ints(attributes, "group", [1]) != [1]
                or any(v != 1 for v in _ints(attributes, "strides", [1]))
                or any(v != 0 for v in _ints(attributes, "pads", [0]))
                or (len(conv.input) > 2 and conv.input[2] not in self.constants)):
            return None
        concat = producers.get(conv.input[0])
        if concat is None or concat.op_type != "Concat" or _ints(
                _attributes(concat), "axis", [0]) not in ([1], [-3]):
            return None
        branches = []
        for name in concat.input:
            dequantize = producers.get(name)
            if (dequantize is None or dequantize.op_type != "DequantizeLinear"
                    or len(dequantize.input) < 3 or dequantize.input[2] != UINT8_ZERO_POINT
                    or self.constants[dequantize.input[1]].size != 1 or name not in channels):
                return None
            branches.append((dequantize, channels[name]))
        if sum(c for _, c in branches) != weight.shape[1]:
            return None
        return branches

    def _replace_with_matmuls(self, conv: Any, branches: list[tuple[Any, int]],
                              producers: dict[str, Any], channels: dict[str, int]) -> None:
        from onnx import helper
        weight = self.constants[conv.input[1]][:, :, 0, 0]
        outputs = weight.shape[0]
        scale = (np.abs(weight).max(axis=1) / 127.0).astype(np.float32)
        scale[scale == 0] = 1.0
        quantized = np.clip(np.rint(weight / scale[:, None]), -127, 127).astype(np.int8)
        bias = (self.constants[conv.input[2]].astype(np.float32) if len(conv.input) > 2
                else np.zeros(outputs, np.float32))
        prefix = f"cpu_int8/{conv.name or conv.output[0]}"
        weight_scale = self._initializer(f"{prefix}/weight_scale", scale)
        weight_zero = self._initializer(f"{prefix}/weight_zero_point",
                                        np.zeros(outputs, np.int8))
        bias_name = self._initializer(f"{prefix}/bias", bias)
        start = 0
        total = ""
        for index, (dequantize, count) in enumerate(branches):
            weights = self._initializer(f"{prefix}/weight_{index}", np.ascontiguousarray(
                quantized[:, start:start + count].T))
            start += count
            nhwc = self._channels_last(dequantize.input[0], producers, channels)
            product = f"{prefix}/matmul_{index}"
            self.added.append(helper.make_node(
                "MatMulIntegerToFloat",
                [nhwc, weights, dequantize.input[1], weight_scale, dequantize.input[2],
                 weight_zero] + ([bias_name] if index == 0 else []),
                [product], domain="com.microsoft", name=product))
            if total:
                summed = f"{prefix}/sum_{index}"
                self.added.append(helper.make_node("Add", [total, product], [summed],
                                                   name=summed))
                product = summed
            total = product
        # back to NCHW: ONNX Runtime cancels this against the heads' own NHWC transpose
        self.added.append(helper.make_node("Transpose", [total], [conv.output[0]],
                                           perm=[0, 3, 1, 2], name=f"{prefix}/nchw"))
        self.removed.add(id(conv))

    def _channels_last(self, name: str, producers: dict[str, Any],
                       channels: dict[str, int]) -> str:
        """
        Give the uint8 NCHW tensor ``name`` as NHWC, made once for all heads that read it.

        A DepthToSpace (CRD) behind it is done in NHWC instead, as two single-axis moves that
        ONNX Runtime copies in blocks; the transpose of its input to NHWC cancels against the
        NCHW output transpose of ONNX Runtime's own NHWC int8 convolution before it.
        """
        from onnx import helper
        if name in self._nhwc:
            return self._nhwc[name]
        out = f"cpu_int8/{name}/nhwc"
        space = producers.get(name)
        attributes = _attributes(space) if space is not None else {}
        mode = attributes["mode"].s.decode() if "mode" in attributes else "DCR"
        if (space is None or space.op_type != "DepthToSpace" or mode != "CRD"
                or name not in channels):
            self.added.append(helper.make_node("Transpose", [name], [out], perm=[0, 2, 3, 1],
                                               name=out))
        else:
            block = int(attributes["blocksize"].i)
            depth = channels[name]
            step = f"cpu_int8/{name}/depth_to_space"
            constant = {
                "split": np.array([0, 0, 0, depth, block * block], np.int64),
                "rows": np.array([0, 0, 0, block, block * depth], np.int64),
                "start": np.array([0], np.int64), "one": np.array([1], np.int64),
                "three": np.array([3], np.int64), "block": np.array([block, block], np.int64),
                "depth": np.array([depth], np.int64)}
            c = {k: self._initializer(f"{step}/constant_{k}", v) for k, v in constant.items()}
            self.added += [
                helper.make_node("Transpose", [space.input[0]], [f"{step}/nhwc"],
                                 perm=[0, 2, 3, 1]),
                # (N, H, W, C, b*b) -> (N, H, W, b*b, C) = (N, H, W, b, b*C)
                helper.make_node("Reshape", [f"{step}/nhwc", c["split"]], [f"{step}/split"]),
                helper.make_node("Transpose", [f"{step}/split"], [f"{step}/sub_pixels"],
                                 perm=[0, 1, 2, 4, 3]),
                helper.make_node("Reshape", [f"{step}/sub_pixels", c["rows"]],
                                 [f"{step}/rows"]),
                # (N, H, W, b, b*C) -> (N, H, b, W, b*C) = (N, H*b, W*b, C)
                helper.make_node("Transpose", [f"{step}/rows"], [f"{step}/moved"],
                                 perm=[0, 1, 3, 2, 4]),
                helper.make_node("Shape", [f"{step}/nhwc"], [f"{step}/shape"]),
                helper.make_node("Slice", [f"{step}/shape", c["start"], c["one"]],
                                 [f"{step}/n"]),
                helper.make_node("Slice", [f"{step}/shape", c["one"], c["three"]],
                                 [f"{step}/hw"]),
                helper.make_node("Mul", [f"{step}/hw", c["block"]], [f"{step}/hw_out"]),
                helper.make_node("Concat", [f"{step}/n", f"{step}/hw_out", c["depth"]],
                                 [f"{step}/target"], axis=0),
                helper.make_node("Reshape", [f"{step}/moved", f"{step}/target"], [out])]
        self._nhwc[name] = out
        return out

    def finish(self) -> None:
        """Drop nodes that nothing reads any more and restore topological order."""
        outputs = {o.name for o in self.graph.output}
        nodes = self._nodes()
        while True:
            read = {name for n in nodes for name in n.input} | outputs
            alive = [n for n in nodes if any(o in read for o in n.output)]
            if len(alive) == len(nodes):
                break
            nodes = alive
        import onnx
        ordered = [_copy(n, onnx.NodeProto) for n in _topological(nodes, self.graph)]
        del self.graph.node[:]
        self.graph.node.extend(ordered)
        read = {name for n in ordered for name in n.input} | outputs
        unread = [t for t in self.graph.initializer if t.name not in read]
        for tensor in unread:  # ONNX Runtime warns about each one
            self.graph.initializer.remove(tensor)
        del self.graph.value_info[:]  # element types changed (int8 -> uint8)


def _copy(message: Any, kind: Any) -> Any:
    copy = kind()
    copy.CopyFrom(message)
    return copy


def _attributes(node: Any) -> dict[str, Any]:
    return {a.name: a for a in node.attribute}


def _ints(attributes: dict[str, Any], name: str, default: list[int]) -> list[int]:
    attribute = attributes.get(name)
    if attribute is None:
        return default
    return list(attribute.ints) if attribute.ints else [int(attribute.i)]


def _topological(nodes: list[Any], graph: Any) -> list[Any]:
    available = {i.name for i in graph.input} | {t.name for t in graph.initializer} | {""}
    ordered: list[Any] = []
    pending = list(nodes)
    while pending:
        ready = [n for n in pending if all(name in available for name in n.input)]
        if not ready:
            raise ValueError("the rewritten graph has a cycle or an input that nothing produces")
        for node in ready:
            ordered.append(node)
            available.update(node.output)
        placed = {id(n) for n in ready}
        pending = [n for n in pending if id(n) not in placed]
    return ordered
