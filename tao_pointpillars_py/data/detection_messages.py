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
vision_msgs for rosbags: the package's own copy of the vision_msgs 4.1.1 definitions.

rosbags' built-in typestores lack vision_msgs, so bags with Detection3DArray / LabelInfo are
read and written with a typestore extended by the ``.msg`` files under
``ros/vision_msgs/msg`` (installed to ``share/tao_pointpillars_py/interfaces``). The same
files build the Python bindings for the PyPI ROS 2 wheels (scripts/setup-ros.sh).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from rosbags.highlevel import AnyReader
from rosbags.typesys import get_types_from_msg, get_typestore, Stores
from rosbags.typesys.store import Typestore

from ..core.boxes import quaternion_yaw
from ..core.detections import Detections
from ..core.stamps import stamp_ns
from ..errors import ConfigError
from ..package_files import package_file

DETECTION3D_ARRAY = "vision_msgs/msg/Detection3DArray"
LABEL_INFO = "vision_msgs/msg/LabelInfo"
MARKER_ARRAY = "visualization_msgs/msg/MarkerArray"


def vision_msgs_dir() -> Path:
    """Folder with the vision_msgs ``.msg`` files: installed share dir, else the source tree."""
    return package_file("interfaces/vision_msgs/msg/Detection3DArray.msg",
                        "ros/vision_msgs/msg/Detection3DArray.msg").parent


@lru_cache(maxsize=1)
def vision_typestore() -> Typestore:
    """ROS 2 Humble typestore of rosbags plus every vision_msgs message."""
    typestore = get_typestore(Stores.ROS2_HUMBLE)
    types = {}
    for path in sorted(vision_msgs_dir().glob("*.msg")):
        types.update(get_types_from_msg(path.read_text(encoding="utf-8"),
                                        f"vision_msgs/msg/{path.stem}"))
    typestore.register(types)
    return typestore


def detections_from_msg(msg: Any, class_names: Sequence[str]) -> Detections:
    """
    Read the detections of a Detection3DArray (rclpy or rosbags message), first hypotheses.

    ``class_id`` may be a class name or its index as a string (``class_id_format`` index).
    """
    index = {name: i for i, name in enumerate(class_names)}
    count = len(msg.detections)
    boxes = np.zeros((count, 7), dtype=np.float32)
    scores = np.zeros(count, dtype=np.float32)
    labels = np.zeros(count, dtype=np.int64)
    for i, detection in enumerate(msg.detections):
        centre, size = detection.bbox.center, detection.bbox.size
        q = centre.orientation
        boxes[i] = (centre.position.x, centre.position.y, centre.position.z,
                    size.x, size.y, size.z, quaternion_yaw(q.x, q.y, q.z, q.w))
        if not detection.results:
            raise ConfigError(f"detection {i} has no hypothesis; expected results[0]")
        hypothesis = detection.results[0].hypothesis
        class_id = str(hypothesis.class_id)
        if class_id in index:
            labels[i] = index[class_id]
        elif class_id.isdigit() and int(class_id) < len(class_names):
            labels[i] = int(class_id)
        else:
            raise ConfigError(f"class_id {class_id!r} is neither one of {list(class_names)} "
                              "nor an index into them")
        scores[i] = hypothesis.score
    return Detections(boxes, scores, labels)


def read_detection_bag(path: str | Path, topic: str, class_names: Sequence[str]
                       ) -> dict[int, Detections]:
    """Read the detections on ``topic`` of a bag, keyed by header stamp [ns], in bag order."""
    result: dict[int, Detections] = {}
    with AnyReader([Path(path)], default_typestore=vision_typestore()) as reader:
        connections = [c for c in reader.connections if c.topic == topic]
        if not connections:
            raise ConfigError(f"{path} has no topic {topic}; it has "
                              f"{sorted({c.topic for c in reader.connections})}")
        for connection, _, raw in reader.messages(connections=connections):
            msg: Any = reader.deserialize(raw, connection.msgtype)
            result[stamp_ns(msg.header.stamp)] = detections_from_msg(msg, class_names)
    return result
