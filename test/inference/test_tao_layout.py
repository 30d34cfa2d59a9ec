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
Tests of tao_pointpillars_py.inference.tao_layout on the reference model (real ONNX, real ORT).

The plugin facts below are written here from the TensorRT OSS sources (NVIDIA/TensorRT @
a892d22267d9cd2dedc1a0893e6892ac901f6d3d), not imported from the module under test:

* Op types (the creator's name, which the ONNX parser looks the creator up by; domain "" and
  plugin version "1" as TAO's ``simplifier_onnx.py`` writes them):
  ``VoxelGeneratorPlugin`` voxelGenerator.cpp:34-35, ``PillarScatterPlugin``
  pillarScatter.cpp:26-27, ``DecodeBbox3DPlugin`` decodeBbox3D.cpp:35-36.
* Attribute names and field types, as each creator declares them (``getFieldNames``):
  voxelGenerator.cpp:412-416, pillarScatter.cpp:216, decodeBbox3D.cpp:377-383.
* How ``createPlugin`` reads them (``static_cast`` to the C++ type, no check of the field's
  type, so an INTS attribute where floats are read is taken as float bits):
  voxelGenerator.cpp:452-483 (``max_num_points_per_voxel`` int32 :454-455, ``max_voxels``
  int32 :459-460, ``point_cloud_range`` 6 floats :464-470, ``voxel_feature_num`` int32
  :474-475, ``voxel_size`` 3 floats :479-482); pillarScatter.cpp:245-253 (``dense_shape``
  required, two int32 ``targetH = ts[0]; targetW = ts[1]``); decodeBbox3D.cpp:424-467
  (``point_cloud_range`` 6 floats :426-430, ``anchors`` all floats :434-438,
  ``anchor_bottom_height`` all floats :442-446, ``dir_offset`` float :450-451,
  ``dir_limit_offset`` float :455-456, ``num_dir_bins`` int32 :460-461, ``score_thresh``
  float :465-466), with ``anchors`` = 4 numbers x 2 per class checked at decodeBbox3D.cpp:56.
* ONNX attribute type -> PluginField type in the parser's fallback importer (onnx/onnx-tensorrt
  onnxOpImporters.cpp:6135-6158): FLOAT/FLOATS -> kFLOAT32, INT/INTS -> kINT32.
* Tensors: VoxelGenerator in ``points`` float32 [B, M, 4], ``num_points`` int32 [B]
  (voxelGenerator.cpp:178-185), out [B, V, P, 10], [B, V, 4] int32, [B] int32 (:131-160);
  PillarScatter in [B, V, 64] (64 = ``PILLAR_FEATURE_SIZE``, pillarScatterKernels.cu:27), out
  [B, C, dense_shape[0], dense_shape[1]] (pillarScatter.cpp:63-67); DecodeBbox3D in NHWC heads
  with H = dims[1], W = dims[2] (decodeBbox3D.cpp:211-212), out [B, H*W*2*K, 9] and int32 [B]
  (:144-155, :284); head channel offsets ``loc*K*A + a*K + k`` etc.
  (decodeBbox3DKernels.cu:79, :95-96); anchor centres ``min + col * (max - min) / (W - 1)``
  (decodeBbox3DKernels.cu:77-78).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import AttributeProto, helper, TensorProto
from onnx_fixtures import REFERENCE_MODEL
import onnxruntime as ort
import pytest

from tao_pointpillars_py.core.anchors import generate_anchors
from tao_pointpillars_py.core.config import ModelConfig, PillarConfig
from tao_pointpillars_py.errors import ConfigError, ModelLoadError
from tao_pointpillars_py.inference import tao_layout
from tao_pointpillars_py.inference.detector import Detector
from tao_pointpillars_py.inference.tao_layout import (anchor_residual_shift, check_tao_compatible,
                                                      export_tao, import_tao, tao_model_config)
from tao_pointpillars_py.sim.frame import simulate_frame

INT, INTS = AttributeProto.INT, AttributeProto.INTS
FLOAT, FLOATS = AttributeProto.FLOAT, AttributeProto.FLOATS

#: TensorRT OSS creator fields: op type -> attribute -> (ONNX attribute type, element count;
#: None = any count). voxelGenerator.cpp:412-416, pillarScatter.cpp:216 (+ PluginConfig yaml:
#: 2 elements), decodeBbox3D.cpp:377-383; the counts are what createPlugin reads.
TENSORRT_FIELDS: dict[str, dict[str, tuple[int, int | None]]] = {
    "VoxelGeneratorPlugin": {
        "max_num_points_per_voxel": (INT, 1), "max_voxels": (INT, 1),
        "point_cloud_range": (FLOATS, 6), "voxel_feature_num": (INT, 1),
        "voxel_size": (FLOATS, 3)},
    "PillarScatterPlugin": {"dense_shape": (INTS, 2)},
    "DecodeBbox3DPlugin": {
        "point_cloud_range": (FLOATS, 6), "anchors": (FLOATS, None),
        "anchor_bottom_height": (FLOATS, None), "dir_offset": (FLOAT, 1),
        "dir_limit_offset": (FLOAT, 1), "num_dir_bins": (INT, 1), "score_thresh": (FLOAT, 1)},
}
#: (inputs, outputs) of each plugin node as TAO's simplifier_onnx.py wires them; None: a tensor
#: of the network (pillar feature net output, BEV canvas, NHWC heads)
TAO_WIRING: dict[str, tuple[list[str | None], list[str | None]]] = {
    "VoxelGeneratorPlugin": (["points", "num_points"], ["voxels", "voxel_coords", "num_pillar"]),
    "PillarScatterPlugin": ([None, "voxel_coords", "num_pillar"], [None]),
    "DecodeBbox3DPlugin": ([None, None, None], ["output_boxes", "num_boxes"]),
}
NAMES = ("Vehicle", "Pedestrian", "Cyclist")
ROUND_TRIP_FRAMES = 20
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def native() -> onnx.ModelProto:
    return onnx.load(str(REFERENCE_MODEL))


@pytest.fixture(scope="module")
def config(native: onnx.ModelProto) -> ModelConfig:
    return ModelConfig.from_metadata({p.key: p.value for p in native.metadata_props})


@pytest.fixture(scope="module")
def tao(native: onnx.ModelProto) -> onnx.ModelProto:
    return export_tao(native)


@pytest.fixture(scope="module")
def bare(tao: onnx.ModelProto) -> onnx.ModelProto:
    """Return the TAO file as TAO itself exports it: without metadata_props."""
    model = onnx.ModelProto()
    model.CopyFrom(tao)
    del model.metadata_props[:]
    return model


@pytest.fixture(scope="module")
def native_detector() -> Detector:
    return Detector.from_model(str(REFERENCE_MODEL))


def plugin_nodes(model: onnx.ModelProto) -> dict[str, onnx.NodeProto]:
    """Return the one node of each plugin op (asserts there is exactly one)."""
    found: dict[str, list[onnx.NodeProto]] = {op: [] for op in TENSORRT_FIELDS}
    for node in model.graph.node:
        if node.op_type in found:
            found[node.op_type].append(node)
    assert {op: len(nodes) for op, nodes in found.items()} == dict.fromkeys(found, 1)
    return {op: nodes[0] for op, nodes in found.items()}


def attribute_values(node: onnx.NodeProto) -> dict[str, Any]:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def io(infos: Any) -> list[tuple[str, int, list[int | str]]]:
    """(name, elem type, dims) of graph inputs or outputs."""
    return [(i.name, i.type.tensor_type.elem_type,
             [d.dim_value if d.HasField("dim_value") else d.dim_param
              for d in i.type.tensor_type.shape.dim]) for i in infos]


def subgraph(model: onnx.ModelProto, inputs: dict[str, list[int]], outputs: list[str]
             ) -> ort.InferenceSession:
    """Run on ORT the nodes between ``inputs`` (name -> float dims) and ``outputs``."""
    producers = {name: node for node in model.graph.node for name in node.output}
    initializers = {i.name: i for i in model.graph.initializer}
    nodes, needed, seen = [], list(outputs), set(inputs)
    while needed:
        name = needed.pop()
        if name in seen or name in initializers or not name:
            continue
        seen.add(name)
        node = producers[name]
        assert node.op_type not in TENSORRT_FIELDS, f"{name} needs plugin {node.op_type}"
        nodes.append(node)
        needed.extend(node.input)
    ordered = [n for n in model.graph.node if any(n is m for m in nodes)]
    used = {name for n in ordered for name in n.input}
    graph = helper.make_graph(
        ordered, "part",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, d) for n, d in inputs.items()],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in outputs],
        initializer=[i for name, i in initializers.items() if name in used])
    part = helper.make_model(graph, opset_imports=list(model.opset_import))
    part.ir_version = model.ir_version
    return ort.InferenceSession(part.SerializeToString(), providers=["CPUExecutionProvider"])


def tao_anchor_centres(config: ModelConfig) -> tuple[np.ndarray, np.ndarray]:
    """
    Anchor (x, y) per head output row as DecodeBbox3D places them, float32.

    decodeBbox3DKernels.cu:77-78: ``x = min_x + col * (max_x - min_x) / (W - 1)``, likewise y
    with the row; the row index is ``(row * W + col) * A + a``.
    """
    r = np.asarray(config.pillars.point_cloud_range, np.float32)
    w, h = config.feature_map_size
    a = config.num_anchors_per_location
    col = np.repeat(np.tile(np.arange(w), h), a).astype(np.float32)
    row = np.repeat(np.arange(h), w * a).astype(np.float32)
    x = r[0] + col * (r[3] - r[0]) / np.float32(w - 1)
    y = r[1] + row * (r[4] - r[1]) / np.float32(h - 1)
    return x.astype(np.float32), y.astype(np.float32)


def compare_detections(reference: Detector, other: Detector, frames: int
                       ) -> tuple[int, float, float]:
    """Return (detections, max |box diff|, max |score diff|) on simulated frames (same labels)."""
    total, box, score = 0, 0.0, 0.0
    for index in range(frames):
        points = simulate_frame(0, index).points
        ours, theirs = reference.detect(points), other.detect(points)
        np.testing.assert_array_equal(ours.labels, theirs.labels, err_msg=f"frame {index}")
        total += len(ours)
        if len(ours):
            box = max(box, float(np.abs(ours.boxes - theirs.boxes).max()))
            score = max(score, float(np.abs(ours.scores - theirs.scores).max()))
    return total, box, score


# --- structure: export-tao against the TensorRT OSS sources ----------------------------------

def test_export_tao_plugin_nodes_have_the_tensorrt_attribute_names_and_types(
        tao: onnx.ModelProto) -> None:
    """Every attribute of each plugin node is one its creator declares, with its ONNX type."""
    for op, node in plugin_nodes(tao).items():
        assert node.domain == "" and node.name == f"{op}_0"
        kinds = {a.name: a.type for a in node.attribute}
        assert kinds == {name: kind for name, (kind, _) in TENSORRT_FIELDS[op].items()}, op
        values = attribute_values(node)
        for name, (_, count) in TENSORRT_FIELDS[op].items():
            if count is not None and count > 1:
                assert len(values[name]) == count, (op, name)


def test_export_tao_writes_whole_numbers_of_float_attributes_as_floats(
        tao: onnx.ModelProto) -> None:
    """The plugins static_cast the field data: whole numbers must still be FLOAT(S), not INT(S)."""
    decode = plugin_nodes(tao)["DecodeBbox3DPlugin"]
    kinds = {a.name: a.type for a in decode.attribute}
    values = attribute_values(decode)
    # the reference model has whole-number floats here: bottoms -1, rotation 0, limit offset 0
    assert all(float(v).is_integer() for v in values["anchor_bottom_height"])
    assert values["dir_limit_offset"] == 0.0 and values["anchors"][3] == 0.0
    assert kinds["anchor_bottom_height"] == FLOATS and kinds["anchors"] == FLOATS
    assert kinds["dir_limit_offset"] == FLOAT
    voxels = plugin_nodes(tao)["VoxelGeneratorPlugin"]
    assert {a.name: a.type for a in voxels.attribute}["point_cloud_range"] == FLOATS
    assert attribute_values(voxels)["point_cloud_range"][2] == -3.0


def test_export_tao_attribute_values_are_the_models_geometry(tao: onnx.ModelProto,
                                                             config: ModelConfig) -> None:
    nodes = plugin_nodes(tao)
    p = config.pillars
    voxels = attribute_values(nodes["VoxelGeneratorPlugin"])
    np.testing.assert_allclose(voxels["point_cloud_range"], p.point_cloud_range, rtol=1e-6)
    np.testing.assert_allclose(voxels["voxel_size"], p.voxel_size, rtol=1e-6)
    assert (voxels["max_voxels"], voxels["max_num_points_per_voxel"]) == (12000, 32)
    assert voxels["voxel_feature_num"] == 10
    nx, ny = p.grid_size
    assert (nx, ny) == (128, 160)
    assert attribute_values(nodes["PillarScatterPlugin"])["dense_shape"] == [ny, nx]
    decode = attribute_values(nodes["DecodeBbox3DPlugin"])
    np.testing.assert_allclose(decode["point_cloud_range"], p.point_cloud_range, rtol=1e-6)
    # 4 numbers per anchor (dx, dy, dz, rot), classes first, then their two rotations
    expected = [[*spec.size, rot] for spec in config.anchors for rot in spec.rotations]
    assert config.class_names == NAMES and len(expected) == 6
    np.testing.assert_allclose(np.reshape(decode["anchors"], (6, 4)), expected, rtol=1e-6)
    np.testing.assert_allclose(decode["anchors"][:8], [4.6, 1.9, 1.7, 0.0, 4.6, 1.9, 1.7,
                                                       np.pi / 2], rtol=1e-6)
    np.testing.assert_allclose(decode["anchor_bottom_height"],
                               [a.bottom_height for a in config.anchors])
    assert decode["dir_offset"] == pytest.approx(0.78539)
    assert (decode["dir_limit_offset"], decode["num_dir_bins"]) == (0.0, 2)
    assert decode["score_thresh"] == pytest.approx(0.1)


def test_export_tao_tensors_are_wired_and_shaped_as_taos(tao: onnx.ModelProto) -> None:
    nodes = plugin_nodes(tao)
    for op, (inputs, outputs) in TAO_WIRING.items():
        assert len(nodes[op].input) == len(inputs) and len(nodes[op].output) == len(outputs)
        for actual, wanted in zip(list(nodes[op].input) + list(nodes[op].output),
                                  inputs + outputs):
            assert wanted is None or actual == wanted, op
    assert io(tao.graph.input) == [("points", TensorProto.FLOAT, [1, 204800, 4]),
                                   ("num_points", TensorProto.INT32, [1])]
    assert io(tao.graph.output) == [("output_boxes", TensorProto.FLOAT, [1, 80 * 64 * 6, 9]),
                                    ("num_boxes", TensorProto.INT32, [1])]
    # coords and count go to the scatter only; the canvas feeds a 64-channel Conv (NCHW)
    readers = {name: [n.op_type for n in tao.graph.node if name in n.input]
               for name in ("voxel_coords", "num_pillar", nodes["PillarScatterPlugin"].output[0])}
    assert readers["voxel_coords"] == readers["num_pillar"] == ["PillarScatterPlugin"]
    assert readers[nodes["PillarScatterPlugin"].output[0]] == ["Conv"]
    conv = next(n for n in tao.graph.node if nodes["PillarScatterPlugin"].output[0] in n.input)
    weight = next(i for i in tao.graph.initializer if i.name == conv.input[1])
    assert weight.dims[1] == 64
    assert [o.name for o in tao.graph.output] == list(nodes["DecodeBbox3DPlugin"].output)


def test_export_tao_feeds_the_scatter_b_v_64_pillar_features(tao: onnx.ModelProto) -> None:
    """From ``voxels`` [1, V, 32, 10] to the scatter's input: [1, V, 64] (standard ops)."""
    scatter_in = plugin_nodes(tao)["PillarScatterPlugin"].input[0]
    session = subgraph(tao, {"voxels": [1, 7, 32, 10]}, [scatter_in])
    voxels = np.random.default_rng(0).normal(size=(1, 7, 32, 10)).astype(np.float32)
    (features,) = session.run(None, {"voxels": voxels})
    assert features.shape == (1, 7, 64)


def test_export_tao_heads_are_nhwc_at_the_kernel_offsets(tao: onnx.ModelProto,
                                                         config: ModelConfig) -> None:
    """
    DecodeBbox3D reads head channels at the kernel's offsets and decodes our boxes.

    decodeBbox3DKernels.cu:79, :95-96: ``cls[loc*A*K + a*K + k]``, ``box[loc*A*7 + a*7 + j]``,
    ``dir[loc*A*2 + a*2 + d]`` with ``loc = row * W + col``; x, y decoded as
    ``residual * diagonal + anchor`` (:108-110) around the corner-aligned anchors (:77-78).
    """
    decode = plugin_nodes(tao)["DecodeBbox3DPlugin"]
    w, h = config.feature_map_size
    a, k = config.num_anchors_per_location, config.num_classes
    count = h * w * a
    widths = {"cls_preds": k, "box_preds": 7, "dir_cls_preds": 2}
    session = subgraph(tao, {name: [1, count, n] for name, n in widths.items()},
                       list(decode.input))
    rng = np.random.default_rng(1)
    heads = {name: rng.normal(size=(1, count, n)).astype(np.float32)
             for name, n in widths.items()}
    nhwc = dict(zip(widths, session.run(None, heads)))
    rows, cols, anchors = np.meshgrid(np.arange(h), np.arange(w), np.arange(a), indexing="ij")
    loc = (rows * w + cols).reshape(-1)
    anchor = anchors.reshape(-1)
    native_row = (loc * a + anchor)  # this package's (iy, ix, a) order
    for name, n in widths.items():
        assert nhwc[name].shape == (1, h, w, a * n), name
        offsets = loc[:, None] * a * n + anchor[:, None] * n + np.arange(n)
        read = nhwc[name].reshape(-1)[offsets]
        if name != "box_preds":
            np.testing.assert_array_equal(read, heads[name][0, native_row])
            continue
        np.testing.assert_array_equal(read[:, 2:], heads[name][0, native_row, 2:])
        ours = generate_anchors(config).reshape(-1, 7)[native_row]
        diagonal = np.sqrt(ours[:, 3] ** 2 + ours[:, 4] ** 2)
        tao_x, tao_y = tao_anchor_centres(config)
        np.testing.assert_allclose(read[:, 0] * diagonal + tao_x[native_row],
                                   heads[name][0, native_row, 0] * diagonal + ours[:, 0],
                                   atol=1e-4)
        np.testing.assert_allclose(read[:, 1] * diagonal + tao_y[native_row],
                                   heads[name][0, native_row, 1] * diagonal + ours[:, 1],
                                   atol=1e-4)


def test_export_tao_takes_max_points_and_score_thresh(native: onnx.ModelProto) -> None:
    model = export_tao(native, max_points=50000, score_thresh=0.25)
    assert io(model.graph.input)[0] == ("points", TensorProto.FLOAT, [1, 50000, 4])
    decode = attribute_values(plugin_nodes(model)["DecodeBbox3DPlugin"])
    assert decode["score_thresh"] == pytest.approx(0.25)


# --- round trip: import_tao(export_tao(native)) ------------------------------------------------

def test_round_trip_is_a_plain_operator_native_model_with_the_same_config(
        tao: onnx.ModelProto, native: onnx.ModelProto, config: ModelConfig) -> None:
    back = import_tao(tao)
    onnx.checker.check_model(back)
    standard = {s.name for s in onnx.defs.get_all_schemas_with_history() if s.domain == ""}
    assert {n.domain for n in back.graph.node} == {""}
    assert {n.op_type for n in back.graph.node} <= standard
    assert io(back.graph.input) == io(native.graph.input)
    assert [o.name for o in back.graph.output] == ["cls_preds", "box_preds", "dir_cls_preds"]
    metadata = {p.key: p.value for p in back.metadata_props}
    assert ModelConfig.from_metadata(metadata) == config


def test_round_trip_detects_as_the_native_model(tao: onnx.ModelProto, tmp_path: Path,
                                                native_detector: Detector) -> None:
    path = tmp_path / "round_trip.onnx"
    onnx.save(import_tao(tao), str(path))
    total, box, score = compare_detections(native_detector, Detector.from_model(str(path)),
                                           ROUND_TRIP_FRAMES)
    assert total > 100
    assert box <= TOLERANCE and score <= TOLERANCE, (box, score)


# --- a TAO model without this package's metadata -----------------------------------------------

def test_tao_model_config_reads_the_geometry_from_the_plugin_attributes(
        bare: onnx.ModelProto, config: ModelConfig) -> None:
    read, known = tao_model_config(bare)
    assert known is False
    assert read.class_names == ("class_0", "class_1", "class_2")
    p, q = read.pillars, config.pillars
    np.testing.assert_allclose(p.point_cloud_range, q.point_cloud_range, rtol=1e-6)
    np.testing.assert_allclose(p.voxel_size, q.voxel_size, rtol=1e-6)
    assert (p.max_points_per_pillar, p.max_pillars) == (q.max_points_per_pillar, q.max_pillars)
    assert p.grid_size == q.grid_size and read.feature_map_size == config.feature_map_size
    assert len(read.anchors) == len(config.anchors)
    for ours, theirs in zip(read.anchors, config.anchors):
        np.testing.assert_allclose(ours.size, theirs.size, rtol=1e-6)
        np.testing.assert_allclose(ours.rotations, theirs.rotations, rtol=1e-6)
        assert ours.bottom_height == theirs.bottom_height
    assert read.dir_offset == pytest.approx(config.dir_offset)
    assert (read.dir_limit_offset, read.num_dir_bins) == (0.0, 2)
    assert read.intensity_range == tao_layout.TAO_INTENSITY_RANGE == config.intensity_range


def test_import_tao_without_metadata_asks_for_the_class_names(bare: onnx.ModelProto) -> None:
    with pytest.raises(ConfigError, match="carries no class names and has 3 classes; give 3 "
                                          "names"):
        import_tao(bare)
    with pytest.raises(ConfigError, match="2 class names .* for a model with 3 classes"):
        import_tao(bare, class_names=["Vehicle", "Pedestrian"])


def test_import_tao_without_metadata_detects_as_native_with_the_names(
        bare: onnx.ModelProto, tmp_path: Path, native_detector: Detector) -> None:
    back = import_tao(bare, class_names=list(NAMES))
    metadata = {p.key: p.value for p in back.metadata_props}
    assert ModelConfig.from_metadata(metadata).class_names == NAMES
    path = tmp_path / "named.onnx"
    onnx.save(back, str(path))
    total, box, score = compare_detections(native_detector, Detector.from_model(str(path)),
                                           ROUND_TRIP_FRAMES)
    assert total > 100
    assert box <= TOLERANCE and score <= TOLERANCE, (box, score)


# --- refusals ----------------------------------------------------------------------------------

@pytest.mark.parametrize("change", ["three rotations", "three direction bins"])
def test_models_the_decode_plugin_cannot_express_are_refused(native: onnx.ModelProto,
                                                             config: ModelConfig,
                                                             change: str) -> None:
    if change == "three rotations":
        odd = replace(config, anchors=tuple(replace(a, rotations=(0.0, 0.8, 1.6))
                                            for a in config.anchors))
    else:
        odd = replace(config, num_dir_bins=3)
    with pytest.raises(ConfigError, match="DecodeBbox3DPlugin"):
        check_tao_compatible(odd)
    model = onnx.ModelProto()
    model.CopyFrom(native)
    del model.metadata_props[:]
    helper.set_model_props(model, odd.to_metadata())
    with pytest.raises(ConfigError, match="DecodeBbox3DPlugin"):
        export_tao(model)


def test_a_voxel_feature_num_other_than_10_is_refused(bare: onnx.ModelProto) -> None:
    model = onnx.ModelProto()
    model.CopyFrom(bare)
    node = next(n for n in model.graph.node if n.op_type == "VoxelGeneratorPlugin")
    next(a for a in node.attribute if a.name == "voxel_feature_num").i = 9
    with pytest.raises(ModelLoadError, match="makes 9 features per point"):
        tao_model_config(model)
    with pytest.raises(ModelLoadError, match="makes 9 features per point"):
        import_tao(model, class_names=list(NAMES))


@pytest.mark.parametrize("metadata", [True, False])
def test_a_model_with_two_voxel_generators_is_refused(tao: onnx.ModelProto,
                                                      bare: onnx.ModelProto,
                                                      metadata: bool) -> None:
    model = onnx.ModelProto()
    model.CopyFrom(tao if metadata else bare)
    node = next(n for n in model.graph.node if n.op_type == "VoxelGeneratorPlugin")
    twin = model.graph.node.add()
    twin.CopyFrom(node)
    twin.name = "VoxelGeneratorPlugin_1"
    del twin.output[:]
    twin.output.extend(["voxels_1", "voxel_coords_1", "num_pillar_1"])
    with pytest.raises(ModelLoadError, match="has 2 VoxelGeneratorPlugin nodes"):
        import_tao(model, class_names=None if metadata else list(NAMES))
    if not metadata:
        with pytest.raises(ModelLoadError, match="has 2 VoxelGeneratorPlugin nodes"):
            tao_model_config(model)


def test_export_tao_refuses_a_model_already_in_tao_layout(tao: onnx.ModelProto) -> None:
    with pytest.raises(ConfigError, match="export-tao takes a `tao-pointpillars export` model"):
        export_tao(tao)


# --- anchors: corner-aligned (DecodeBbox3D) against cell-centred (this package) ---------------

TAO_ZVISION = ModelConfig(pillars=PillarConfig((-51.2, -51.2, -1.4, 51.2, 51.2, 4.4),
                                               (0.2, 0.2, 5.8), 32, 10000))


@pytest.mark.parametrize("geometry", ["reference", "tao zvision"])
def test_anchor_residual_shift_moves_tao_anchors_to_our_cell_centres(
        config: ModelConfig, geometry: str) -> None:
    """A zero residual plus the shift, decoded at TAO's anchors, lands on our anchor centres."""
    chosen = config if geometry == "reference" else TAO_ZVISION
    shift = anchor_residual_shift(chosen)
    ours = generate_anchors(chosen).reshape(-1, 7)
    assert shift.shape == ours.shape and shift.dtype == np.float32
    np.testing.assert_array_equal(shift[:, 2:], 0.0)
    tao_x, tao_y = tao_anchor_centres(chosen)
    diagonal = np.sqrt(ours[:, 3] ** 2 + ours[:, 4] ** 2)  # decodeBbox3DKernels.cu:108
    decoded_x = shift[:, 0] * diagonal + tao_x  # :109
    decoded_y = shift[:, 1] * diagonal + tao_y  # :110
    np.testing.assert_allclose(decoded_x, ours[:, 0], rtol=0, atol=1e-5)
    np.testing.assert_allclose(decoded_y, ours[:, 1], rtol=0, atol=1e-5)
    # the shift is real: corner-aligned and cell-centred anchors differ (half a cell at the ends)
    assert np.abs(tao_x - ours[:, 0]).max() > 0.1


def _tao_with(attribute: str, value: int) -> onnx.ModelProto:
    """Export the reference model (metadata kept), then edit one VoxelGenerator attribute."""
    tao = export_tao(onnx.load(str(REFERENCE_MODEL)))
    node = next(n for n in tao.graph.node if n.op_type == "VoxelGeneratorPlugin")
    next(a for a in node.attribute if a.name == attribute).i = value
    return tao


def test_plugin_attributes_are_checked_even_where_metadata_is_present() -> None:
    with pytest.raises(ModelLoadError, match="9 features per point"):
        import_tao(_tao_with("voxel_feature_num", 9))


def test_metadata_disagreeing_with_the_plugin_attributes_is_refused() -> None:
    # TensorRT runs what the attributes say: an edited max_voxels must not pass unnoticed
    with pytest.raises(ModelLoadError, match="metadata says max_voxels 12000 but its plugins "
                                             "say 5000"):
        tao_model_config(_tao_with("max_voxels", 5000))


def test_more_than_64_points_per_pillar_is_refused() -> None:
    # voxelGeneratorKernels.cu:287,291: shared arrays of 64 points per pillar
    metadata = {p.key: p.value for p in onnx.load(str(REFERENCE_MODEL)).metadata_props}
    config = ModelConfig.from_metadata(metadata)
    big = replace(config, pillars=replace(config.pillars, max_points_per_pillar=100))
    with pytest.raises(ConfigError, match="VoxelGeneratorPlugin's kernel holds at most 64"):
        check_tao_compatible(big)
