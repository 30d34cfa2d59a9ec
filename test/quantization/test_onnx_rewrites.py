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

"""Tests of quantization.onnx_rewrites: each rewrite keeps the model's outputs."""

from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto
import onnxruntime as ort
import pytest

from tao_pointpillars_py.quantization.onnx_rewrites import (channel_ranges,
                                                            deconvolutions_as_depth_to_space,
                                                            equalization_pairs, equalize_channels)
from tao_pointpillars_py.quantization.quantize import prepare_for_quantization

REFERENCE_MODEL = Path(__file__).resolve().parents[2] / "models" / "pointpillars_zvision.onnx"


def _model(nodes, weights, output_channels=2):
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 5, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(v.astype(np.float32), k)
                     for k, v in weights.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def _run(model, x):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


def _feeds(count, seed=0):
    rng = np.random.default_rng(seed)
    return [{"x": rng.normal(size=(1, 4, 5, 6)).astype(np.float32)} for _ in range(count)]


@pytest.mark.parametrize("block", [1, 2, 4])
def test_deconvolution_becomes_conv_and_depth_to_space_with_the_same_outputs(block):
    rng = np.random.default_rng(block)
    model = _model(
        [helper.make_node("ConvTranspose", ["x", "w", "b"], ["up"], name="deconv",
                          kernel_shape=[block, block], strides=[block, block]),
         helper.make_node("Relu", ["up"], ["y"])],
        {"w": rng.normal(size=(4, 3, block, block)), "b": rng.normal(size=3)})
    x = _feeds(1)[0]["x"]
    before = _run(model, x)
    assert deconvolutions_as_depth_to_space(model) == ["deconv"]
    ops = [n.op_type for n in model.graph.node]
    assert "ConvTranspose" not in ops and ("DepthToSpace" in ops) == (block > 1)
    assert next(n for n in model.graph.node if n.op_type == "Conv").name == "deconv"
    np.testing.assert_allclose(_run(model, x), before, rtol=1e-5, atol=1e-5)


def test_overlapping_deconvolutions_are_left_alone():
    rng = np.random.default_rng(0)
    model = _model([helper.make_node("ConvTranspose", ["x", "w"], ["y"], kernel_shape=[3, 3],
                                     strides=[2, 2])], {"w": rng.normal(size=(4, 3, 3, 3))})
    assert deconvolutions_as_depth_to_space(model) == []
    assert [n.op_type for n in model.graph.node] == ["ConvTranspose"]


def _two_convs(spread):
    """Conv -> ReLU -> Conv whose first conv's output channels differ by ``spread`` in size."""
    rng = np.random.default_rng(1)
    first = rng.normal(size=(6, 4, 3, 3)) * np.geomspace(1.0, spread, 6)[:, None, None, None]
    return _model(
        [helper.make_node("Conv", ["x", "w1", "b1"], ["a"], name="first", pads=[1, 1, 1, 1]),
         helper.make_node("Relu", ["a"], ["r"]),
         helper.make_node("Conv", ["r", "w2"], ["y"], name="second")],
        {"w1": first, "b1": rng.normal(size=6), "w2": rng.normal(size=(2, 6, 1, 1))})


def test_equalization_keeps_outputs_and_evens_out_channel_ranges():
    model = _two_convs(spread=100.0)
    feeds = _feeds(4)
    before = [_run(model, f["x"]) for f in feeds]
    ranges_before = channel_ranges(model, ["r"], feeds)["r"]
    summary = equalize_channels(model, feeds)
    assert [name for name, _, _ in summary] == ["first"]
    for feed, expected in zip(feeds, before):
        np.testing.assert_allclose(_run(model, feed["x"]), expected, rtol=1e-4, atol=1e-4)
    ranges_after = channel_ranges(model, ["r"], feeds)["r"]
    spread = lambda r: r.max() / r.min()  # noqa: E731
    assert spread(ranges_before) > 50 and spread(ranges_after) < spread(ranges_before) / 5


def test_a_producer_feeding_a_non_commuting_op_is_not_equalized():
    model = _two_convs(spread=10.0)
    model.graph.node.append(helper.make_node("Add", ["a", "a"], ["extra"]))
    model.graph.output.append(helper.make_tensor_value_info("extra", TensorProto.FLOAT, None))
    assert equalization_pairs(model) == []


def test_reference_model_prepared_for_int8_keeps_its_outputs(tmp_path):
    from tao_pointpillars_py.inference.detector import Detector
    rng = np.random.default_rng(3)
    detector = Detector.from_model(str(REFERENCE_MODEL))
    clouds = [np.c_[rng.uniform(0, 40, (3000, 1)), rng.uniform(-25, 25, (3000, 1)),
                    rng.uniform(-2, 1, (3000, 1)), rng.uniform(0, 255, (3000, 1))]
              for _ in range(3)]
    feeds = [{k: v.copy() for k, v in detector.model_inputs(c.astype(np.float32)).items()}
             for c in clouds]
    prepared = prepare_for_quantization(REFERENCE_MODEL, tmp_path / "p.onnx", feeds)
    ops = [n.op_type for n in onnx.load(str(prepared)).graph.node]
    assert "ConvTranspose" not in ops and ops.count("DepthToSpace") == 2
    a = ort.InferenceSession(str(REFERENCE_MODEL), providers=["CPUExecutionProvider"])
    b = ort.InferenceSession(str(prepared), providers=["CPUExecutionProvider"])
    for x, y in zip(a.run(None, feeds[2]), b.run(None, feeds[2])):
        np.testing.assert_allclose(y, x, rtol=1e-3, atol=1e-3 * np.abs(x).max())
