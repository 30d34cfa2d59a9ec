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

"""The params file and the launch file agree with the node's parameter table and entry point."""

import ast
from pathlib import Path

from tao_pointpillars_py.ros.parameters import DEFAULTS, NodeSettings
import yaml

REPO = Path(__file__).resolve().parents[2]


def test_params_file_lists_every_parameter_with_its_default():
    data = yaml.safe_load((REPO / "params" / "pointpillars.yaml").read_text())
    values = data["/**"]["ros__parameters"]
    assert values == DEFAULTS
    for name, value in values.items():  # same YAML type as the declared default (ROS types)
        assert type(value) is type(DEFAULTS[name]), name
    NodeSettings.from_parameters(values)


def _launch_arguments(name="pointpillars.launch.py"):
    tree = ast.parse((REPO / "launch" / name).read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "ARGUMENTS":
            return ast.literal_eval(node.value)
    raise AssertionError("launch file has no ARGUMENTS table")


def test_launch_file_declares_the_documented_arguments():
    arguments = _launch_arguments()
    assert arguments["input_topic"][0] == "/ns1/zvision_lidar_points"
    assert {"params_file", "model_path", "engine_path", "backend", "precision"} <= set(arguments)
    text = (REPO / "launch" / "pointpillars.launch.py").read_text()
    assert 'remappings=[("point_cloud", value["input_topic"])]' in text
    assert 'node_actions(value, "pointpillars.yaml"' in text
    shared = (REPO / "tao_pointpillars_py" / "launch_actions.py").read_text()
    assert 'executable="pointpillars_node"' in shared


def test_setup_installs_launch_params_and_the_node_entry_point():
    setup = (REPO / "setup.py").read_text()
    assert '"pointpillars_node = tao_pointpillars_py.node_main:main"' in setup
    assert 'glob("launch/*.launch.py")' in setup and 'glob("params/*.yaml")' in setup


def test_launch_file_can_start_rviz_on_the_input_and_the_markers():
    arguments = _launch_arguments()
    assert arguments["rviz"][0] == "false" and arguments["fixed_frame"][0] == "lidar_front"
    text = (REPO / "launch" / "pointpillars.launch.py").read_text()
    assert 'rviz_action([value["input_topic"]], [markers], value["fixed_frame"])' in text
    assert 'glob("rviz/*.rviz")' in (REPO / "setup.py").read_text()


def test_four_lidar_launch_runs_one_node_on_the_ugv_params():
    arguments = _launch_arguments("ugv_four_lidars.launch.py")
    assert {"params_file", "model_path", "backend", "precision", "rviz"} <= set(arguments)
    text = (REPO / "launch" / "ugv_four_lidars.launch.py").read_text()
    assert text.count("node_actions(") == 1  # one node for the four lidars
    assert 'node_actions(value, "ugv_four_lidars.yaml")' in text
    data = yaml.safe_load((REPO / "params" / "ugv_four_lidars.yaml").read_text())
    settings = NodeSettings.from_parameters(data["/**"]["ros__parameters"])
    assert settings.input_topics == tuple(f"/ns{k}/zvision_lidar_points" for k in range(1, 5))
    assert settings.fusion.enabled and settings.fusion.base_frame == "base_link"
    frames = list(settings.fusion.extrinsics)
    assert frames == ["lidar_front", "lidar_right", "lidar_rear", "lidar_left"]
