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

"""Tests of tao_pointpillars_py.ros.messages: Detections -> vision_msgs / RViz messages."""

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="ROS 2 not installed: run scripts/setup-ros.sh")
pytest.importorskip("vision_msgs.msg", reason="vision_msgs missing: run scripts/setup-ros.sh")

from std_msgs.msg import Header  # noqa: E402
from tao_pointpillars_py.core.detections import Detections  # noqa: E402
from tao_pointpillars_py.core.markers import CLASS_COLOURS  # noqa: E402
from tao_pointpillars_py.data.detection_messages import detections_from_msg  # noqa: E402
from tao_pointpillars_py.ros.messages import (detection_array, label_info,  # noqa: E402
                                              marker_array)
from visualization_msgs.msg import Marker  # noqa: E402

CLASSES = ("Vehicle", "Pedestrian", "Cyclist")
DETECTIONS = Detections(
    boxes=np.array([[10.0, 2.0, -0.8, 4.5, 1.9, 1.6, 2.8],
                    [6.0, -1.0, -0.9, 0.7, 0.6, 1.75, -3.1],
                    [15.0, 4.0, -1.0, 1.8, 0.6, 1.7, 0.0]], dtype=np.float32),
    scores=np.array([0.9, 0.6, 0.35], dtype=np.float32),
    labels=np.array([0, 1, 2], dtype=np.int64))


def _header():
    header = Header(frame_id="lidar_front")
    header.stamp.sec, header.stamp.nanosec = 1_700_000_000, 123
    return header


@pytest.mark.parametrize("class_id_format,expected", [
    ("name", ["Vehicle", "Pedestrian", "Cyclist"]), ("index", ["0", "1", "2"])])
def test_detection_array_carries_boxes_classes_and_the_cloud_header(class_id_format, expected):
    msg = detection_array(DETECTIONS, _header(), CLASSES, class_id_format)
    assert msg.header == _header()
    assert [d.results[0].hypothesis.class_id for d in msg.detections] == expected
    assert all(d.header == _header() for d in msg.detections)
    back = detections_from_msg(msg, CLASSES)
    np.testing.assert_allclose(back.boxes[:, :6], DETECTIONS.boxes[:, :6], atol=1e-6)
    yaw_error = (back.boxes[:, 6] - DETECTIONS.boxes[:, 6] + np.pi) % (2 * np.pi) - np.pi
    assert np.abs(yaw_error).max() < 1e-6
    np.testing.assert_allclose(back.scores, DETECTIONS.scores)
    np.testing.assert_array_equal(back.labels, DETECTIONS.labels)
    pose = msg.detections[0].results[0].pose.pose
    assert pose == msg.detections[0].bbox.center


def test_markers_clear_the_last_frame_then_draw_box_and_caption_per_detection():
    markers = marker_array(DETECTIONS, _header(), CLASSES).markers
    assert markers[0].action == Marker.DELETEALL and markers[0].header == _header()
    boxes = [m for m in markers if m.ns == "boxes"]
    texts = [m for m in markers if m.ns == "labels"]
    assert len(boxes) == len(texts) == 3 and len(markers) == 7
    assert all(m.type == Marker.LINE_LIST and len(m.points) == 24 for m in boxes)
    assert [t.text for t in texts] == ["Vehicle 0.90", "Pedestrian 0.60", "Cyclist 0.35"]
    colour = boxes[1].color
    assert (colour.r, colour.g, colour.b) == pytest.approx(CLASS_COLOURS["Pedestrian"][:3])
    assert texts[0].pose.position.z > DETECTIONS.boxes[0, 2] + DETECTIONS.boxes[0, 5] / 2


def test_no_detections_still_clears_the_markers():
    markers = marker_array(Detections.empty(), _header(), CLASSES).markers
    assert [m.action for m in markers] == [Marker.DELETEALL]
    assert detection_array(Detections.empty(), _header(), CLASSES).detections == []


def test_label_info_maps_indices_to_names():
    info = label_info(CLASSES, 0.3, _header())
    assert [(c.class_id, c.class_name) for c in info.class_map] == list(enumerate(CLASSES))
    assert info.threshold == pytest.approx(0.3)
