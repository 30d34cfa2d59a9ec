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

"""Tests of data.detection_messages: vision_msgs in rosbags, detections from messages."""

import numpy as np
import pytest
from rosbags.rosbag2 import Writer

from tao_pointpillars_py.data.detection_messages import (DETECTION3D_ARRAY, read_detection_bag,
                                                         vision_msgs_dir, vision_typestore)
from tao_pointpillars_py.errors import ConfigError
from vision_fixtures import detection_array_message

CLASSES = ("Vehicle", "Pedestrian", "Cyclist")
#: field names and types of vision_msgs 4.1.1 (../shared/ros_interfaces.md), in order
LAYOUT = {
    "ObjectHypothesis": [("class_id", "string"), ("score", "float64")],
    "ObjectHypothesisWithPose": [("hypothesis", "vision_msgs/msg/ObjectHypothesis"),
                                 ("pose", "geometry_msgs/msg/PoseWithCovariance")],
    "BoundingBox3D": [("center", "geometry_msgs/msg/Pose"),
                      ("size", "geometry_msgs/msg/Vector3")],
    "Detection3D": [("header", "std_msgs/msg/Header"),
                    ("results", "vision_msgs/msg/ObjectHypothesisWithPose[]"),
                    ("bbox", "vision_msgs/msg/BoundingBox3D"), ("id", "string")],
    "Detection3DArray": [("header", "std_msgs/msg/Header"),
                         ("detections", "vision_msgs/msg/Detection3D[]")],
    "VisionClass": [("class_id", "uint16"), ("class_name", "string")],
    "LabelInfo": [("header", "std_msgs/msg/Header"),
                  ("class_map", "vision_msgs/msg/VisionClass[]"), ("threshold", "float32")],
}


def _type_name(field_type):
    kind, detail = field_type
    if kind == 1:        # base type
        return detail[0]
    if kind == 2:        # named message
        return detail
    if kind == 4:        # unbounded sequence
        return _type_name(detail[0]) + "[]"
    raise AssertionError(f"unexpected field kind {kind}")


@pytest.mark.parametrize("name", sorted(LAYOUT))
def test_definitions_match_vision_msgs_4_layout(name):
    fields = vision_typestore().fielddefs[f"vision_msgs/msg/{name}"][1]
    assert [(f[0], _type_name(f[1])) for f in fields] == LAYOUT[name]


def test_all_sixteen_vision_msgs_are_defined():
    assert len(list(vision_msgs_dir().glob("*.msg"))) == 16


def test_detections_round_trip_through_a_bag(tmp_path):
    typestore = vision_typestore()
    boxes = np.array([[5.0, 1.0, -0.5, 4.2, 1.8, 1.5, 0.3],
                      [9.0, -2.0, -0.8, 0.6, 0.6, 1.7, -2.9]], dtype=np.float64)
    frames = {1_000_000_000: (boxes, ["Vehicle", "Pedestrian"], [0.9, 0.4]),
              1_100_000_000: (boxes[:1], ["2"], [0.7]),
              1_200_000_000: (boxes[:0], [], [])}
    with Writer(tmp_path / "out", version=8) as writer:
        connection = writer.add_connection("/bbox", DETECTION3D_ARRAY, typestore=typestore)
        for stamp, (b, ids, scores) in frames.items():
            msg = detection_array_message(typestore, stamp, b, ids, scores)
            writer.write(connection, stamp + 5, typestore.serialize_cdr(msg, DETECTION3D_ARRAY))
    result = read_detection_bag(tmp_path / "out", "/bbox", CLASSES)
    assert list(result) == list(frames)
    first = result[1_000_000_000]
    np.testing.assert_allclose(first.boxes, boxes, atol=1e-6)
    np.testing.assert_array_equal(first.labels, [0, 1])
    np.testing.assert_allclose(first.scores, [0.9, 0.4])
    np.testing.assert_array_equal(result[1_100_000_000].labels, [2])   # index format
    assert len(result[1_200_000_000]) == 0
    with pytest.raises(ConfigError, match="has no topic /nope"):
        read_detection_bag(tmp_path / "out", "/nope", CLASSES)
