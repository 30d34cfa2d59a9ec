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

"""Tests of backends.ort_int8: the rewrites, their numerics and the ORT backend."""

import logging
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto
import onnxruntime as ort
import pytest

from tao_pointpillars_py.inference.backends import ort_int8
from tao_pointpillars_py.inference.backends.onnxruntime_backend import OnnxRuntimeBackend
from tao_pointpillars_py.inference.backends.ort_int8 import lower_for_cpu
from tao_pointpillars_py.inference.detector import Detector
from tao_pointpillars_py.inference.model_file import file_sha256, is_qdq_model
from tao_pointpillars_py.sim import simulate_frame

MODELS = Path(__file__).resolve().parents[2] / "models"
SCALE = 0.05


def _model(nodes, inputs, outputs, initializers) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def _constant(name, value):
    return numpy_helper.from_array(np.asarray(value), name)


def _qdq(source, target, scale="s", zero="z"):
    """Symmetric int8 QuantizeLinear -> DequantizeLinear from ``source`` to ``target``."""
    return [helper.make_node("QuantizeLinear", [source, scale, zero], [target + "_q"]),
            helper.make_node("DequantizeLinear", [target + "_q", scale, zero], [target])]


def _float(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def _run(model, **feeds):
    session = ort.InferenceSession(model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    return session.run(None, feeds)[0]


def _lowered(model):
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    return copy, lower_for_cpu(copy)


SYMMETRIC = [_constant("s", np.float32(SCALE)), _constant("z", np.int8(0))]


def test_relu_between_layers_becomes_one_uint8_rounding_on_the_same_grid():
    # x -> Q/DQ -> Relu -> Q/DQ -> y: what a quantized conv's output feeding the next one is
    nodes = (_qdq("x", "a") + [helper.make_node("Relu", ["a"], ["r"])] + _qdq("r", "y"))
    model = _model(nodes, [_float("x", [64])], [_float("y", [64])], SYMMETRIC)
    lowered, done = _lowered(model)
    assert done.relus_folded == 1 and done.int8_heads == 0
    assert [n.op_type for n in lowered.graph.node] == ["QuantizeLinear", "DequantizeLinear"]
    x = np.linspace(-200 * SCALE, 200 * SCALE, 64, dtype=np.float32)
    stored, cpu = _run(model, x=x), _run(lowered, x=x)
    np.testing.assert_array_equal(cpu, np.clip(np.rint(x / SCALE), 0, 255) * SCALE)
    inside = x < 127 * SCALE  # below int8's saturation both are the same numbers
    np.testing.assert_array_equal(cpu[inside], stored[inside])
    assert cpu.max() > stored.max()  # above it, uint8 keeps going to 255 steps


def test_relu_feeding_a_float_op_keeps_its_pair_in_uint8():
    nodes = _qdq("x", "a") + [helper.make_node("Relu", ["a"], ["r"]),
                              helper.make_node("Neg", ["r"], ["y"])]
    model = _model(nodes, [_float("x", [32])], [_float("y", [32])], SYMMETRIC)
    lowered, done = _lowered(model)
    assert done.relus_folded == 1
    assert [n.op_type for n in lowered.graph.node] == ["QuantizeLinear", "DequantizeLinear",
                                                       "Neg"]
    x = np.linspace(-100 * SCALE, 100 * SCALE, 32, dtype=np.float32)
    np.testing.assert_array_equal(_run(lowered, x=x), _run(model, x=x))


def test_depth_to_space_runs_on_uint8_before_the_dequantize():
    nodes = _qdq("x", "a") + [helper.make_node("DepthToSpace", ["a"], ["d"], blocksize=2,
                                               mode="CRD"),
                              helper.make_node("Relu", ["d"], ["y"])]
    model = _model(nodes, [_float("x", [1, 8, 3, 4])], [_float("y", [1, 2, 6, 8])], SYMMETRIC)
    lowered, done = _lowered(model)
    assert done.depth_to_space_uint8 == 1 and done.relus_folded == 0
    assert [n.op_type for n in lowered.graph.node] == ["QuantizeLinear", "DepthToSpace",
                                                       "DequantizeLinear"]
    x = np.random.default_rng(0).uniform(-100 * SCALE, 100 * SCALE, (1, 8, 3, 4))
    x = x.astype(np.float32)
    np.testing.assert_array_equal(_run(lowered, x=x), _run(model, x=x))


def _head_model(channels=(3, 5), outputs=6, up_sampled=(), seed=0):
    """
    Q/DQ + ReLU branches concatenated into a float 1x1 Conv: the detection head.

    Branches whose index is in ``up_sampled`` go through a DepthToSpace (CRD, block 2) before
    their ReLU, as the up-sampling does. Returns the model, feeds, weight (O, C) and bias.
    """
    rng = np.random.default_rng(seed)
    weight = rng.normal(size=(outputs, sum(channels), 1, 1)).astype(np.float32)
    bias = rng.normal(size=outputs).astype(np.float32)
    nodes, branches, inputs, feeds = [], [], [], {}
    for index, depth in enumerate(channels):
        nodes += _qdq(f"x{index}", f"a{index}")
        source = f"a{index}"
        shape = [1, depth, 4, 6]
        if index in up_sampled:
            nodes.append(helper.make_node("DepthToSpace", [source], [f"d{index}"], blocksize=2,
                                          mode="CRD"))
            source, shape = f"d{index}", [1, depth * 4, 2, 3]
        nodes.append(helper.make_node("Relu", [source], [f"r{index}"]))
        branches.append(f"r{index}")
        inputs.append(_float(f"x{index}", shape))
        feeds[f"x{index}"] = rng.uniform(-50 * SCALE, 120 * SCALE, shape).astype(np.float32)
    nodes += [helper.make_node("Concat", branches, ["c"], axis=1),
              helper.make_node("Conv", ["c", "w", "b"], ["y"], kernel_shape=[1, 1])]
    model = _model(nodes, inputs, [_float("y", [1, outputs, 4, 6])],
                   SYMMETRIC + [_constant("w", weight), _constant("b", bias)])
    return model, feeds, weight[:, :, 0, 0], bias


def _depth_to_space_crd(x, block=2):
    n, c, h, w = x.shape
    depth = c // (block * block)
    moved = x.reshape(n, depth, block, block, h, w).transpose(0, 1, 4, 2, 5, 3)
    return moved.reshape(n, depth, h * block, w * block)


@pytest.mark.parametrize("up_sampled", [(), (0,), (0, 2)])
def test_pointwise_head_over_uint8_branches_becomes_int8_matmuls(up_sampled):
    channels = (3, 5, 2)
    model, feeds, weight, bias = _head_model(channels, up_sampled=up_sampled)
    lowered, done = _lowered(model)
    assert done.int8_heads == 1 and done.depth_to_space_uint8 == len(up_sampled)
    assert done.relus_folded == len(channels) - len(up_sampled)
    types = [n.op_type for n in lowered.graph.node]
    assert "Conv" not in types and "DepthToSpace" not in types
    assert "c" not in {name for n in lowered.graph.node for name in n.output}  # the Concat
    assert types.count("MatMulIntegerToFloat") == len(channels)
    # reference: each branch's uint8 values (up-sampled where it is), weights per-channel
    # symmetric int8, products summed in float
    branches = []
    for index in range(len(channels)):
        values = np.clip(np.rint(feeds[f"x{index}"] / SCALE), 0, 255) * SCALE
        branches.append(_depth_to_space_crd(values) if index in up_sampled else values)
    inputs = np.concatenate(branches, axis=1)
    scale = np.abs(weight).max(axis=1) / 127.0
    quantized = np.clip(np.rint(weight / scale[:, None]), -127, 127) * scale[:, None]
    expected = np.einsum("oc,nchw->nohw", quantized, inputs) + bias[None, :, None, None]
    got = _run(lowered, **feeds)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)
    stored = _run(model, **feeds)  # float head: only the weights' rounding separates them
    assert np.abs(got - stored).max() < 0.02 * np.abs(stored).max()


def test_other_graphs_are_left_alone():
    float_model = _model([helper.make_node("Relu", ["x"], ["y"])], [_float("x", [4])],
                         [_float("y", [4])], [])
    assert not is_qdq_model(float_model)
    lowered, done = _lowered(float_model)
    assert (done.relus_folded, done.depth_to_space_uint8, done.int8_heads) == (0, 0, 0)
    assert lowered == float_model
    # asymmetric (zero point 3) and already-unsigned pairs are not TensorRT's form: untouched
    for zero in (np.int8(3), np.uint8(0)):
        nodes = _qdq("x", "a") + [helper.make_node("Relu", ["a"], ["y"])]
        model = _model(nodes, [_float("x", [4])], [_float("y", [4])],
                       [_constant("s", np.float32(SCALE)), _constant("z", zero)])
        assert is_qdq_model(model)
        assert _lowered(model)[1].relus_folded == 0


def test_reference_int8_model_runs_in_its_cpu_form_and_the_file_is_unchanged():
    path = MODELS / "pointpillars_zvision.int8.onnx"
    digest = file_sha256(path)
    cpu = Detector.from_model(str(path), backend_options={"threads": 1})
    stored = Detector.from_model(str(path),
                                 backend_options={"threads": 1, "int8_lowering": False})
    fp32 = Detector.from_model(str(MODELS / "pointpillars_zvision.onnx"),
                               backend_options={"threads": 1})
    assert stored.backend.int8_lowering is None and fp32.backend.int8_lowering is None
    done = cpu.backend.int8_lowering
    assert (done.relus_folded, done.depth_to_space_uint8, done.int8_heads) == (15, 2, 3)
    assert cpu.backend.describe() == done.describe() and done.describe().startswith("15 ReLUs")
    assert stored.backend.describe() == fp32.backend.describe() == ""
    assert file_sha256(path) == digest
    # the confident detections of fp32 are all there in the CPU form
    for seed in (21, 22, 23):
        points = simulate_frame(seed, 0).points
        reference, got = fp32.detect(points), cpu.detect(points)
        confident = reference.boxes[reference.scores >= 0.6, :3]
        assert len(confident) > 0 and abs(len(got.scores) - len(reference.scores)) <= 2
        for centre in confident:
            assert np.min(np.linalg.norm(got.boxes[:, :3] - centre, axis=1)) < 0.3


def test_backend_runs_the_stored_model_when_the_rewrite_fails(monkeypatch, caplog):
    def broken(model):
        raise ValueError("unexpected graph")

    monkeypatch.setattr(ort_int8, "lower_for_cpu", broken)
    monkeypatch.setattr(
        "tao_pointpillars_py.inference.backends.onnxruntime_backend.lower_for_cpu", broken)
    path = MODELS / "pointpillars_zvision.int8.onnx"
    with caplog.at_level(logging.WARNING):
        backend = OnnxRuntimeBackend(str(path), threads=1)
    assert (f"{path}: running the Q/DQ model as stored, its CPU int8 form failed (unexpected "
            "graph)") in caplog.text
    assert backend.int8_lowering is None and "cls_preds" in backend.output_names
