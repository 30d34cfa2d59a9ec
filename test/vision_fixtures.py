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

"""A Detection3DArray built with rosbags' typestore, for tests that write detection bags."""

import numpy as np
from tao_pointpillars_py.core.boxes import yaw_quaternion
from tao_pointpillars_py.data.detection_messages import DETECTION3D_ARRAY


def detection_array_message(typestore, stamp_ns, boxes, class_ids, scores):
    """Build a rosbags vision_msgs/Detection3DArray of boxes (N, 7) in frame lidar_front."""
    t = typestore.types
    header = t["std_msgs/msg/Header"](
        stamp=t["builtin_interfaces/msg/Time"](sec=stamp_ns // 10**9, nanosec=stamp_ns % 10**9),
        frame_id="lidar_front")
    detections = []
    for box, class_id, score, q in zip(boxes, class_ids, scores, yaw_quaternion(boxes[:, 6])):
        pose = t["geometry_msgs/msg/Pose"](
            position=t["geometry_msgs/msg/Point"](x=box[0], y=box[1], z=box[2]),
            orientation=t["geometry_msgs/msg/Quaternion"](x=q[0], y=q[1], z=q[2], w=q[3]))
        hypothesis = t["vision_msgs/msg/ObjectHypothesisWithPose"](
            hypothesis=t["vision_msgs/msg/ObjectHypothesis"](class_id=class_id, score=score),
            pose=t["geometry_msgs/msg/PoseWithCovariance"](pose=pose,
                                                           covariance=np.zeros(36)))
        detections.append(t["vision_msgs/msg/Detection3D"](
            header=header, results=[hypothesis], id="",
            bbox=t["vision_msgs/msg/BoundingBox3D"](
                center=pose, size=t["geometry_msgs/msg/Vector3"](x=box[3], y=box[4], z=box[5]))))
    return t[DETECTION3D_ARRAY](header=header, detections=detections)
