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
Numpy references of TAO's three TensorRT OSS plugins, and a runner of graphs that hold them.

Written from the CUDA kernels of NVIDIA/TensorRT (``plugin/common/kernels/
voxelGeneratorKernels.cu``, ``pillarScatterKernels.cu``, ``decodeBbox3DKernels.cu``; line
numbers of the snapshot a892d222, unchanged in meaning since OSS 22.02) and the plugins'
``enqueue`` (``plugin/*Plugin/*.cpp``), independently of this package's pillarization and
decode: the fake TensorRT (tensorrt_fake.py) runs TAO-layout engines with them, and
test_tao_plugins_reference.py checks ``export_tao`` against them.

Where the kernels race (``atomicAdd`` on slot and pillar counters), one legal outcome is taken
deterministically, and deliberately NOT this package's: points claim a pillar's slots in input
order, pillars are numbered in the base-features kernel's thread order (BEV cells by linear
index ``y * grid_x + x``), boxes come in thread order (location, then anchor). Floating point
is float32 in the kernels' operation order (no fused multiply-add).

:func:`run_with_plugins` evaluates a model with plugin nodes: the standard-operator segments
between them run in ONNX Runtime (``onnx.utils.Extractor`` on the tensors known so far), the
plugin nodes here.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np
import onnx
import onnx.utils
import onnxruntime as ort

from tao_pointpillars_py.inference.tao_layout import (DECODE_BBOX_3D, PILLAR_SCATTER,
                                                      plugin_attributes, PLUGIN_OPS,
                                                      VOXEL_GENERATOR)

F32 = np.float32
#: PillarScatter's kernel hard-codes the features per pillar (pillarScatterKernels.cu:27)
PILLAR_FEATURE_SIZE = 64


def np_round(value: float) -> int:
    """
    Round half to even, as VoxelGenerator's grid size (voxelGenerator.cpp:40-49 ``npRound``).

    The plugin computes ``npRound((max - min) / size)`` in float32 (voxelGenerator.cpp:218-220).
    """
    return int(np.round(F32(value)))


def grid_size(attrs: Mapping[str, Any]) -> tuple[int, int]:
    """(grid_x, grid_y) of VoxelGenerator's attributes (voxelGenerator.cpp:218-219)."""
    r = np.asarray(attrs["point_cloud_range"], F32)
    v = np.asarray(attrs["voxel_size"], F32)
    return np_round((r[3] - r[0]) / v[0]), np_round((r[4] - r[1]) / v[1])


# --- VoxelGeneratorPlugin ----------------------------------------------------------------------

def voxel_generator(points: np.ndarray, num_points: np.ndarray,
                    attrs: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """
    VoxelGeneratorPlugin: ``voxels`` [B, V, P, 10], ``voxel_coords`` [B, V, 4], ``num_pillar``.

    Inputs ``points`` [B, M, 4] float32 and ``num_points`` [B] (read as uint32,
    voxelGenerator.cpp:265); outputs zeroed first (voxelGenerator.cpp:289-294), then per frame
    :func:`_voxelize_frame`. Only 4 channels per point (the ``generateFeatures_kernel_4x`` path,
    voxelGeneratorKernels.cu:376-389) and 10 features per point are modelled.
    """
    points = np.asarray(points, F32)
    if points.ndim != 3 or points.shape[2] != 4 or int(attrs["voxel_feature_num"]) != 10:
        raise NotImplementedError(f"the reference models points [B, M, 4] and 10 features, got "
                                  f"{points.shape} and {attrs['voxel_feature_num']}")
    batch, capacity = points.shape[:2]
    v, p = int(attrs["max_voxels"]), int(attrs["max_num_points_per_voxel"])
    voxels = np.zeros((batch, v, p, 10), F32)
    coords = np.zeros((batch, v, 4), np.int32)
    counts = np.asarray(num_points).astype(np.int64).reshape(-1).astype(np.uint32)
    num_pillar = np.zeros(batch, np.int32)
    for b in range(batch):
        valid = points[b, :min(int(counts[b]), capacity)]  # :38 point_idx >= points_size returns
        num_pillar[b] = _voxelize_frame(valid, attrs, voxels[b], coords[b])
    return voxels, coords, num_pillar


def _voxelize_frame(points: np.ndarray, attrs: Mapping[str, Any], voxels: np.ndarray,
                    coords: np.ndarray) -> int:
    """
    One frame of the three kernels into ``voxels`` / ``coords``; the pillar count.

    ``generateVoxels_kernel`` (voxelGeneratorKernels.cu:47-54): the half-open range test on x, y
    and z, ``floorf((p - min) / size)`` with no clamp, slot ``atomicAdd(&mask[cell], 1)``, points
    past P dropped. ``generateBaseFeatures_kernel`` (:77-89): one pillar per non-empty cell,
    coordinate ``(0, 0, y, x)``, count ``min(count, P)``. ``generateFeatures_kernel_4x``
    (:280-285): pillars past ``max_voxels`` are dropped (``num_pillar`` clamped).
    """
    r = np.asarray(attrs["point_cloud_range"], F32)
    size = np.asarray(attrs["voxel_size"], F32)
    grid_x, grid_y = grid_size(attrs)
    v, p = voxels.shape[:2]
    x, y, z = points[:, 0], points[:, 1], points[:, 2]
    with np.errstate(invalid="ignore"):  # NaN fails no test in the kernel: UB there, dropped here
        inside = ((x >= r[0]) & (x < r[3]) & (y >= r[1]) & (y < r[4]) & (z >= r[2])
                  & (z < r[5]))
    points = points[inside]
    ix = np.floor((points[:, 0] - r[0]) / size[0]).astype(np.int64)
    iy = np.floor((points[:, 1] - r[1]) / size[1]).astype(np.int64)
    cell = iy * grid_x + ix  # an x of grid_x (float rounding at the edge) lands in the next row
    in_mask = (cell >= 0) & (cell < grid_x * grid_y)  # past the mask: out of bounds on the GPU
    points, cell = points[in_mask], cell[in_mask]
    order = np.argsort(cell, kind="stable")  # slots claimed in input order
    points, cell = points[order], cell[order]
    cells, first, counts = np.unique(cell, return_index=True, return_counts=True)
    slot = np.arange(cell.size) - np.repeat(first, counts)
    pillar = np.repeat(np.arange(cells.size), counts)  # cells in linear-index (thread) order
    kept = (slot < p) & (pillar < v)
    raw = np.zeros((v, p, 4), F32)
    raw[pillar[kept], slot[kept]] = points[kept]
    used = min(cells.size, v)
    coords[:used, 2] = cells[:used] // grid_x
    coords[:used, 3] = cells[:used] % grid_x
    _point_features(raw[:used], np.minimum(counts[:used], p), coords[:used], attrs,
                    voxels[:used])
    return used


def _point_features(raw: np.ndarray, counts: np.ndarray, coords: np.ndarray,
                    attrs: Mapping[str, Any], out: np.ndarray) -> None:
    """
    Write the 10 features of ``generateFeatures_kernel_4x`` (voxelGeneratorKernels.cu:300-349).

    x, y, z, w; minus the mean of x, y, z over the pillar's kept points (:301-315, float32
    sums); minus the pillar centre ``size / 2 + idx * size + min`` (:317-324, z index 0);
    slots past the pillar's count are zero (:338-349).
    """
    r = np.asarray(attrs["point_cloud_range"], F32)
    size = np.asarray(attrs["voxel_size"], F32)
    total = np.zeros((raw.shape[0], 3), F32)
    for slot in range(raw.shape[1]):  # float32 sums (the kernel's atomicAdd order is racy)
        total += raw[:, slot, :3]
    mean = total / counts.astype(F32)[:, None]
    half = size / F32(2.0)
    centre = np.stack([half[0] + coords[:, 3].astype(F32) * size[0] + r[0],
                       half[1] + coords[:, 2].astype(F32) * size[1] + r[1],
                       np.full(len(coords), half[2] + F32(0.0) * size[2] + r[2], F32)], axis=1)
    xyz = raw[:, :, :3]
    features = np.concatenate([raw, xyz - mean[:, None], xyz - centre[:, None]], axis=2)
    valid = np.arange(raw.shape[1])[None, :] < counts[:, None]
    out[...] = np.where(valid[:, :, None], features, F32(0.0))


# --- PillarScatterPlugin -----------------------------------------------------------------------

def pillar_scatter(features: np.ndarray, coords: np.ndarray, num_pillar: np.ndarray,
                   attrs: Mapping[str, Any]) -> np.ndarray:
    """
    PillarScatterPlugin: pillar features [B, V, 64] onto a zeroed [B, 64, H, W] canvas.

    ``dense_shape`` is ``[H, W]`` (pillarScatter.cpp:251-252); the output is zeroed first
    (pillarScatter.cpp:134-135,143-144); per frame, pillar i < ``num_pillar[b]`` is written at
    row ``coords[i, 2]``, column ``coords[i, 3]`` (pillarScatterKernels.cu:50-57); later
    pillars are ignored. The kernel has no bounds check; a coordinate off the canvas raises.
    """
    features = np.asarray(features)
    batch, pillars = features.shape[:2]
    flat = features.reshape(batch, pillars, -1)
    if flat.shape[2] != PILLAR_FEATURE_SIZE:
        raise ValueError(f"PillarScatter's kernel takes {PILLAR_FEATURE_SIZE} features per "
                         f"pillar (pillarScatterKernels.cu:27), got {flat.shape[2]}")
    height, width = (int(d) for d in attrs["dense_shape"])
    canvas = np.zeros((batch, PILLAR_FEATURE_SIZE, height, width), features.dtype)
    for b in range(batch):
        n = int(np.asarray(num_pillar).reshape(-1)[b])
        row, col = coords[b, :n, 2].astype(np.int64), coords[b, :n, 3].astype(np.int64)
        if n and (row.min() < 0 or row.max() >= height or col.min() < 0 or col.max() >= width):
            raise IndexError(f"pillar coordinates off the {height}x{width} canvas")
        canvas[b][:, row, col] = flat[b, :n].T
    return canvas


# --- DecodeBbox3DPlugin ------------------------------------------------------------------------

def decode_bbox_3d(cls_preds: np.ndarray, box_preds: np.ndarray, dir_cls_preds: np.ndarray,
                   attrs: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """
    DecodeBbox3DPlugin: ``output_boxes`` [B, H*W*A, 9] and ``num_boxes`` [B] int32.

    Inputs NHWC: [B, H, W, A*K], [B, H, W, A*7], [B, H, W, A*2] with K classes (the length of
    ``anchor_bottom_height``, decodeBbox3D.cpp:55) and A = 2K anchors (decodeBbox3D.cpp:263).
    ``num_boxes`` is zeroed (decodeBbox3D.cpp:260); each box with a score >= ``score_thresh``
    takes the next row (decodeBbox3DKernels.cu:93, :122-132). Rows past ``num_boxes`` are
    zero here (stale on the GPU, which never clears them).
    """
    batch, height, width = cls_preds.shape[:3]
    k = len(attrs["anchor_bottom_height"])
    a = 2 * k
    boxes = np.zeros((batch, height * width * a, 9), F32)
    num_boxes = np.zeros(batch, np.int32)
    for b in range(batch):
        rows = _decode_frame(np.asarray(cls_preds[b], F32).reshape(height * width, a, k),
                             np.asarray(box_preds[b], F32).reshape(height * width, a, 7),
                             np.asarray(dir_cls_preds[b], F32).reshape(height * width, a, 2),
                             (height, width), attrs)
        boxes[b, :len(rows)] = rows
        num_boxes[b] = len(rows)
    return boxes, num_boxes


def _decode_frame(cls: np.ndarray, box: np.ndarray, dirs: np.ndarray, shape: tuple[int, int],
                  attrs: Mapping[str, Any]) -> np.ndarray:
    """
    Rows (x, y, z, dx, dy, dz, yaw, class, score) of one frame, in thread order (location, anchor).

    ``postprocess_kernal`` (decodeBbox3DKernels.cu:75-121): corner-aligned anchor centres
    ``min + col * (max - min) / (W - 1)`` (:77-78); score = the largest sigmoid, ties to the
    lower class (:82-90); anchor ``a`` = ``anchors[4a:4a+4]`` (dx, dy, dz, rot) with
    ``z = dz / 2 + anchor_bottom_height[a / 2]`` (:97-99); the residual decode (:108-115); the
    direction label 0 only when logit 0 > logit 1 (:117) and the ``limit_period`` yaw (:118-121).
    """
    height, width = shape
    r = np.asarray(attrs["point_cloud_range"], F32)
    anchors = np.asarray(attrs["anchors"], F32).reshape(-1, 4)
    bottoms = np.asarray(attrs["anchor_bottom_height"], F32)
    loc = np.arange(height * width)
    col, row = (loc % width).astype(F32), (loc // width).astype(F32)
    x_a = (r[0] + col * (r[3] - r[0]) / F32(width - 1))[:, None]
    y_a = (r[1] + row * (r[4] - r[1]) / F32(height - 1))[:, None]
    z_a = anchors[:, 2] / F32(2) + bottoms[np.arange(len(anchors)) // 2]
    with np.errstate(over="ignore"):  # expf(-x) overflows to inf as on the GPU: score 0
        scores = F32(1.0) / (F32(1.0) + np.exp(-cls))
    cls_id, best = np.argmax(scores, axis=2), np.max(scores, axis=2)
    fired = best >= F32(attrs["score_thresh"])
    dx, dy, dz, ra = (anchors[:, i] for i in range(4))
    diagonal = np.sqrt(dx * dx + dy * dy)
    decoded = [box[..., 0] * diagonal + x_a, box[..., 1] * diagonal + y_a,
               box[..., 2] * dz + z_a, np.exp(box[..., 3]) * dx, np.exp(box[..., 4]) * dy,
               np.exp(box[..., 5]) * dz]
    label = np.where(dirs[..., 0] > dirs[..., 1], F32(0), F32(1))
    period = F32(F32(2.0) * F32(np.pi) / F32(int(attrs["num_dir_bins"])))
    offset, limit = F32(attrs["dir_offset"]), F32(attrs["dir_limit_offset"])
    val = (box[..., 6] + ra) - offset
    dir_rot = val - np.floor(val / period + limit) * period
    yaw = dir_rot + offset + period * label
    rows = np.stack([*decoded, yaw, cls_id.astype(F32), best], axis=2).astype(F32)
    return rows[fired]  # boolean indexing keeps (location, anchor) order


PLUGINS: dict[str, Callable[..., Any]] = {
    VOXEL_GENERATOR: voxel_generator, PILLAR_SCATTER: pillar_scatter,
    DECODE_BBOX_3D: decode_bbox_3d}


# --- graphs with plugin nodes ------------------------------------------------------------------

class PluginGraph:
    """
    A model with plugin nodes, evaluated segment by segment (see :func:`run_with_plugins`).

    ONNX Runtime sessions of the standard-operator segments are kept per input shapes, so an
    engine of the fake TensorRT runs frame after frame without rebuilding them.
    """

    def __init__(self, model: onnx.ModelProto) -> None:
        self.model = model
        self.initializers = {init.name for init in model.graph.initializer}
        self.outputs = [o.name for o in model.graph.output]
        self.steps = _steps(model)
        self._sessions: dict[tuple[Any, ...], tuple[Any, list[str], list[str]]] = {}
        self.plugin_calls: list[str] = []  # op types, in the order they ran

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Evaluate the graph outputs from ``feeds`` (the graph inputs)."""
        known = {name: np.asarray(value) for name, value in feeds.items()}
        for index, step in enumerate(self.steps):
            if isinstance(step, onnx.NodeProto):
                attrs = plugin_attributes(step)
                results = PLUGINS[step.op_type](*(known[n] for n in step.input), attrs)
                results = results if isinstance(results, tuple) else (results,)
                known.update(zip(step.output, results))
                self.plugin_calls.append(step.op_type)
            else:
                known.update(self._run_segment(index, step, known))
        return {name: known[name] for name in self.outputs}

    def _run_segment(self, index: int, nodes: list[onnx.NodeProto],
                     known: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        inputs = sorted({n for node in nodes for n in node.input if n in known})
        key = (index, *((n, known[n].shape, known[n].dtype.str) for n in inputs))
        if key not in self._sessions:
            outputs = self._segment_outputs(index)
            self._sessions[key] = (self._session(inputs, outputs, known), inputs, outputs)
        session, inputs, outputs = self._sessions[key]
        values = session.run(outputs, {n: known[n] for n in inputs})
        return dict(zip(outputs, values))

    def _segment_outputs(self, index: int) -> list[str]:
        """Tensors segment ``index`` makes that a later step or the graph outputs read."""
        made = [n for node in self.steps[index] for n in node.output if n]
        later = set(self.outputs)
        for step in self.steps[index + 1:]:
            for node in (step if isinstance(step, list) else [step]):
                later.update(node.input)
        return [n for n in made if n in later]

    def _session(self, inputs: list[str], outputs: list[str],
                 known: Mapping[str, np.ndarray]) -> Any:
        """Open an ONNX Runtime session on the nodes between ``inputs`` and ``outputs``."""
        typed = onnx.ModelProto()
        typed.CopyFrom(self.model)
        graph_inputs = {i.name for i in typed.graph.input}
        del typed.graph.value_info[:]
        typed.graph.value_info.extend(
            onnx.helper.make_tensor_value_info(
                name, onnx.helper.np_dtype_to_tensor_dtype(value.dtype), value.shape)
            for name, value in known.items() if name not in graph_inputs)
        typed = onnx.shape_inference.infer_shapes(typed)  # types past the plugins' outputs
        segment = onnx.utils.Extractor(typed).extract_model(inputs, outputs)
        return ort.InferenceSession(segment.SerializeToString(),
                                    providers=["CPUExecutionProvider"])


def _steps(model: onnx.ModelProto) -> list[Any]:
    """Split the graph into plugin nodes and lists of consecutive standard nodes, in order."""
    steps: list[Any] = []
    for node in model.graph.node:
        if node.op_type in PLUGIN_OPS:
            steps.append(node)
        elif steps and isinstance(steps[-1], list):
            steps[-1].append(node)
        else:
            steps.append([node])
    return steps


def run_with_plugins(model: onnx.ModelProto,
                     feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """
    Evaluate a model that holds TAO plugin nodes: its graph outputs by name.

    Standard-operator segments run in ONNX Runtime, extracted with ``onnx.utils.Extractor``
    between the tensors known so far and those later steps read; plugin nodes run the numpy
    references above with their ONNX attributes.
    """
    return PluginGraph(model).run(feeds)
