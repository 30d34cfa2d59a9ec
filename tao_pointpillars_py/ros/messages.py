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
Detections -> ROS 2 messages: Detection3DArray, RViz MarkerArray, LabelInfo.

Imports the ROS message packages (rclpy installs or the PyPI wheels); the detection core never
imports this module. Box convention: centre (x, y, z), size (dx, dy, dz) along the box axes, yaw
about +z as the orientation quaternion; frame and stamp are the cloud's.
"""

from __future__ import annotations

from typing import Any, Sequence

from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import Point, Pose, PoseWithCovariance, Quaternion, Vector3
import numpy as np
from rclpy.serialization import deserialize_message, serialize_message
from sensor_msgs.msg import PointCloud2
from std_msgs.msg import ColorRGBA, Header
from vision_msgs.msg import (BoundingBox3D, Detection3D, Detection3DArray, LabelInfo,
                             ObjectHypothesis, ObjectHypothesisWithPose, VisionClass)
from visualization_msgs.msg import Marker, MarkerArray

from .health import StreamStatus
from ..core.boxes import yaw_quaternion
from ..core.detections import Detections
from ..core.markers import box_edge_points, class_colours
from ..core.stamps import split_ns

#: Marker namespaces: box edges and their class/score captions.
BOX_NAMESPACE = "boxes"
TEXT_NAMESPACE = "labels"
LINE_WIDTH_M = 0.05
TEXT_HEIGHT_M = 0.5


def class_ids(labels: np.ndarray, class_names: Sequence[str], class_id_format: str) -> list[str]:
    """``class_id`` strings: the class name, or its index (NVIDIA's C++ node) for "index"."""
    if class_id_format == "index":
        return [str(int(label)) for label in labels]
    return [class_names[int(label)] for label in labels]


def _poses(boxes: np.ndarray) -> list[Pose]:
    quats = yaw_quaternion(boxes[:, 6])
    return [Pose(position=Point(x=float(b[0]), y=float(b[1]), z=float(b[2])),
                 orientation=Quaternion(x=float(q[0]), y=float(q[1]), z=float(q[2]),
                                        w=float(q[3])))
            for b, q in zip(boxes.astype(np.float64), quats)]


def detection_array(detections: Detections, header: Header, class_names: Sequence[str],
                    class_id_format: str = "name") -> Detection3DArray:
    """One Detection3D per detection, highest score first, with the cloud's header."""
    ids = class_ids(detections.labels, class_names, class_id_format)
    boxes = detections.boxes.astype(np.float64)
    msg = Detection3DArray(header=header)
    for pose, box, class_id, score in zip(_poses(boxes), boxes, ids, detections.scores):
        hypothesis = ObjectHypothesisWithPose(
            hypothesis=ObjectHypothesis(class_id=class_id, score=float(score)),
            pose=PoseWithCovariance(pose=pose))
        msg.detections.append(Detection3D(
            header=header, results=[hypothesis],
            bbox=BoundingBox3D(center=pose, size=Vector3(x=float(box[3]), y=float(box[4]),
                                                         z=float(box[5])))))
    return msg


def marker_array(detections: Detections, header: Header,
                 class_names: Sequence[str]) -> MarkerArray:
    """
    Build RViz markers: a DELETEALL (clears the last frame's), then each detection's box.

    Each box is a LINE_LIST in namespace "boxes" and a TEXT_VIEW_FACING caption
    "<class> <score>" above it in namespace "labels", coloured by class.
    """
    colours = [ColorRGBA(r=c[0], g=c[1], b=c[2], a=c[3]) for c in class_colours(class_names)]
    markers: list[Any] = [Marker(header=header, action=Marker.DELETEALL)]
    edges = box_edge_points(detections.boxes)
    for index, (box, score, label) in enumerate(zip(detections.boxes.astype(np.float64),
                                                    detections.scores, detections.labels)):
        colour = colours[int(label)]
        markers.append(Marker(
            header=header, ns=BOX_NAMESPACE, id=index, type=Marker.LINE_LIST, action=Marker.ADD,
            pose=Pose(orientation=Quaternion(w=1.0)), scale=Vector3(x=LINE_WIDTH_M),
            color=colour, points=[Point(x=p[0], y=p[1], z=p[2]) for p in edges[index].tolist()]))
        markers.append(Marker(
            header=header, ns=TEXT_NAMESPACE, id=index, type=Marker.TEXT_VIEW_FACING,
            action=Marker.ADD, scale=Vector3(z=TEXT_HEIGHT_M), color=colour,
            pose=Pose(position=Point(x=box[0], y=box[1], z=box[2] + box[5] / 2 + TEXT_HEIGHT_M),
                      orientation=Quaternion(w=1.0)),
            text=f"{class_names[int(label)]} {float(score):.2f}"))
    return MarkerArray(markers=markers)


def label_info(class_names: Sequence[str], threshold: float, header: Header) -> LabelInfo:
    """Build the class map (index -> name) message with the score threshold in use."""
    return LabelInfo(header=header, threshold=float(threshold),
                     class_map=[VisionClass(class_id=i, class_name=name)
                                for i, name in enumerate(class_names)])


def diagnostic_array(statuses: Sequence[StreamStatus], stamp: Any) -> DiagnosticArray:
    """Build the /diagnostics message: one DiagnosticStatus per input stream."""
    return DiagnosticArray(header=Header(stamp=stamp), status=[
        DiagnosticStatus(level=bytes([s.level]), name=s.name, message=s.message,
                         hardware_id=s.hardware_id,
                         values=[KeyValue(key=k, value=v) for k, v in s.values])
        for s in statuses])


def cloud_from_cdr(raw: bytes) -> PointCloud2:
    """Deserialize a sensor_msgs/PointCloud2 from the CDR bytes a bag stores."""
    cloud: PointCloud2 = deserialize_message(raw, PointCloud2)
    return cloud


def to_cdr(msg: Any) -> bytes:
    """Serialize a ROS message to CDR bytes, as rclpy publishes and rosbag2 records them."""
    return bytes(serialize_message(msg))


def header_at(timestamp_ns: int, frame_id: str) -> Header:
    """Build a Header stamped ``timestamp_ns`` (nanoseconds) in ``frame_id``."""
    sec, nanosec = split_ns(timestamp_ns)
    return Header(stamp=Time(sec=sec, nanosec=nanosec), frame_id=frame_id)
