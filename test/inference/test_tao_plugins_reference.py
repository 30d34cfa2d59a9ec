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
export_tao's semantics against the numpy references of the TensorRT OSS plugins.

test/tao_plugins.py implements VoxelGeneratorPlugin, PillarScatterPlugin and
DecodeBbox3DPlugin from their kernels (voxelGeneratorKernels.cu, pillarScatterKernels.cu,
decodeBbox3DKernels.cu of NVIDIA/TensorRT), independently of this package's pillarization and
decode. The first tests pin the kernel facts the references encode on hand-made inputs; the
last runs the reference model in TAO's layout (``export_tao``) through them and compares the
detections with the native model's on ONNX Runtime: equal labels, boxes and scores within 1e-4.
"""

import numpy as np
import onnx
from onnx_fixtures import REFERENCE_MODEL
import pytest
from tao_plugins import (decode_bbox_3d, pillar_scatter, PluginGraph, run_with_plugins,
                         voxel_generator)

from tao_pointpillars_py.core.pointcloud2 import map_intensity
from tao_pointpillars_py.core.postprocess import decode_tao_boxes
from tao_pointpillars_py.inference.detector import Detector
from tao_pointpillars_py.inference.tao_layout import (DECODE_BBOX_3D, export_tao,
                                                      plugin_attributes, VOXEL_GENERATOR)
from tao_pointpillars_py.sim.frame import simulate_frame

VOXELS = {"max_voxels": 3, "max_num_points_per_voxel": 2, "voxel_feature_num": 10,
          "point_cloud_range": [0.0, 0.0, -2.0, 4.0, 2.0, 2.0], "voxel_size": [1.0, 1.0, 4.0]}
CLOUDS = 5
TOLERANCE = 1e-4


def frame(points, count=None):
    """Give points [1, 8, 4] zero-padded and num_points [1] (default: the real count)."""
    padded = np.zeros((1, 8, 4), np.float32)
    padded[0, :len(points)] = points
    return padded, np.array([len(points) if count is None else count], np.int32)


# --- the references hold the kernel facts --------------------------------------------------

def test_voxel_generator_numbers_pillars_by_cell_and_fills_slots_in_input_order():
    points = [[3.5, 1.5, 0.0, 0.1],   # cell (y 1, x 3): linear index 7
              [0.5, 0.5, 1.0, 0.2],   # cell (0, 0): index 0
              [3.2, 1.2, 0.5, 0.3],   # cell 7 again
              [3.9, 1.9, -1.0, 0.4],  # cell 7: past P = 2, dropped
              [4.0, 0.5, 0.0, 0.5],   # x = max: outside ([min, max) range test)
              [0.5, 0.5, 2.0, 0.6]]   # z = max: outside
    voxels, coords, num = voxel_generator(*frame(points), VOXELS)
    assert num.tolist() == [2] and voxels.shape == (1, 3, 2, 10) and coords.dtype == np.int32
    assert coords[0].tolist() == [[0, 0, 0, 0], [0, 0, 1, 3], [0, 0, 0, 0]]  # (0, 0, y, x)
    first, second = voxels[0, 1]  # the cell-7 pillar: points 0 and 2, in that order
    np.testing.assert_allclose(first[:4], points[0])
    np.testing.assert_allclose(second[:4], points[2])
    mean = (np.array(points[0][:3]) + np.array(points[2][:3])) / 2  # over the kept points only
    np.testing.assert_allclose(first[4:7], np.array(points[0][:3]) - mean, atol=1e-6)
    centre = [3.5, 1.5, 0.0]  # min + (idx + 0.5) * size; z: zmin + size_z / 2
    np.testing.assert_allclose(second[7:10], np.array(points[2][:3]) - centre, atol=1e-6)
    assert not voxels[0, 0, 1].any() and not voxels[0, 2].any()  # empty slots and pillars: zero


def test_voxel_generator_ignores_points_past_num_points_and_caps_the_pillars():
    points = [[x + 0.5, 0.5, 0.0, 1.0] for x in range(4)]  # four cells in one row
    _, coords, num = voxel_generator(*frame(points, count=3), VOXELS)
    assert num.tolist() == [3] and coords[0, :, 3].tolist() == [0, 1, 2]
    _, coords, num = voxel_generator(*frame(points), VOXELS)  # 4 pillars > max_voxels 3
    assert num.tolist() == [3] and coords[0, :, 3].tolist() == [0, 1, 2]


def test_pillar_scatter_writes_column_three_as_x_and_ignores_pillars_past_the_count():
    features = np.arange(2 * 64, dtype=np.float32).reshape(1, 2, 64)
    coords = np.array([[[0, 0, 1, 2], [0, 0, 0, 0]]], np.int32)
    canvas = pillar_scatter(features, coords, np.array([1], np.int32), {"dense_shape": [2, 3]})
    assert canvas.shape == (1, 64, 2, 3)
    np.testing.assert_array_equal(canvas[0, :, 1, 2], features[0, 0])
    assert np.count_nonzero(canvas) == np.count_nonzero(features[0, 0])


def decode_attributes(score_thresh=0.5):
    return {"point_cloud_range": [0.0, -1.0, -3.0, 2.0, 1.0, 1.0], "anchor_bottom_height": [-1.0],
            "anchors": [4.0, 3.0, 2.0, 0.0, 4.0, 3.0, 2.0, 1.57], "dir_offset": 0.78539,
            "dir_limit_offset": 0.0, "num_dir_bins": 2, "score_thresh": score_thresh}


def test_decode_bbox_3d_uses_corner_anchors_and_the_kernels_thresholds():
    """One class, two anchors per cell, a 2 x 2 head: box rows in (location, anchor) order."""
    cls = np.full((1, 2, 2, 2), -5.0, np.float32)
    cls[0, 1, 1, 0] = 0.0  # sigmoid 0.5 >= thresh 0.5: kept; location 3, anchor 0
    cls[0, 0, 1, 1] = 2.0  # location 1, anchor 1
    box = np.zeros((1, 2, 2, 14), np.float32)
    dirs = np.zeros((1, 2, 2, 4), np.float32)  # equal logits: label 1
    boxes, num = decode_bbox_3d(cls, box, dirs, decode_attributes())
    assert num.dtype == np.int32 and num.tolist() == [2] and boxes.shape == (1, 8, 9)
    loc1, loc3 = boxes[0, :2]
    np.testing.assert_allclose(loc1[:6], [2.0, -1.0, 0.0, 4.0, 3.0, 2.0])  # corner (col 1, row 0)
    np.testing.assert_allclose(loc3[:2], [2.0, 1.0])
    np.testing.assert_allclose(loc3[8], 0.5)
    yaw = 0.0 - np.floor((0.0 - 0.78539) / np.pi) * np.pi + np.pi  # limit_period, label 1
    np.testing.assert_allclose(loc3[6], yaw, rtol=1e-6)
    assert not boxes[0, 2:].any()  # rows past num_boxes: zero here


# --- export_tao against the references ---------------------------------------------------------

@pytest.fixture(scope="module")
def tao_graph():
    return PluginGraph(export_tao(onnx.load(str(REFERENCE_MODEL))))


def test_the_export_tao_model_detects_as_the_native_model(tao_graph):
    native = Detector.from_model(str(REFERENCE_MODEL))
    capacity = tao_graph.model.graph.input[0].type.tensor_type.shape.dim[1].dim_value
    worst = {"boxes": 0.0, "scores": 0.0}
    orders_differ = 0
    for index in range(CLOUDS):
        cloud = simulate_frame(11, index).points
        scaled = map_intensity(cloud, native.intensity_range, native.config.intensity_range)
        points = np.zeros((1, capacity, 4), np.float32)
        points[0, :len(scaled)] = scaled
        count = np.array([len(scaled)], np.int32)
        out = tao_graph.run({"points": points, "num_points": count})
        got = decode_tao_boxes(out["output_boxes"][0], int(out["num_boxes"][0]), native.post)
        expected = native.detect(cloud)
        assert got.labels.tolist() == expected.labels.tolist() and len(got.labels) > 0
        for field in worst:
            difference = np.abs(getattr(got, field) - getattr(expected, field)).max()
            worst[field] = max(worst[field], float(difference))
        orders_differ += _pillar_orders_differ(tao_graph, native, cloud, points, count)
    assert worst["boxes"] <= TOLERANCE and worst["scores"] <= TOLERANCE, worst
    assert orders_differ == CLOUDS  # the pillar order is not what makes them equal
    assert tao_graph.plugin_calls[:3] == ["VoxelGeneratorPlugin", "PillarScatterPlugin",
                                          "DecodeBbox3DPlugin"]
    print(f"export_tao through the plugin references vs native, {CLOUDS} clouds: {worst}")


def _pillar_orders_differ(graph, native, cloud, points, count):
    """Tell whether the reference VoxelGenerator numbers the pillars unlike the native encoder."""
    node = next(n for n in graph.model.graph.node if n.op_type == VOXEL_GENERATOR)
    _, coords, num = voxel_generator(points, count, plugin_attributes(node))
    ours = native.model_inputs(cloud)
    native_coords = ours["pillar_coords"][0, :int(ours["num_pillars"][0])]
    reference = coords[0, :int(num[0]), 2:]
    assert sorted(map(tuple, reference.tolist())) == sorted(map(tuple, native_coords.tolist()))
    return int(not np.array_equal(reference, native_coords))


def test_run_with_plugins_gives_the_graph_outputs(tao_graph):
    cloud = np.zeros((1, tao_graph.model.graph.input[0].type.tensor_type.shape.dim[1].dim_value,
                      4), np.float32)
    out = run_with_plugins(tao_graph.model, {"points": cloud,
                                             "num_points": np.array([0], np.int32)})
    node = next(n for n in tao_graph.model.graph.node if n.op_type == DECODE_BBOX_3D)
    assert list(out) == list(node.output)
    assert out["num_boxes"].dtype == np.int32 and out["output_boxes"].dtype == np.float32
    assert out["output_boxes"].shape[1] == tao_graph.model.graph.output[0].type.tensor_type \
        .shape.dim[1].dim_value
