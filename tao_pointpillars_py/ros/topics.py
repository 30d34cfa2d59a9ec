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
Where the answers to a cloud topic go: one rule for the node and the offline ``detect``.

The outputs live in the namespace of the cloud topic: ``/ns1/zvision_lidar_points`` is
answered on ``/ns1/bbox``, ``/ns1/bbox_markers`` and ``/ns1/bbox/label_info``; a topic without
a namespace (``point_cloud`` or ``/point_cloud``) on ``bbox`` (``/bbox``) and so on, which is
the single-lidar node's layout. Fused multi-lidar output goes to :data:`FUSED_NAMESPACE`.
"""

from __future__ import annotations

from typing import NamedTuple

#: namespace of the fused (all lidars, ``base_frame``) outputs of a multi-lidar node
FUSED_NAMESPACE = "fused"


class OutputTopics(NamedTuple):
    """The three output topics answering one cloud topic."""

    detections: str   # vision_msgs/Detection3DArray
    markers: str      # visualization_msgs/MarkerArray
    label_info: str   # vision_msgs/LabelInfo (transient local)


def output_topics(cloud_topic: str) -> OutputTopics:
    """Give the output topics for ``cloud_topic`` (absolute stays absolute, relative relative)."""
    namespace = cloud_topic.rstrip("/").rpartition("/")[0]
    prefix = f"{namespace}/" if namespace else ("/" if cloud_topic.startswith("/") else "")
    return OutputTopics(f"{prefix}bbox", f"{prefix}bbox_markers", f"{prefix}bbox/label_info")


def fused_topics() -> OutputTopics:
    """Give the fused outputs of a multi-lidar node: ``fused/bbox`` and its siblings."""
    return output_topics(f"{FUSED_NAMESPACE}/points")
