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
Integration tests of the node: its own process, real Fast DDS on loopback, the reference model.

Skipped where rclpy and vision_msgs do not import (scripts/setup-ros.sh provides both; CI runs
it through scripts/test.sh).
"""

import re

from cloud_fixtures import XYZI_16, ZVISION_DRIVER
import numpy as np
import onnx
import pytest

pytest.importorskip("rclpy", reason="ROS 2 not installed: run scripts/setup-ros.sh")
pytest.importorskip("vision_msgs.msg", reason="vision_msgs missing: run scripts/setup-ros.sh")

from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue  # noqa: E402
from rcl_interfaces.srv import SetParameters  # noqa: E402
from ros_fixtures import (cloud_message, Harness, REFERENCE_MODEL, start_node,  # noqa: E402
                          wait_until)
from tao_pointpillars_py.core.boxes import (Extrinsic, quaternion_yaw,  # noqa: E402
                                            transform_boxes, transform_points)
from tao_pointpillars_py.core.pointcloud2 import points_from_cloud  # noqa: E402
from tao_pointpillars_py.errors import CloudFormatError  # noqa: E402
from tao_pointpillars_py.inference.detector import Detector  # noqa: E402
from tao_pointpillars_py.inference.tao_layout import export_tao  # noqa: E402
from tao_pointpillars_py.sim import simulate_frame  # noqa: E402
from tao_pointpillars_py.tools.processes import stop_process  # noqa: E402
from visualization_msgs.msg import Marker  # noqa: E402

CLASSES = ("Vehicle", "Pedestrian", "Cyclist")


def _points(seed: int) -> np.ndarray:
    points = simulate_frame(seed, 0).points.copy()
    points[:, 3] = np.round(points[:, 3])  # integer intensity: exact in every layout below
    return points


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    log = tmp_path_factory.mktemp("node") / "node.log"
    process = start_node("-r", "point_cloud:=/point_cloud", log_path=log)
    harness = Harness()
    try:
        harness.wait_for_node(process)
        yield harness, process, log
    finally:
        harness.close()
        stop_process(process, timeout_s=15)


def _angle_difference(a: float, b: float) -> float:
    return float(np.abs((a - b + np.pi) % (2 * np.pi) - np.pi))


def _check_against_detector(answer, points, stamp_ns):
    boxes_msg, markers_msg = answer
    expected = Detector.from_model(str(REFERENCE_MODEL)).detect(points)
    assert len(expected) > 0
    assert boxes_msg.header.frame_id == "lidar_front"
    assert boxes_msg.header.stamp.sec * 10**9 + boxes_msg.header.stamp.nanosec == stamp_ns
    assert len(boxes_msg.detections) == len(expected)
    for detection, box, score, label in zip(boxes_msg.detections, expected.boxes,
                                            expected.scores, expected.labels):
        centre, size = detection.bbox.center, detection.bbox.size
        got = [centre.position.x, centre.position.y, centre.position.z, size.x, size.y, size.z]
        np.testing.assert_allclose(got, box[:6], atol=1e-5)
        q = centre.orientation
        assert _angle_difference(quaternion_yaw(q.x, q.y, q.z, q.w), float(box[6])) < 1e-6
        assert detection.results[0].hypothesis.class_id == CLASSES[int(label)]
        assert detection.results[0].hypothesis.score == pytest.approx(float(score), abs=1e-6)
        assert detection.header == boxes_msg.header
    markers = markers_msg.markers
    assert markers[0].action == Marker.DELETEALL
    assert len(markers) == 1 + 2 * len(expected)
    assert {m.type for m in markers[1:]} == {Marker.LINE_LIST, Marker.TEXT_VIEW_FACING}
    assert all(len(m.points) == 24 for m in markers[1:] if m.type == Marker.LINE_LIST)


# Nodes of their own on /point_cloud: these run before the module-scoped `running` node starts,
# which would otherwise answer their clouds and latch its LabelInfo for their harness.
def test_class_names_mismatch_stops_the_node_with_a_message(tmp_path):
    log = tmp_path / "node.log"
    process = start_node("-p", "class_names:=[Car, Pedestrian, Cyclist]", log_path=log)
    assert process.wait(timeout=60) == 1
    text = log.read_text()
    assert "class_names ['Car', 'Pedestrian', 'Cyclist'] do not match" in text
    assert "set class_names to ['Vehicle', 'Pedestrian', 'Cyclist']" in text


def _own_node_answer(log, points, stamp, *parameters):
    """Start a node of its own with ``parameters``, send it one cloud, return its answer."""
    process = start_node("-r", "point_cloud:=/point_cloud", *parameters, log_path=log)
    harness = Harness()
    try:
        harness.wait_for_node(process)
        answer = harness.send(cloud_message(points, *ZVISION_DRIVER, stamp))
    finally:
        harness.close()
        stop_process(process, timeout_s=15)
    assert answer is not None, f"no Detection3DArray from the node ({' '.join(parameters)})"
    return answer


def test_int8_node_runs_the_shipped_qdq_model_and_says_so(tmp_path):
    log = tmp_path / "node.log"
    points = _points(seed=12)
    answer = _own_node_answer(log, points, 1_700_000_000_000_000_777, "-p", "precision:=int8")
    int8 = REFERENCE_MODEL.with_name("pointpillars_zvision.int8.onnx")
    expected = Detector.from_model(str(int8)).detect(points)
    # int8 rounding can flip on float noise from another thread split: compare the
    # confident detections, which must all be there, and allow a borderline one or two
    got = np.array([[d.bbox.center.position.x, d.bbox.center.position.y,
                     d.bbox.center.position.z] for d in answer[0].detections])
    confident = expected.boxes[expected.scores >= 0.5, :3]
    assert len(confident) > 0 and abs(len(got) - len(expected)) <= 2
    for centre in confident:
        assert np.min(np.linalg.norm(got - centre, axis=1)) < 0.05
    text = log.read_text()
    assert "backend onnxruntime (ONNX Runtime on CPU), precision int8" in text
    assert "pointpillars_zvision.int8.onnx" in text
    assert "int8 on CPU: 15 ReLUs folded into uint8, 2 DepthToSpace in uint8, 3 1x1 heads" in text


def test_node_answers_with_a_tao_layout_model_as_with_the_native_one(tmp_path):
    tao_file = tmp_path / "reference.tao.onnx"
    onnx.save(export_tao(onnx.load(str(REFERENCE_MODEL))), str(tao_file))
    log = tmp_path / "node.log"
    points, stamp = _points(seed=13), 1_700_000_000_000_000_888
    answer = _own_node_answer(log, points, stamp, "-p", f"model_path:={tao_file}",
                              "-p", "backend:=onnxruntime")
    _check_against_detector(answer, points, stamp)
    text = log.read_text()
    assert "import-tao" in text and str(tao_file) in text


def test_a_tao_export_without_class_names_needs_as_many_class_names(tmp_path):
    model = export_tao(onnx.load(str(REFERENCE_MODEL)))
    del model.metadata_props[:]  # as TAO exports it: no class names, no intensity range
    tao_file = tmp_path / "bare.tao.onnx"
    onnx.save(model, str(tao_file))
    log = tmp_path / "node.log"
    process = start_node("-p", f"model_path:={tao_file}", "-p", "backend:=onnxruntime",
                         "-p", "class_names:=[Car, Pedestrian]", log_path=log)
    assert process.wait(timeout=60) == 1
    text = log.read_text()
    assert f"{tao_file} carries no class names and has 3 classes" in text
    assert "set class_names to 3 names in the order the model was trained with" in text


def test_cloud_to_model_answers_a_y_forward_cloud_in_its_own_frame(tmp_path):
    # a +y-forward cloud (the Zvision driver's frame, 0.6 m higher than the model's lidar)
    to_model = Extrinsic.from_xyz_rpy("cloud", (0.0, 0.0, 0.6), (0.0, 0.0, -90.0))
    points, stamp = _points(seed=14), 1_700_000_000_000_000_999
    driver = transform_points(points, to_model.inverse("model"))
    process = start_node("-r", "point_cloud:=/point_cloud", "-p",
                         "cloud_to_model:=0 0 0.6 0 0 -90", log_path=tmp_path / "node.log")
    harness = Harness()
    try:
        harness.wait_for_node(process)
        answer = harness.send(cloud_message(driver, *ZVISION_DRIVER, stamp,
                                            frame_id="zvision_lidar"))
    finally:
        harness.close()
        stop_process(process, timeout_s=15)
    assert answer is not None, "no Detection3DArray from the node with cloud_to_model"
    boxes_msg, markers_msg = answer
    assert boxes_msg.header.frame_id == "zvision_lidar"
    assert {m.header.frame_id for m in markers_msg.markers} == {"zvision_lidar"}
    expected = Detector.from_model(str(REFERENCE_MODEL)).detect(points)   # in the model frame
    in_cloud = transform_boxes(expected.boxes, to_model.inverse("model"))
    assert len(expected) > 0 and len(boxes_msg.detections) == len(expected)
    for detection, box in zip(boxes_msg.detections, in_cloud):
        centre = detection.bbox.center
        got = [centre.position.x, centre.position.y, centre.position.z]
        np.testing.assert_allclose(got, box[:3], atol=1e-4)
        q = centre.orientation
        assert _angle_difference(quaternion_yaw(q.x, q.y, q.z, q.w), float(box[6])) < 1e-4
    assert "cloud_to_model '0 0 0.6 0 0 -90'" in (tmp_path / "node.log").read_text()


def test_fp16_without_tensorrt_stops_the_node_with_what_to_do(tmp_path):
    log = tmp_path / "node.log"
    process = start_node("-p", "precision:=fp16", log_path=log)
    assert process.wait(timeout=60) == 1
    assert "precision fp16 needs backend tensorrt (a GPU)" in log.read_text()


@pytest.mark.parametrize("layout,point_step,bigendian,height", [
    (*ZVISION_DRIVER, False, 1),                                     # Zvision driver
    ([(0, "f4"), (4, "f4"), (8, "f4"), (12, "u1")], 16, False, 1),   # uint8 intensity, padding
    (*XYZI_16, True, 1),                                             # big-endian
    ([(8, "f4"), (4, "f4"), (0, "f4"), (16, "f8")], 24, False, 1),   # reordered, float64 int.
    ([(0, "f4"), (4, "f4"), (8, "f4"), (12, "u2")], 16, False, 2),   # organized, uint16
])
def test_node_answers_every_layout_like_the_detector(running, layout, point_step, bigendian,
                                                     height):
    harness, _, _ = running
    points = _points(seed=11)
    points = points[:points.shape[0] // 2 * 2]
    stamp = 1_700_000_000_000_000_000 + point_step * 1000 + height * 10 + int(bigendian)
    msg = cloud_message(points, layout, point_step, stamp, bigendian=bigendian, height=height)
    answer = harness.send(msg)
    assert answer is not None, "no Detection3DArray for the cloud"
    _check_against_detector(answer, points, stamp)


def test_organized_cloud_with_nan_returns_drops_them(running):
    harness, _, _ = running
    points = _points(seed=12)
    points = points[:points.shape[0] // 4 * 4]
    holey = points.copy()
    holey[::7, :3] = np.nan  # missing returns of an organized cloud
    stamp = 1_700_000_001_000_000_000
    answer = harness.send(cloud_message(holey, *ZVISION_DRIVER, stamp, height=4))
    assert answer is not None
    _check_against_detector(answer, points[np.isfinite(holey).all(axis=1)], stamp)


def _drop_field(name):
    return lambda m: setattr(m, "fields", [f for f in m.fields if f.name != name])


def _set_field(index, **values):
    def mutate(msg):
        for key, value in values.items():
            setattr(msg.fields[index], key, value)
    return mutate


def _organized_short_row_step(msg):
    msg.height, msg.width = 2, msg.width // 2
    msg.row_step = msg.width * msg.point_step - 1


#: One cloud of every malformed class test_pointcloud2_fuzz.py covers that a PointCloud2 can carry
#: (offsets and sizes are uint32 on the wire, data is uint8[]), with the warning it draws.
MALFORMED = {
    "data shorter than height x width x point_step":
        (lambda m: setattr(m, "data", bytes(m.data)[:1000]), "bytes but height"),
    "no data at all": (lambda m: setattr(m, "data", b""), "has 0 bytes"),
    "field offset past point_step": (_set_field(1, offset=30), "does not fit in point_step"),
    "point_step shorter than the fields":
        (lambda m: setattr(m, "point_step", 12), "does not fit in point_step"),
    "x missing": (_drop_field("x"), "lacks field(s) ['x']"),
    "z missing": (_drop_field("z"), "lacks field(s) ['z']"),
    "intensity missing": (_drop_field("intensity"), "lacks field(s) ['intensity']"),
    "datatype 0": (_set_field(0, datatype=0), "unsupported PointField datatype 0"),
    "datatype past FLOAT64": (_set_field(3, datatype=9), "unsupported PointField datatype 9"),
    "organized, row_step shorter than a row": (_organized_short_row_step, "row_step"),
    "width of 2^32 - 1": (lambda m: setattr(m, "width", 2**32 - 1), "bytes but height"),
    "point_step of 2^32 - 1": (lambda m: setattr(m, "point_step", 2**32 - 1), "point_step"),
}


def _skip_one(harness, bad, reason, attempts=10):
    """Publish ``bad`` until /diagnostics counts one more skip, for ``reason``; True if it does."""
    # best effort with a short queue: a cloud may be lost, so it is sent again (a lidar's next
    # frame would be) until the node's skipped total moves on
    before = harness.total("skipped")
    return harness.publish_until(bad, lambda: harness.total("skipped") > before and any(
        reason in text for text in harness.skip_reasons()), 3.0 * attempts, attempts)


def test_one_cloud_of_every_malformed_class_then_a_good_one_is_answered(running):
    harness, process, log = running
    points = _points(seed=13)
    points = points[:points.shape[0] // 2 * 2]
    harness.wait_until(lambda: harness.diagnostics, 10.0, "/diagnostics from the node")
    bad_stamps = []
    for index, (name, (break_cloud, reason)) in enumerate(MALFORMED.items()):
        stamp = 1_700_000_002_000_000_000 + index
        bad = cloud_message(points, *ZVISION_DRIVER, stamp)
        break_cloud(bad)
        assert _skip_one(harness, bad, reason), (
            f"/diagnostics did not count the {name!r} cloud as skipped for {reason!r}: "
            f"{harness.diagnostics}")
        assert process.poll() is None, f"the node died on the {name!r} cloud"
        bad_stamps.append(stamp)
    good_stamp = 1_700_000_003_000_000_000
    answer = harness.send(cloud_message(points, *ZVISION_DRIVER, good_stamp))
    assert answer is not None, "the good cloud after the malformed ones was not answered"
    _check_against_detector(answer, points, good_stamp)
    assert not set(bad_stamps) & set(harness.boxes), "a malformed cloud was answered"
    assert process.poll() is None
    # the log's warnings name what is wrong too, but are throttled (one per WARN_THROTTLE_S):
    # only some of the dozen come through
    warned = [line for line in log.read_text().splitlines() if "skipping a cloud" in line]
    assert warned and len(warned) < len(MALFORMED), warned
    assert all(any(w in line for w in {w for _, w in MALFORMED.values()}) for line in warned)


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_every_malformed_class_draws_its_warning(name):
    break_cloud, warning = MALFORMED[name]
    msg = cloud_message(_points(seed=13)[:64], *ZVISION_DRIVER, 1)
    break_cloud(msg)
    with pytest.raises(CloudFormatError, match=re.escape(warning)):
        points_from_cloud(msg)


def test_empty_and_all_nan_clouds_are_answered_with_no_detections(running):
    harness, process, _ = running
    empty = cloud_message(np.zeros((0, 4), np.float32), *ZVISION_DRIVER, 1_700_000_010_000_000_000)
    nan = cloud_message(np.full((100, 4), np.nan, np.float32), *ZVISION_DRIVER,
                        1_700_000_010_000_000_001)
    for msg in (empty, nan):
        answer = harness.send(msg)
        assert answer is not None
        assert answer[0].detections == []
        assert [m.action for m in answer[1].markers] == [Marker.DELETEALL]
    assert process.poll() is None


def _set_parameter(harness, name, value):
    client = harness.node.create_client(SetParameters, "/pointpillars/set_parameters")
    assert client.wait_for_service(timeout_sec=10)
    request = SetParameters.Request(parameters=[Parameter(
        name=name, value=ParameterValue(type=ParameterType.PARAMETER_DOUBLE,
                                        double_value=value))])
    future = client.call_async(request)
    wait_until(future.done, 10, f"the node to answer set_parameters {name}")
    harness.node.destroy_client(client)
    return future.result().results[0]


def test_score_threshold_set_at_run_time_changes_the_output(running):
    harness, _, _ = running
    points = _points(seed=14)
    before = harness.send(cloud_message(points, *ZVISION_DRIVER, 1_700_000_004_000_000_000))[0]
    scores = sorted(d.results[0].hypothesis.score for d in before.detections)
    assert len(scores) >= 2
    threshold = (scores[-1] + scores[-2]) / 2  # keeps exactly the best detection
    refused = _set_parameter(harness, "score_threshold", 1.5)
    # refused by the parameter's range (its descriptor) before the node's own check
    assert not refused.successful and "score_threshold out of range" in refused.reason
    assert _set_parameter(harness, "score_threshold", threshold).successful
    try:
        after = harness.send(cloud_message(points, *ZVISION_DRIVER, 1_700_000_005_000_000_000))[0]
        assert [d.results[0].hypothesis.score for d in after.detections] == [scores[-1]]
        harness.wait_until(
            lambda: any(abs(m.threshold - threshold) < 1e-6 for m in harness.label_info), 10,
            "LabelInfo with the new threshold")
    finally:
        assert _set_parameter(harness, "score_threshold", 0.3).successful


def test_label_info_is_latched_with_the_class_map(running):
    harness, _, _ = running
    harness.wait_until(lambda: harness.label_info, 10, "the latched LabelInfo")
    info = harness.label_info[0]
    assert [(c.class_id, c.class_name) for c in info.class_map] == list(enumerate(CLASSES))
