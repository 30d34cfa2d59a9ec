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
The installed RViz config (``rviz/pointpillars.rviz``) fitted to what a launch file runs.

The launch files open RViz on the clouds they feed the node and on the marker topics it
answers on: the template's one PointCloud2 display (coloured by intensity) is repeated per
cloud topic, its MarkerArray display per marker topic, and the fixed frame set (the cloud's
frame, or ``base_frame`` for fused multi-lidar output).
"""

from __future__ import annotations

import copy
from typing import Any, Sequence

import yaml


def fitted_rviz_config(template: str, cloud_topics: Sequence[str], marker_topics: Sequence[str],
                       fixed_frame: str) -> str:
    """Give the template's YAML text with these clouds, markers and fixed frame."""
    config: Any = yaml.safe_load(template)
    manager = config["Visualization Manager"]
    displays = manager["Displays"]
    cloud = next(d for d in displays if d["Class"] == "rviz_default_plugins/PointCloud2")
    markers = next(d for d in displays if d["Class"] == "rviz_default_plugins/MarkerArray")
    others = [d for d in displays if d is not cloud and d is not markers]
    manager["Displays"] = others[:1] + [
        _display(cloud, topic, f"Lidar cloud {topic} (intensity)") for topic in cloud_topics
    ] + [_display(markers, topic, f"Detections {topic}") for topic in marker_topics] + others[1:]
    manager["Global Options"]["Fixed Frame"] = fixed_frame
    return str(yaml.safe_dump(config, sort_keys=False))


def _display(template: dict[str, Any], topic: str, name: str) -> dict[str, Any]:
    display = copy.deepcopy(template)
    display["Topic"]["Value"] = topic
    display["Name"] = name
    return display
