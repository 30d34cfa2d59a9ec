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
Actions the launch files share: the Fast DDS profile for large clouds and RViz.

``launch`` and ``launch_ros`` are imported inside the functions (they exist on ROS installs,
not on PyPI), so this module imports anywhere.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any, Callable, Mapping, Sequence

from .ros.dds_environment import fastdds_profile_environment, PROFILE_VARIABLES
from .ros.rviz_config import fitted_rviz_config

PACKAGE = "tao_pointpillars_py"
#: launch arguments that override the params file when given
OVERRIDES = ("model_path", "engine_path", "backend", "precision")


def share_file(*parts: str) -> str:
    """Give a file installed in this package's share directory."""
    from ament_index_python.packages import get_package_share_directory
    return os.path.join(get_package_share_directory(PACKAGE), *parts)


def launch_description(arguments: Mapping[str, tuple[str, str]],
                       actions: Callable[[dict[str, str]], list[Any]]) -> Any:
    """Declare ``arguments`` (name -> default, text); at launch, pass their values to actions."""
    from launch import LaunchDescription
    from launch.actions import DeclareLaunchArgument, OpaqueFunction
    from launch.substitutions import LaunchConfiguration

    def perform(context: Any, *args: Any, **kwargs: Any) -> list[Any]:
        return actions({name: LaunchConfiguration(name).perform(context) for name in arguments})

    return LaunchDescription(
        [DeclareLaunchArgument(name, default_value=default, description=text)
         for name, (default, text) in arguments.items()]
        + [OpaqueFunction(function=perform)])


def node_actions(value: Mapping[str, str], default_params: str,
                 **node_options: Any) -> list[Any]:
    """Give the Fast DDS profile and the pointpillars node, from launch argument values."""
    from launch_ros.actions import Node
    params_file = value["params_file"] or share_file("params", default_params)
    overrides = {name: value[name] for name in OVERRIDES if value.get(name)}
    actions = fastdds_profile_actions(value["fastdds_profile"])
    actions.append(Node(
        package=PACKAGE, executable="pointpillars_node", name="pointpillars", output="screen",
        emulate_tty=True, parameters=[params_file, overrides] if overrides else [params_file],
        arguments=["--ros-args", "--log-level", value["log_level"]], **node_options))
    return actions


def fastdds_profile_actions(profile: str, environ: Mapping[str, str] = os.environ) -> list[Any]:
    """Set the large-cloud Fast DDS profile (empty: the installed one; none: no profile)."""
    from launch.actions import SetEnvironmentVariable
    profile = profile or share_file("params", "fastdds_large_clouds.xml")
    if profile == "none" or any(name in environ for name in PROFILE_VARIABLES):
        return []  # Fast DDS defaults asked for, or the user's own profile exported
    return [SetEnvironmentVariable(name, path)
            for name, path in fastdds_profile_environment(profile).items()]


def rviz_action(clouds: Sequence[str], markers: Sequence[str], fixed_frame: str) -> Any:
    """Run rviz2 on the installed config fitted to these topics and fixed frame."""
    from launch_ros.actions import Node
    with open(share_file("rviz", "pointpillars.rviz"), encoding="utf-8") as source:
        text = fitted_rviz_config(source.read(), clouds, markers, fixed_frame)
    with tempfile.NamedTemporaryFile("w", suffix=".rviz", delete=False) as config:
        config.write(text)
    return Node(package="rviz2", executable="rviz2", name="rviz2", output="screen",
                arguments=["-d", config.name, "-f", fixed_frame])


def is_true(value: str) -> bool:
    """Read a launch argument as a boolean."""
    return value.strip().lower() in ("true", "1", "yes", "on")
