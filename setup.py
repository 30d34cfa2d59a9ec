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

"""ament_python package setup for tao_pointpillars_py."""

from glob import glob

from setuptools import find_packages, setup

package_name = "tao_pointpillars_py"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test", "test.*"]),
    # PEP 561: the package ships type hints; the simulator's ML-30S-A1 angle table (BSD-3)
    package_data={package_name: ["py.typed", "sim/data/*.npz", "sim/data/*.md"]},
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
        ("share/" + package_name + "/models", glob("models/*.onnx") + glob("models/*.md")),
        ("share/" + package_name + "/launch", glob("launch/*.launch.py")),
        ("share/" + package_name + "/params", glob("params/*.yaml") + glob("params/*.xml")),
        ("share/" + package_name + "/rviz", glob("rviz/*.rviz")),
        ("share/" + package_name + "/interfaces/vision_msgs/msg",
         glob("ros/vision_msgs/msg/*.msg")),
    ],
    python_requires=">=3.10",
    install_requires=[
        "setuptools",
        "numpy>=1.21.6",  # every onnxruntime wheel for Python 3.10 needs it
        "onnx>=1.16",  # onnxruntime's quantization tools (calibrate) need INT4
        "onnxruntime>=1.21",  # loads the int8 model; uint8 DepthToSpace
        "rosbags>=0.10.9",  # the first with Writer(version=, storage_plugin=)
        "tqdm>=4.60",
        "pyyaml>=5.4",  # detect reads the node's params file
    ],
    extras_require={
        "train": ["torch==2.13.0"],
        "viz": ["matplotlib>=3.6"],
        "test": [
            "pytest>=7",
            "hypothesis>=6",
            # ament-style lint tests without ROS 2 (test/test_flake8.py, test_pep257.py):
            # flake8 with the plugins a ROS 2 development install brings, less flake8-quotes
            "flake8>=7,<8",
            "flake8-blind-except>=0.2,<0.3",
            "flake8-builtins>=2.5,<4",
            "flake8-class-newline>=1.6,<2",
            "flake8-comprehensions>=3.14,<4",
            "flake8-deprecated>=2,<3",
            "flake8-docstrings>=1.7,<2",
            "flake8-import-order>=0.18,<0.20",
            "pydocstyle>=6.3,<7",
            # exact: a new mypy release may add errors (test/test_mypy.py)
            "mypy==2.4.1",
        ],
    },
    zip_safe=True,
    maintainer="tao_pointpillars_py developers",
    maintainer_email="maintainers@example.com",
    description="PointPillars 3D object detection for lidar point clouds, ROS 2 node and core",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "tao-pointpillars = tao_pointpillars_py.cli:main",
            "pointpillars_node = tao_pointpillars_py.node_main:main",
        ],
    },
)
