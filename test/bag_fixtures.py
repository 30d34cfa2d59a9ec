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

"""rosbag2 metadata.yaml as a test reads it: the bag information and the offered QoS profiles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def bag_information(bag: Path) -> dict[str, Any]:
    """Return the ``rosbag2_bagfile_information`` of a bag folder's metadata.yaml."""
    metadata = yaml.safe_load((bag / "metadata.yaml").read_text(encoding="utf-8"))
    return metadata["rosbag2_bagfile_information"]


def offered_profiles(bag: Path) -> dict[str, list[dict[str, Any]]]:
    """
    Map each topic to its offered QoS profiles, checking they are a string of YAML.

    Humble's rosbag2 reads ``offered_qos_profiles`` only as a string of YAML (version 9 writes
    a YAML list), with rmw's numbers (e.g. reliability 1 reliable, durability 2 volatile).
    """
    offered = {}
    for topic in bag_information(bag)["topics_with_message_count"]:
        text = topic["topic_metadata"]["offered_qos_profiles"]
        assert isinstance(text, str), f"offered_qos_profiles is {type(text).__name__}, not str"
        offered[topic["topic_metadata"]["name"]] = yaml.safe_load(text)
    return offered
