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

"""Tests of quantization.quantize: Q/DQ structure, metadata, accuracy on a tiny network."""

import numpy as np
import onnx
from onnx import numpy_helper, TensorProto
from onnx_fixtures import export_tiny_network, tiny_network_clouds, TINY_NETWORK_CONFIG
import onnxruntime as ort
import pytest

pytest.importorskip("torch", reason="the tiny network is exported with the [train] extra")

from tao_pointpillars_py.errors import ConfigError  # noqa: E402
from tao_pointpillars_py.inference.detector import Detector  # noqa: E402
from tao_pointpillars_py.quantization.quantize import (layer_sensitivity,  # noqa: E402
                                                       prepare_for_quantization, qdq_problems,
                                                       quantizable_nodes, quantize_model)

CONFIG = TINY_NETWORK_CONFIG
_clouds = tiny_network_clouds


@pytest.fixture(scope="module")
def quantized(tmp_path_factory):
    folder = tmp_path_factory.mktemp("quantize")
    fp32 = export_tiny_network(folder / "tiny.onnx", {"training.seed": "7"})
    detector = Detector.from_model(str(fp32))
    feeds = [{k: v.copy() for k, v in detector.model_inputs(c).items()} for c in _clouds(8)]
    int8 = folder / "tiny.int8.onnx"
    nodes = quantize_model(fp32, int8, feeds, method="minmax",
                           provenance={"calibration.bags": "a,b"})
    return fp32, int8, nodes, detector


def test_int8_model_is_symmetric_per_channel_qdq(quantized):
    _, int8, nodes, _ = quantized
    model = onnx.load(str(int8))
    assert qdq_problems(model) == [] and nodes
    constants = {t.name: t for t in model.graph.initializer}
    zero_points = [constants[n.input[2]] for n in model.graph.node
                   if n.op_type in ("QuantizeLinear", "DequantizeLinear")]
    assert zero_points and all(z.data_type == TensorProto.INT8 for z in zero_points)
    assert all(not numpy_helper.to_array(z).any() for z in zero_points)
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    weights = [constants[n.input[1]] if n.input[1] in constants else None for n in convs]
    assert convs and all(w is None for w in weights)  # every conv weight comes through a DQ


def test_int8_model_keeps_metadata_and_adds_provenance(quantized):
    fp32, int8, _, _ = quantized
    source = {p.key: p.value for p in onnx.load(str(fp32)).metadata_props}
    props = {p.key: p.value for p in onnx.load(str(int8)).metadata_props}
    assert {k: props[k] for k in source} == source
    assert props["calibration.method"] == "minmax" and props["calibration.frames"] == "8"
    assert props["calibration.bags"] == "a,b" and len(props["calibration.date"]) == 10
    assert Detector.from_model(str(int8)).config == CONFIG


def test_int8_outputs_stay_close_to_fp32(quantized):
    fp32, int8, _, detector = quantized
    feeds = detector.model_inputs(_clouds(1, seed=5)[0])
    a = ort.InferenceSession(str(fp32), providers=["CPUExecutionProvider"]).run(None, feeds)
    b = ort.InferenceSession(str(int8), providers=["CPUExecutionProvider"]).run(None, feeds)
    for x, y in zip(a, b):
        assert np.abs(x - y).max() <= 0.1 * np.abs(x).max() + 1e-3


def test_keep_float_leaves_named_convs_in_float(quantized, tmp_path):
    fp32, _, _, detector = quantized
    feeds = [detector.model_inputs(_clouds(1)[0])]
    first = quantizable_nodes(fp32)[0]
    out = tmp_path / "keep.onnx"
    quantize_model(fp32, out, feeds, keep_float=[first])
    model = onnx.load(str(out))
    kept = next(n for n in model.graph.node if n.name == first)
    producers = {o: n.op_type for n in model.graph.node for o in n.output}
    assert producers.get(kept.input[0]) != "DequantizeLinear"
    with pytest.raises(ConfigError, match="not nodes of the model"):
        quantize_model(fp32, tmp_path / "x.onnx", feeds, keep_float=["no_such_node"])


def test_asymmetric_zero_points_are_reported():
    from onnx import helper
    graph = helper.make_graph(
        [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], name="q0")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("q", TensorProto.UINT8, [1])],
        initializer=[numpy_helper.from_array(np.array(0.1, np.float32), "s"),
                     numpy_helper.from_array(np.array(3, np.uint8), "z")])
    problems = qdq_problems(helper.make_model(graph))
    assert "q0: zero point is not int8" in problems
    assert "q0: zero point is not 0 (asymmetric)" in problems


def test_layer_sensitivity_has_a_row_per_quantizable_layer(quantized, tmp_path):
    fp32, _, _, detector = quantized
    feeds = [{k: v.copy() for k, v in detector.model_inputs(c).items()} for c in _clouds(3)]
    table = layer_sensitivity(fp32, feeds, feeds[:2])
    prepared = prepare_for_quantization(fp32, tmp_path / "prepared.onnx")
    assert [node for node, _ in table] == quantizable_nodes(prepared)
    for _, sqnr in table:
        assert set(sqnr) == {"cls_preds", "box_preds", "dir_cls_preds"}
        assert all(value > 5.0 for value in sqnr.values())


def test_up_sampling_is_quantized_as_conv_and_depth_to_space(quantized):
    _, int8, _, _ = quantized
    model = onnx.load(str(int8))
    producers = {o: n for n in model.graph.node for o in n.output}
    ops = [n.op_type for n in model.graph.node]
    assert "ConvTranspose" not in ops and "DepthToSpace" in ops
    for shuffle in (n for n in model.graph.node if n.op_type == "DepthToSpace"):
        source = producers[shuffle.input[0]]
        while source.op_type in ("QuantizeLinear", "DequantizeLinear"):
            source = producers[source.input[0]]
        assert source.op_type == "Conv"
        assert producers[source.input[1]].op_type == "DequantizeLinear"  # int8 weights


def test_transposed_convolution_weights_are_checked_along_their_channel_axis():
    from onnx import helper
    weight = np.ones((4, 3, 2, 2), np.int8)  # ConvTranspose: (in, out, k, k)
    graph = helper.make_graph(
        [helper.make_node("DequantizeLinear", ["w", "s", "z"], ["wf"], name="dq", axis=1)],
        "g", [], [helper.make_tensor_value_info("wf", TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(weight, "w"),
                     numpy_helper.from_array(np.full(3, 0.1, np.float32), "s"),
                     numpy_helper.from_array(np.zeros(3, np.int8), "z")])
    assert qdq_problems(helper.make_model(graph)) == []
    graph.node[0].attribute[0].i = 0  # per output channel of a Conv: 4 scales expected
    assert qdq_problems(helper.make_model(graph)) == ["dq: weight w is not quantized per channel"]
