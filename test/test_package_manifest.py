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

"""package.xml resolves with rosdep; what rosdep cannot install is in the README's pip step."""

import ast
from pathlib import Path
import re
import xml.etree.ElementTree as ElementTree

REPO = Path(__file__).resolve().parents[1]

#: system keys of ros/rosdistro rosdep/python.yaml, checked there at 8468e88 (2026-08-22);
#: python3-onnx, python3-onnxruntime and python3-rosbags are NOT keys (rosdep fails on them)
ROSDEP_KEYS = {"python3-numpy", "python3-tqdm", "python3-yaml", "python3-matplotlib",
               "python3-pytest", "python3-hypothesis"}
#: ROS packages (rosdep resolves them to ros-$ROS_DISTRO-<name>)
ROS_PACKAGES = {"rclpy", "ament_index_python", "rcl_interfaces", "builtin_interfaces",
                "std_msgs", "geometry_msgs", "sensor_msgs", "sensor_msgs_py", "vision_msgs",
                "visualization_msgs", "diagnostic_msgs", "launch", "launch_ros", "tf2_ros",
                "ament_copyright", "ament_flake8", "ament_pep257"}
#: setup.py's requirement -> the rosdep key that installs it on a ROS machine
PIP_TO_ROSDEP = {"numpy": "python3-numpy", "tqdm": "python3-tqdm", "pyyaml": "python3-yaml"}
DEPEND_TAGS = ("depend", "exec_depend", "build_depend", "test_depend", "build_export_depend")


def _manifest():
    return ElementTree.parse(REPO / "package.xml").getroot()


def _install_requires():
    tree = ast.parse((REPO / "setup.py").read_text())
    call = next(node for node in ast.walk(tree)
                if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "setup")
    value = next(k.value for k in call.keywords if k.arg == "install_requires")
    return [re.split(r"[<>=!;\s]", item, maxsplit=1)[0].lower()
            for item in ast.literal_eval(value)]


def _requirement_names(path):
    return {re.split(r"[<>=!;\s\[]", line, maxsplit=1)[0].lower()
            for line in path.read_text().splitlines() if line and not line.startswith("#")}


def test_manifest_is_format_3_with_every_key_known_to_rosdep():
    root = _manifest()
    assert root.get("format") == "3"
    keys = [e.text for tag in DEPEND_TAGS for e in root.iter(tag)]
    unknown = sorted(set(keys) - ROSDEP_KEYS - ROS_PACKAGES)
    assert not unknown, f"not resolvable by rosdep: {unknown}"
    assert root.find("export/build_type").text == "ament_python"


def test_manifest_asks_for_vision_msgs_with_label_info():
    (vision,) = [e for e in _manifest().iter("exec_depend") if e.text == "vision_msgs"]
    assert vision.get("version_gte") == "4.1.0"  # LabelInfo, VisionClass: not in 4.0.0


def test_every_runtime_requirement_comes_from_rosdep_or_the_readme_pip_step():
    exec_keys = {e.text for e in _manifest().iter("exec_depend")}
    pip_file = REPO / "scripts" / "ros-pip-requirements.txt"
    pip_names = _requirement_names(pip_file)
    for name in _install_requires():
        if name == "setuptools":
            continue  # colcon's build tool itself
        assert PIP_TO_ROSDEP.get(name) in exec_keys or name in pip_names, name
    assert {"onnx", "onnxruntime", "rosbags"} <= pip_names
    readme = (REPO / "README.md").read_text()
    assert readme.count("pip install -r src/tao_pointpillars_py/scripts/"
                        "ros-pip-requirements.txt") == 2  # the ROS 2 node and Jetson steps
    assert "rosdep install --from-paths src --ignore-src -y" in readme


def test_pip_requirements_on_ros_keep_numpy_below_2_and_agree_with_setup():
    lines = (REPO / "scripts" / "ros-pip-requirements.txt").read_text().splitlines()
    assert "numpy>=1.21.6,<2" in lines  # apt-built modules use the numpy 1.x ABI
    setup = (REPO / "setup.py").read_text()
    for line in lines:
        if line and not line.startswith("#") and not line.startswith("numpy"):
            assert f'"{line}"' in setup, line  # the same minimum as the package's own
