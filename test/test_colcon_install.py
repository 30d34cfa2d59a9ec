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
The package as colcon installs it: ament_python layout, and the installed node answering a cloud.

Runs only where TAO_COLCON_INSTALL names a colcon install base holding tao_pointpillars_py
with its install/setup.bash sourced: scripts/colcon-check.sh builds a workspace and runs this
module (the colcon leg of .ci/run). Skipped otherwise.
"""

import os
from pathlib import Path
import subprocess
import sys

from cloud_fixtures import ZVISION_DRIVER
import pytest

INSTALL = os.environ.get("TAO_COLCON_INSTALL", "")
if not INSTALL:
    pytest.skip("no colcon install to check: scripts/colcon-check.sh runs this module",
                allow_module_level=True)
pytest.importorskip("rclpy", reason="ROS 2 not installed: run scripts/setup-ros.sh")
pytest.importorskip("vision_msgs.msg", reason="vision_msgs missing: run scripts/setup-ros.sh")

from ros_fixtures import cloud_message, Harness, REPO, ros_environment  # noqa: E402
from tao_pointpillars_py.ros.dds_environment import fastdds_profile_environment  # noqa: E402
from tao_pointpillars_py.sim import simulate_frame  # noqa: E402
from tao_pointpillars_py.tools.processes import stop_process  # noqa: E402

PACKAGE = "tao_pointpillars_py"
PREFIX = Path(INSTALL) / PACKAGE  # colcon's default isolated layout: install/<package>
SHARE = PREFIX / "share" / PACKAGE
NODE = PREFIX / "lib" / PACKAGE / "pointpillars_node"


def _installed_python(code: str, tmp_path: Path) -> str:
    """Run ``code`` with the sourced environment in a neutral folder; return its stdout."""
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=dict(os.environ),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_lib_holds_the_node_executable():
    assert NODE.is_file(), f"{NODE} missing (setup.cfg's install_scripts)"
    assert os.access(NODE, os.X_OK)
    first_line = NODE.read_text().splitlines()[0]
    assert first_line.startswith("#!") and "python" in first_line
    assert (PREFIX / "lib" / PACKAGE / "tao-pointpillars").is_file()


@pytest.mark.parametrize("folder,patterns", [
    ("launch", ["*.launch.py"]),
    ("params", ["*.yaml", "*.xml"]),
    ("models", ["*.onnx", "*.md"]),
    ("rviz", ["*.rviz"]),
])
def test_share_holds_every_shipped_file(folder, patterns):
    shipped = sorted(p.name for pattern in patterns for p in (REPO / folder).glob(pattern))
    assert shipped, f"nothing to ship in {folder}/"
    installed = sorted(p.name for p in (SHARE / folder).iterdir())
    assert installed == shipped


def test_share_holds_package_xml_and_the_ament_index_marker():
    assert (SHARE / "package.xml").read_bytes() == (REPO / "package.xml").read_bytes()
    marker = PREFIX / "share" / "ament_index" / "resource_index" / "packages" / PACKAGE
    assert marker.is_file()
    for name in ("pointpillars_zvision.onnx", "pointpillars_zvision.int8.onnx"):
        assert (SHARE / "models" / name).stat().st_size > 1_000_000


def test_sourced_environment_imports_the_installed_package(tmp_path):
    found = _installed_python(
        "import tao_pointpillars_py, ament_index_python.packages as p; "
        "print(tao_pointpillars_py.__file__); print(p.get_package_share_directory("
        f"'{PACKAGE}'))", tmp_path).splitlines()
    assert Path(found[0]).resolve().is_relative_to(PREFIX.resolve()), found[0]
    assert Path(found[1]).resolve() == SHARE.resolve()
    installed = Path(found[0]).parent
    # every layer is installed, and py.typed tells type checkers the package has hints
    assert all((installed / layer / "__init__.py").is_file() for layer in (
        "core", "inference", "inference/backends/tensorrt", "quantization", "data", "ros",
        "tools", "tools/render", "sim", "training", "commands")), sorted(installed.iterdir())
    assert (installed / "py.typed").is_file()


def test_installed_package_ships_the_ml30s_angle_table(tmp_path):
    """The angle table of sim --sensor ml30s-a1 is package data (setup.py package_data)."""
    found = _installed_python(
        "from tao_pointpillars_py.sim import ml30s; import numpy as np; "
        "a, e = ml30s.angle_table(); print(ml30s.__file__, len(a), round(float("
        "np.degrees(e).min()), 3))", tmp_path).split()
    assert Path(found[0]).resolve().is_relative_to(PREFIX.resolve()), found[0]
    assert found[1:] == ["51200", "-52.675"]


def test_installed_node_answers_a_cloud(tmp_path):
    """The installed executable, installed params, default model: one cloud in, boxes out."""
    log = tmp_path / "node.log"
    env = {**ros_environment(),
           **fastdds_profile_environment(SHARE / "params" / "fastdds_large_clouds.xml")}
    process = subprocess.Popen(
        [str(NODE), "--ros-args", "--params-file", str(SHARE / "params" / "pointpillars.yaml"),
         "-r", "point_cloud:=/point_cloud"],
        stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    harness = Harness()
    try:
        harness.wait_for_node(process)
        points = simulate_frame(7, 0).points
        answer = harness.send(cloud_message(points, *ZVISION_DRIVER, 1_700_000_100_000_000_000))
        assert answer is not None, "no Detection3DArray for the cloud:\n" + log.read_text()
        boxes, markers = answer
        assert len(boxes.detections) > 0
        assert len(markers.markers) == 1 + 2 * len(boxes.detections)
    finally:
        harness.close()
        stop_process(process, timeout_s=15)
    text = log.read_text()
    # the default model_path ("") resolved to the installed reference model
    assert f"model {SHARE / 'models' / 'pointpillars_zvision.onnx'}" in text, text
