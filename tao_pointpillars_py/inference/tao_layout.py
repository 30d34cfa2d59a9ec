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
TAO's deployable ONNX layout and this package's native contract, one into the other.

TAO-PointPillars exports (nvidia_tao_pytorch ``pointpillars/tools/export/simplifier_onnx.py``)
wrap the network in three TensorRT OSS plugins: ``VoxelGeneratorPlugin`` (points -> pillar
features), ``PillarScatterPlugin`` (pillar features -> BEV canvas) and ``DecodeBbox3DPlugin``
(head tensors -> boxes). :func:`export_tao` puts a native model into that layout;
:func:`import_tao` replaces the plugins by this package's host pillarization (same 10 features),
a standard-operator scatter and the host decode, so the result runs anywhere ONNX runs.
docs/tao.md gives each plugin's contract with the TensorRT OSS lines it comes from.

Two kernel facts shape the conversion (NVIDIA/TensorRT ``plugin/common/kernels/
decodeBbox3DKernels.cu``): DecodeBbox3D puts anchor centres on the corners of the range
(``min + col * (max - min) / (W - 1)``) where this package puts them at cell centres, so each
conversion adds the difference to the x / y box residuals (same boxes, float rounding apart);
and it assumes exactly two anchors (rotations) per class and two direction bins.
"""

from __future__ import annotations

from dataclasses import replace
import json
from typing import Any, Sequence, TYPE_CHECKING

import numpy as np

from ..core.anchors import generate_anchors
from ..core.config import AnchorSpec, ModelConfig, PillarConfig
from ..core.pillars import NUM_POINT_FEATURES
from ..errors import ConfigError, ModelLoadError, ModelMetadataError

if TYPE_CHECKING:
    import onnx

VOXEL_GENERATOR = "VoxelGeneratorPlugin"
PILLAR_SCATTER = "PillarScatterPlugin"
DECODE_BBOX_3D = "DecodeBbox3DPlugin"
PLUGIN_OPS = (VOXEL_GENERATOR, PILLAR_SCATTER, DECODE_BBOX_3D)
#: the creators' version string (voxelGenerator.cpp:34, pillarScatter.cpp:26, decodeBbox3D.cpp:35)
PLUGIN_VERSION = "1"

#: plugin -> attribute -> ONNX attribute kind, as each creator parses its PluginFieldCollection
#: (voxelGenerator.cpp:412-416, pillarScatter.cpp:216, decodeBbox3D.cpp:377-383): "int" is
#: kINT32 with one element, "ints"/"floats" are kINT32/kFLOAT32 arrays, "float" is one kFLOAT32.
PLUGIN_ATTRIBUTES: dict[str, dict[str, str]] = {
    VOXEL_GENERATOR: {"max_voxels": "int", "max_num_points_per_voxel": "int",
                      "voxel_feature_num": "int", "point_cloud_range": "floats",
                      "voxel_size": "floats"},
    PILLAR_SCATTER: {"dense_shape": "ints"},
    DECODE_BBOX_3D: {"point_cloud_range": "floats", "anchors": "floats",
                     "anchor_bottom_height": "floats", "dir_offset": "float",
                     "dir_limit_offset": "float", "num_dir_bins": "int", "score_thresh": "float"},
}

#: TAO's ``inference.max_points_num`` (tools/cfgs/zvision.yaml), also the node's max_points
DEFAULT_MAX_POINTS = 204_800
#: TAO's ``model.post_processing.score_thresh``; the node's score_threshold applies on top
DEFAULT_SCORE_THRESH = 0.1
#: what DecodeBbox3D assumes per class: two anchors (``anchors_bottom_height[ith_anchor / 2]``)
ANCHORS_PER_CLASS = 2
#: VoxelGenerator's feature kernel keeps a pillar's points in shared arrays of 64
MAX_POINTS_PER_VOXEL = 64
#: PillarScatter's kernel hard-codes 64 features per pillar (PILLAR_FEATURE_SIZE)
PILLAR_FEATURE_SIZE = 64
#: the model intensity range assumed for a TAO model without this package's metadata (KITTI
#: reflectance; NVIDIA's node divides the driver's intensity by ``intensity_scale``)
TAO_INTENSITY_RANGE = (0.0, 1.0)

LAYOUT_KEY = "tao_pointpillars.layout"
PILLAR_AXIS_KEY = "tao_pointpillars.native_pillar_axis"
SCORE_THRESH_KEY = "tao.score_thresh"
NATIVE_INPUTS = ("pillar_features", "pillar_coords", "num_pillars")
NATIVE_OUTPUTS = ("cls_preds", "box_preds", "dir_cls_preds")
TAO_OUTPUTS = ("output_boxes", "num_boxes")


def has_tao_plugins(model: onnx.ModelProto) -> bool:
    """Tell whether a model holds any of TAO's three TensorRT plugin nodes."""
    return any(node.op_type in PLUGIN_OPS for node in model.graph.node)


def plugin_attributes(node: onnx.NodeProto) -> dict[str, Any]:
    """Read a node's attributes as Python values (lists for repeated fields)."""
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _plugin_node(model: onnx.ModelProto, op_type: str, source: str) -> onnx.NodeProto:
    nodes = [n for n in model.graph.node if n.op_type == op_type]
    if len(nodes) != 1:
        raise ModelLoadError(
            f"{source} has {len(nodes)} {op_type} nodes, a TAO PointPillars model has exactly "
            f"one of each of {list(PLUGIN_OPS)}: export it again with TAO (`tao model "
            "pointpillars export`) or with `tao-pointpillars export-tao`")
    attributes = plugin_attributes(nodes[0])
    missing = sorted(set(PLUGIN_ATTRIBUTES[op_type]) - set(attributes))
    if missing:
        raise ModelLoadError(f"{source}: its {op_type} node lacks the attributes {missing} that "
                             "the TensorRT plugin needs; export the model again")
    return nodes[0]


# --- configuration -----------------------------------------------------------------------------

def tao_model_config(model: onnx.ModelProto, source: str = "model") -> tuple[ModelConfig, bool]:
    """
    Geometry of a TAO-layout model, and whether its class names are known.

    The plugin attributes decide what TensorRT runs, so they are always read. This package's
    metadata (written by :func:`export_tao`) adds class names and the intensity range, and
    must agree with them; a model exported by TAO has none, so its classes are named
    ``class_0``, ``class_1``, ... until the caller supplies names (False).
    """
    metadata = {p.key: p.value for p in model.metadata_props}
    if "class_names" not in metadata:
        return _plugin_config(model, source), False
    config = ModelConfig.from_metadata(metadata, source=source)
    if has_tao_plugins(model):
        _check_agreement(config, _plugin_config(model, source), source)
    return config, True


def _plugin_config(model: onnx.ModelProto, source: str) -> ModelConfig:
    """Read the config from VoxelGenerator's and DecodeBbox3D's attributes (placeholder names)."""
    voxels = plugin_attributes(_plugin_node(model, VOXEL_GENERATOR, source))
    decode = plugin_attributes(_plugin_node(model, DECODE_BBOX_3D, source))
    if int(voxels["voxel_feature_num"]) != NUM_POINT_FEATURES:
        raise ModelLoadError(
            f"{source}: VoxelGeneratorPlugin makes {voxels['voxel_feature_num']} features per "
            f"point; this package's pillarization makes the plugin's {NUM_POINT_FEATURES} (x, y, "
            "z, r, offsets to the pillar mean and centre), so only those models convert")
    try:
        return ModelConfig(
            class_names=tuple(f"class_{i}" for i in range(len(decode["anchor_bottom_height"]))),
            pillars=PillarConfig(
                point_cloud_range=_floats(voxels["point_cloud_range"], 6),  # type: ignore
                voxel_size=_floats(voxels["voxel_size"], 3),  # type: ignore
                max_points_per_pillar=int(voxels["max_num_points_per_voxel"]),
                max_pillars=int(voxels["max_voxels"])),
            anchors=_anchor_specs(decode, source),
            feature_stride=_feature_stride(model, voxels, source),
            dir_offset=_decimal(decode["dir_offset"]),
            dir_limit_offset=_decimal(decode["dir_limit_offset"]),
            num_dir_bins=int(decode["num_dir_bins"]),
            intensity_range=TAO_INTENSITY_RANGE)
    except ConfigError as exc:
        raise ModelMetadataError(
            f"{source}: its plugin attributes are inconsistent: {exc}") from exc


def _check_agreement(config: ModelConfig, from_plugins: ModelConfig, source: str) -> None:
    """Refuse metadata that says other than the plugin attributes TensorRT will use."""
    p, q = config.pillars, from_plugins.pillars
    pairs = {
        "point_cloud_range": (p.point_cloud_range, q.point_cloud_range),
        "voxel_size": (p.voxel_size, q.voxel_size),
        "max_voxels": (p.max_pillars, q.max_pillars),
        "max_num_points_per_voxel": (p.max_points_per_pillar, q.max_points_per_pillar),
        "anchors": ([(*a.size, *a.rotations) for a in config.anchors],
                    [(*a.size, *a.rotations) for a in from_plugins.anchors]),
        "anchor_bottom_height": ([a.bottom_height for a in config.anchors],
                                 [a.bottom_height for a in from_plugins.anchors]),
        "dir_offset, dir_limit_offset, num_dir_bins": (
            (config.dir_offset, config.dir_limit_offset, config.num_dir_bins),
            (from_plugins.dir_offset, from_plugins.dir_limit_offset, from_plugins.num_dir_bins)),
    }
    for name, (ours, theirs) in pairs.items():
        a, b = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
        if a.shape != b.shape or not np.allclose(a, b, rtol=1e-6, atol=1e-6):
            raise ModelLoadError(
                f"{source}: its metadata says {name} {ours} but its plugins say {theirs}; "
                "TensorRT runs what the plugins say: export the model again with "
                "`tao-pointpillars export-tao` instead of editing it")


def _decimal(value: float) -> float:
    """Return a float32 attribute as the decimal it was written as (25.600000381 -> 25.6)."""
    return float(f"{float(value):.7g}")


def _floats(values: Sequence[float], count: int) -> tuple[float, ...]:
    if len(values) != count:
        raise ConfigError(f"expected {count} numbers, got {list(values)}")
    return tuple(_decimal(v) for v in values)


def _anchor_specs(decode: dict[str, Any], source: str) -> tuple[AnchorSpec, ...]:
    """One AnchorSpec per class from DecodeBbox3D's anchors (dx, dy, dz, rot per anchor)."""
    bottoms = [_decimal(h) for h in decode["anchor_bottom_height"]]
    anchors = np.asarray(decode["anchors"], dtype=np.float64)
    if anchors.size != len(bottoms) * ANCHORS_PER_CLASS * 4:
        raise ModelLoadError(
            f"{source}: DecodeBbox3DPlugin has {anchors.size} anchor numbers for "
            f"{len(bottoms)} classes; the plugin reads 4 (dx, dy, dz, rotation) for each of "
            f"{ANCHORS_PER_CLASS} anchors per class")
    specs = []
    for index, (bottom, rows) in enumerate(zip(bottoms, anchors.reshape(len(bottoms), -1, 4))):
        if not np.allclose(rows[:, :3], rows[0, :3]):
            raise ModelLoadError(f"{source}: class {index} has anchors of different sizes "
                                 f"{rows[:, :3].tolist()}; this package takes one size per class")
        size = (_decimal(rows[0, 0]), _decimal(rows[0, 1]), _decimal(rows[0, 2]))
        specs.append(AnchorSpec(f"class_{index}", size, bottom,
                                tuple(_decimal(r) for r in rows[:, 3])))
    return tuple(specs)


def _feature_stride(model: onnx.ModelProto, voxels: dict[str, Any], source: str) -> int:
    """Canvas cells per head cell: the canvas width over the head's (2 when not recorded)."""
    decode = _plugin_node(model, DECODE_BBOX_3D, source)
    dims = _known_shape(model, decode.input[0])
    range_, size = voxels["point_cloud_range"], voxels["voxel_size"]
    canvas_x = int(round((range_[3] - range_[0]) / size[0]))
    if len(dims) == 4 and isinstance(dims[2], int) and dims[2] > 0:
        return max(1, canvas_x // dims[2])
    return 2  # OpenPCDet / TAO PointPillars: the head runs at half the canvas


def _known_shape(model: onnx.ModelProto, name: str) -> tuple[int | str, ...]:
    for info in list(model.graph.value_info) + list(model.graph.output):
        if info.name == name:
            return tuple(d.dim_value if d.HasField("dim_value") else d.dim_param
                         for d in info.type.tensor_type.shape.dim)
    return ()


# --- anchors: corner-aligned (DecodeBbox3D) against cell-centred (this package) ---------------

def anchor_residual_shift(config: ModelConfig) -> np.ndarray:
    """
    (K, 7) float32 to add to native box residuals so DecodeBbox3D decodes the same boxes.

    DecodeBbox3D places anchor (row, col) at ``min + col * (max - min) / (W - 1)``
    (decodeBbox3DKernels.cu:77-78, float32); this package at cell centres. Residuals are
    scaled by the anchor diagonal, so the shift is the centre difference over it.
    """
    native = generate_anchors(config).reshape(-1, 7)
    r = np.asarray(config.pillars.point_cloud_range, dtype=np.float32)
    nx_f, ny_f = config.feature_map_size
    a = config.num_anchors_per_location
    cols = np.repeat(np.tile(np.arange(nx_f, dtype=np.float32), ny_f), a)
    rows = np.repeat(np.repeat(np.arange(ny_f, dtype=np.float32), nx_f), a)
    tao_x = r[0] + cols * (r[3] - r[0]) / np.float32(nx_f - 1)
    tao_y = r[1] + rows * (r[4] - r[1]) / np.float32(ny_f - 1)
    diag = np.sqrt(native[:, 3] ** 2 + native[:, 4] ** 2)
    shift = np.zeros_like(native)
    shift[:, 0] = (native[:, 0] - tao_x) / diag
    shift[:, 1] = (native[:, 1] - tao_y) / diag
    return shift.astype(np.float32)


def check_tao_compatible(config: ModelConfig, source: str = "model") -> None:
    """Refuse a native model that the TAO plugins cannot express, saying why."""
    rotations = [len(a.rotations) for a in config.anchors]
    if any(r != ANCHORS_PER_CLASS for r in rotations):
        raise ConfigError(
            f"{source} has {rotations} anchor rotations per class; DecodeBbox3DPlugin assumes "
            f"exactly {ANCHORS_PER_CLASS} (it reads anchor_bottom_height[anchor / 2]), so the "
            "model cannot be put in TAO's layout: train it with two rotations per class")
    if config.pillars.max_points_per_pillar > MAX_POINTS_PER_VOXEL:
        raise ConfigError(
            f"{source} keeps {config.pillars.max_points_per_pillar} points per pillar; "
            f"VoxelGeneratorPlugin's kernel holds at most {MAX_POINTS_PER_VOXEL} "
            "(voxelGeneratorKernels.cu: shared arrays of 64 points per pillar)")
    if config.num_dir_bins != 2:
        raise ConfigError(f"{source} has {config.num_dir_bins} direction bins; DecodeBbox3DPlugin "
                          "reads exactly 2 per anchor")
    nx_f, ny_f = config.feature_map_size
    if nx_f < 2 or ny_f < 2:
        raise ConfigError(f"{source}: a {nx_f}x{ny_f} head is too small for DecodeBbox3DPlugin")


# --- graph editing ------------------------------------------------------------------------------

def _prune(graph: onnx.GraphProto) -> None:
    """Drop nodes, initializers, inputs and value_info the graph outputs do not need."""
    needed = {o.name for o in graph.output}
    kept = []
    for node in reversed(graph.node):
        if any(name in needed for name in node.output):
            kept.append(node)
            needed.update(name for name in node.input if name)
    kept.reverse()
    del graph.node[:]
    graph.node.extend(kept)
    for field in (graph.initializer, graph.input, graph.value_info):
        keep = [item for item in field if item.name in needed]
        del field[:]
        field.extend(keep)


def _rename_input(graph: onnx.GraphProto, old: str, new: str) -> None:
    """Make every node that reads tensor ``old`` read ``new``."""
    for node in graph.node:
        for index, name in enumerate(node.input):
            if name == old:
                node.input[index] = new


def _rename_tensor(graph: onnx.GraphProto, old: str, new: str) -> None:
    """Rename tensor ``old`` where it is made and where it is read."""
    _rename_input(graph, old, new)
    for node in graph.node:
        for index, name in enumerate(node.output):
            if name == old:
                node.output[index] = new


def _producer_index(graph: onnx.GraphProto, tensor: str) -> int:
    for index, node in enumerate(graph.node):
        if tensor in node.output:
            return index
    raise ModelLoadError(f"no node produces tensor {tensor!r}")


def _tensor_info(name: str, elem_type: int, dims: Sequence[int | str]) -> onnx.ValueInfoProto:
    import onnx

    return onnx.helper.make_tensor_value_info(name, elem_type, list(dims))


def _constant(graph_nodes: list[onnx.NodeProto], name: str, value: np.ndarray) -> str:
    """Append a Constant node holding ``value``; return its output name."""
    import onnx

    graph_nodes.append(onnx.helper.make_node(
        "Constant", [], [name], name=name, value=onnx.numpy_helper.from_array(value, name)))
    return name


def _set_metadata(model: onnx.ModelProto, props: dict[str, str]) -> None:
    del model.metadata_props[:]
    for key, value in props.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value


# --- export: native -> TAO layout ---------------------------------------------------------------

def _pfn_and_canvas(graph: onnx.GraphProto, source: str) -> tuple[str, str]:
    """(pillar feature net output, BEV canvas): the last ReduceMax before the first Conv."""
    conv = next((i for i, n in enumerate(graph.node) if n.op_type == "Conv"), None)
    if conv is None:
        raise ConfigError(f"{source} has no Conv node: not a PointPillars backbone")
    pooled = [n for n in graph.node[:conv] if n.op_type == "ReduceMax"]
    if not pooled:
        raise ConfigError(f"{source} has no ReduceMax (the pillar feature net's max over points) "
                          "before its backbone; re-export it with `tao-pointpillars export`")
    return pooled[-1].output[0], graph.node[conv].input[0]


def _voxel_generator_node(config: ModelConfig) -> onnx.NodeProto:
    import onnx

    p = config.pillars
    return onnx.helper.make_node(
        VOXEL_GENERATOR, ["points", "num_points"], ["voxels", "voxel_coords", "num_pillar"],
        name=f"{VOXEL_GENERATOR}_0", max_voxels=int(p.max_pillars),
        max_num_points_per_voxel=int(p.max_points_per_pillar),
        voxel_feature_num=NUM_POINT_FEATURES,
        point_cloud_range=[float(v) for v in p.point_cloud_range],
        voxel_size=[float(v) for v in p.voxel_size])


def _decode_node(config: ModelConfig, inputs: Sequence[str],
                 score_thresh: float) -> onnx.NodeProto:
    import onnx

    anchors = [float(v) for spec in config.anchors for rot in spec.rotations
               for v in (*spec.size, rot)]
    return onnx.helper.make_node(
        DECODE_BBOX_3D, list(inputs), list(TAO_OUTPUTS), name=f"{DECODE_BBOX_3D}_0",
        point_cloud_range=[float(v) for v in config.pillars.point_cloud_range],
        anchors=anchors,
        anchor_bottom_height=[float(a.bottom_height) for a in config.anchors],
        dir_offset=float(config.dir_offset), dir_limit_offset=float(config.dir_limit_offset),
        num_dir_bins=int(config.num_dir_bins), score_thresh=float(score_thresh))


def _channels_last_heads(config: ModelConfig) -> tuple[list[onnx.NodeProto], list[str]]:
    """Nodes turning native (1, K, n) head outputs into DecodeBbox3D's (1, H, W, A * n)."""
    import onnx

    nx_f, ny_f = config.feature_map_size
    a = config.num_anchors_per_location
    nodes: list[onnx.NodeProto] = []
    shift = _constant(nodes, "tao_export/anchor_shift", anchor_residual_shift(config)[None])
    nodes.append(onnx.helper.make_node("Add", ["box_preds", shift], ["tao_export/box_corner"],
                                       name="tao_export/anchor_shift_add"))
    names = []
    for head, width in zip(NATIVE_OUTPUTS, (config.num_classes, 7, config.num_dir_bins)):
        shape = _constant(nodes, f"tao_export/{head}_shape",
                          np.array([1, ny_f, nx_f, a * width], np.int64))
        source = "tao_export/box_corner" if head == "box_preds" else head
        nodes.append(onnx.helper.make_node("Reshape", [source, shape], [f"{head}_nhwc"],
                                           name=f"tao_export/{head}_nhwc"))
        names.append(f"{head}_nhwc")
    return nodes, names


def export_tao(native: onnx.ModelProto, *, max_points: int = DEFAULT_MAX_POINTS,
               score_thresh: float = DEFAULT_SCORE_THRESH,
               source: str = "model") -> onnx.ModelProto:
    """
    Put a native model in TAO's deployable layout (points in, DecodeBbox3D boxes out).

    The pillar feature net, backbone and head stay as they are: VoxelGeneratorPlugin feeds the
    net the same 10 features per point as :func:`~..core.pillars.pillarize`, PillarScatterPlugin
    replaces the standard-operator scatter, and DecodeBbox3DPlugin decodes the heads (laid out
    channels-last, residuals shifted to its corner-aligned anchors). Refuses models the plugins
    cannot express (:func:`check_tao_compatible`).
    """
    import onnx

    metadata = {p.key: p.value for p in native.metadata_props}
    config = ModelConfig.from_metadata(metadata, source=source)
    check_tao_compatible(config, source)
    if max_points < 1:
        raise ConfigError(f"max_points must be >= 1, got {max_points}")
    model = onnx.ModelProto()
    model.CopyFrom(native)
    graph = model.graph
    if [i.name for i in graph.input] != list(NATIVE_INPUTS):
        raise ConfigError(f"{source} has inputs {[i.name for i in graph.input]}, not "
                          f"{list(NATIVE_INPUTS)}: export-tao takes a `tao-pointpillars export` "
                          "model")
    pillar_axis = graph.input[0].type.tensor_type.shape.dim[1]
    pfn_out, canvas = _pfn_and_canvas(graph, source)
    nx, ny = config.pillars.grid_size
    scatter = onnx.helper.make_node(PILLAR_SCATTER, [pfn_out, "voxel_coords", "num_pillar"],
                                    [canvas], name=f"{PILLAR_SCATTER}_0", dense_shape=[ny, nx])
    at = _producer_index(graph, canvas)
    del graph.node[at]
    graph.node.insert(at, scatter)
    _rename_input(graph, "pillar_features", "voxels")
    graph.node.insert(0, _voxel_generator_node(config))
    head_nodes, head_names = _channels_last_heads(config)
    graph.node.extend(head_nodes)
    graph.node.append(_decode_node(config, head_names, score_thresh))
    _replace_io(graph, inputs=[
        _tensor_info("points", onnx.TensorProto.FLOAT, [1, max_points, 4]),
        _tensor_info("num_points", onnx.TensorProto.INT32, [1])], outputs=[
        _tensor_info("output_boxes", onnx.TensorProto.FLOAT,
                     [1, ny // config.feature_stride * (nx // config.feature_stride)
                      * config.num_anchors_per_location, 9]),
        _tensor_info("num_boxes", onnx.TensorProto.INT32, [1])])
    metadata[LAYOUT_KEY] = "tao"
    metadata[PILLAR_AXIS_KEY] = "fixed" if pillar_axis.HasField("dim_value") else "dynamic"
    metadata[SCORE_THRESH_KEY] = json.dumps(float(score_thresh))
    _set_metadata(model, metadata)
    return model


def _replace_io(graph: onnx.GraphProto, inputs: Sequence[onnx.ValueInfoProto],
                outputs: Sequence[onnx.ValueInfoProto]) -> None:
    del graph.output[:]
    graph.output.extend(outputs)
    _prune(graph)
    del graph.input[:]
    graph.input.extend(inputs)


# --- import: TAO layout -> native ---------------------------------------------------------------

def _scatter_nodes(features: str, canvas: str, grid: tuple[int, int]) -> list[onnx.NodeProto]:
    """
    Build PillarScatter in standard operators: row p < num_pillars goes to cell (iy, ix).

    Rows past num_pillars go to one extra cell that is cut off (as the native export does).
    """
    import onnx

    make = onnx.helper.make_node
    nx, ny = grid
    cells = nx * ny
    nodes: list[onnx.NodeProto] = []

    def const(name: str, value: Any, dtype: Any = np.int64) -> str:
        return _constant(nodes, f"tao_import/{name}", np.array(value, dtype))

    def op(kind: str, inputs: Sequence[str], name: str, **attrs: Any) -> str:
        nodes.append(make(kind, list(inputs), [f"tao_import/{name}"], name=f"tao_import/{name}",
                          **attrs))
        return f"tao_import/{name}"

    coords = op("Cast", ["pillar_coords"], "coords64", to=onnx.TensorProto.INT64)
    row = op("Gather", [coords, const("zero", 0)], "iy", axis=2)
    col = op("Gather", [coords, const("one", 1)], "ix", axis=2)
    flat = op("Add", [op("Mul", [row, const("nx", nx)], "iy_nx"), col], "cell")
    shape = op("Shape", [features], "feature_shape")
    pillars = op("Gather", [shape, const("one_", 1)], "pillars", axis=0)
    channels = op("Slice", [shape, const("two", [2]), const("three", [3])], "channels")
    rows = op("Range", [const("zero_", 0), pillars, const("step", 1)], "rows")
    count = op("Cast", [op("Reshape", ["num_pillars", const("one_one", [1, 1])], "count32")],
               "count", to=onnx.TensorProto.INT64)
    valid = op("Less", [op("Unsqueeze", [rows, const("axis0", [0])], "rows_1p"), count], "valid")
    target = op("Where", [valid, flat, const("spill", cells)], "target")
    index = op("Reshape", [target, const("index_shape", [-1, 1])], "index")
    updates = op("Reshape", [features, op("Concat", [const("minus_one", [-1]), channels],
                                          "update_shape", axis=0)], "updates")
    zeros = op("ConstantOfShape", [op("Concat", [const("cells", [cells + 1]), channels],
                                      "canvas_shape", axis=0)], "zeros",
               value=onnx.numpy_helper.from_array(np.zeros(1, np.float32)))
    filled = op("ScatterND", [zeros, index, updates], "filled")
    kept = op("Slice", [filled, const("start", [0]), const("stop", [cells]),
                        const("axes", [0])], "kept")
    transposed = op("Transpose", [kept], "channels_first", perm=[1, 0])
    nodes.append(make("Reshape", [transposed, const("canvas", [1, -1, ny, nx])], [canvas],
                      name="tao_import/canvas"))
    return nodes


def _native_heads(config: ModelConfig, inputs: Sequence[str]) -> list[onnx.NodeProto]:
    """Nodes turning DecodeBbox3D's (1, H, W, A * n) inputs into native (1, K, n) outputs."""
    import onnx

    nodes: list[onnx.NodeProto] = []
    widths = (config.num_classes, 7, config.num_dir_bins)
    for head, tensor, width in zip(NATIVE_OUTPUTS, inputs, widths):
        shape = _constant(nodes, f"tao_import/{head}_shape", np.array([1, -1, width], np.int64))
        out = f"tao_import/{head}_corner" if head == "box_preds" else head
        nodes.append(onnx.helper.make_node("Reshape", [tensor, shape], [out],
                                           name=f"tao_import/{head}"))
    shift = _constant(nodes, "tao_import/anchor_shift", -anchor_residual_shift(config)[None])
    nodes.append(onnx.helper.make_node("Add", ["tao_import/box_preds_corner", shift],
                                       ["box_preds"], name="tao_import/anchor_shift_add"))
    return nodes


def _named_config(model: onnx.ModelProto, class_names: Sequence[str] | None,
                  source: str) -> ModelConfig:
    config, known = tao_model_config(model, source)
    if class_names is None or not class_names:
        if not known:
            raise ConfigError(
                f"{source} carries no class names and has {config.num_classes} classes; give "
                f"{config.num_classes} names in the order the model was trained with "
                "(import-tao --class-names, or the node's class_names parameter)")
        return config
    if known and tuple(class_names) != config.class_names:
        raise ConfigError(f"class_names {list(class_names)} do not match the classes of "
                          f"{source}: {list(config.class_names)}; set them to those (same order)")
    try:
        return config.with_class_names(class_names)
    except ConfigError as exc:
        raise ConfigError(f"{source} carries no class names: {exc}") from exc


def import_tao(tao: onnx.ModelProto, class_names: Sequence[str] | None = None,
               source: str = "model",
               intensity_range: Sequence[float] | None = None) -> onnx.ModelProto:
    """
    Turn a TAO-layout model into a plain-operator model in this package's native contract.

    VoxelGenerator becomes the inputs ``pillar_features`` / ``pillar_coords`` /
    ``num_pillars`` (this package pillarizes on the host with the plugin's encoding and
    limits), PillarScatter standard operators, and DecodeBbox3D the native head outputs whose
    anchors, bottom heights, direction settings and range go into the metadata. The network
    itself is kept bit-exact. ``class_names`` name the classes of a model that carries none;
    ``intensity_range`` is the model's own (default: its metadata, else
    :data:`TAO_INTENSITY_RANGE`).
    """
    import onnx

    config = _named_config(tao, class_names, source)
    if intensity_range is not None:
        try:
            config = replace(config, intensity_range=_floats(intensity_range, 2))  # type: ignore
        except ConfigError as exc:
            raise ConfigError(f"intensity_range {list(intensity_range)}: {exc}") from exc
    voxel_node = _plugin_node(tao, VOXEL_GENERATOR, source)
    scatter_node = _plugin_node(tao, PILLAR_SCATTER, source)
    decode_node = _plugin_node(tao, DECODE_BBOX_3D, source)
    model = onnx.ModelProto()
    model.CopyFrom(tao)
    graph = model.graph
    voxels, coords, counts = voxel_node.output
    readers = [n.name for n in graph.node if n.name != scatter_node.name
               and (coords in n.input or counts in n.input)]
    if readers:
        raise ModelLoadError(f"{source}: nodes {readers} read the VoxelGenerator's pillar "
                             "coordinates or count; import-tao expects only PillarScatter to")
    at = _producer_index(graph, scatter_node.output[0])
    del graph.node[at]
    for offset, node in enumerate(_scatter_nodes(scatter_node.input[0], scatter_node.output[0],
                                                 config.pillars.grid_size)):
        graph.node.insert(at + offset, node)
    _rename_input(graph, voxels, "pillar_features")
    heads = list(decode_node.input)
    produced = {name for node in graph.node for name in node.output}
    for name in set(NATIVE_OUTPUTS) & produced:  # free the output names (TAO uses them inside)
        _rename_tensor(graph, name, f"{name}/tao")
        heads = [f"{name}/tao" if head == name else head for head in heads]
    graph.node.extend(_native_heads(config, heads))
    p = config.pillars
    metadata = {e.key: e.value for e in tao.metadata_props}
    pillar_axis: int | str = ("pillars" if metadata.get(PILLAR_AXIS_KEY) == "dynamic"
                              else p.max_pillars)
    k = len(generate_anchors(config).reshape(-1, 7))
    _replace_io(graph, inputs=[
        _tensor_info("pillar_features", onnx.TensorProto.FLOAT,
                     [1, pillar_axis, p.max_points_per_pillar, NUM_POINT_FEATURES]),
        _tensor_info("pillar_coords", onnx.TensorProto.INT32, [1, pillar_axis, 2]),
        _tensor_info("num_pillars", onnx.TensorProto.INT32, [1])], outputs=[
        _tensor_info(name, onnx.TensorProto.FLOAT, [1, k, width]) for name, width in zip(
            NATIVE_OUTPUTS, (config.num_classes, 7, config.num_dir_bins))])
    del graph.value_info[:]  # shapes of the plugin era; ONNX Runtime infers its own
    decode = plugin_attributes(decode_node)
    metadata = {key: value for key, value in metadata.items()
                if key not in (LAYOUT_KEY, PILLAR_AXIS_KEY)}
    metadata.update(config.to_metadata())
    metadata[SCORE_THRESH_KEY] = json.dumps(_decimal(decode["score_thresh"]))
    metadata["tao_pointpillars.imported_from"] = "TAO deployable layout (import-tao)"
    _set_metadata(model, metadata)
    return model
