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

"""Tests of tao_pointpillars_py.ros.rviz_config and the installed RViz config."""

from pathlib import Path

from tao_pointpillars_py.ros.rviz_config import fitted_rviz_config
import yaml

TEMPLATE = (Path(__file__).resolve().parents[2] / "rviz" / "pointpillars.rviz").read_text()


def _displays(text):
    return yaml.safe_load(text)["Visualization Manager"]["Displays"]


def test_installed_config_shows_the_cloud_by_intensity_and_the_markers():
    displays = {d["Class"]: d for d in _displays(TEMPLATE)}
    cloud = displays["rviz_default_plugins/PointCloud2"]
    assert cloud["Color Transformer"] == "Intensity" and cloud["Channel Name"] == "intensity"
    assert cloud["Topic"]["Reliability Policy"] == "Best Effort"  # the drivers' QoS
    markers = displays["rviz_default_plugins/MarkerArray"]
    assert markers["Topic"]["Value"] == "/bbox_markers"
    assert markers["Namespaces"] == {"boxes": True, "labels": True}  # boxes and captions


def test_config_is_fitted_to_four_lidars_and_the_fused_markers():
    clouds = [f"/ns{k}/zvision_lidar_points" for k in range(1, 5)]
    markers = [f"/ns{k}/bbox_markers" for k in range(1, 5)] + ["/fused/bbox_markers"]
    text = fitted_rviz_config(TEMPLATE, clouds, markers, "base_link")
    config = yaml.safe_load(text)
    assert config["Visualization Manager"]["Global Options"]["Fixed Frame"] == "base_link"
    displays = config["Visualization Manager"]["Displays"]
    topics = {d["Class"].rpartition("/")[2]: [] for d in displays}
    for display in displays:
        if "Topic" in display:
            topics[display["Class"].rpartition("/")[2]].append(display["Topic"]["Value"])
    assert topics["PointCloud2"] == clouds and topics["MarkerArray"] == markers
    assert displays[0]["Class"] == "rviz_default_plugins/Grid"
    assert len({d["Name"] for d in displays}) == len(displays)  # RViz needs distinct names
