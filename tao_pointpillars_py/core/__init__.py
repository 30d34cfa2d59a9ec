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
Core layer: numpy only.

Core (numpy only): configs, detections, box maths (corners, IoU, yaw quaternions, extrinsics),
PointCloud2 decoding, pillars, anchors, box coding, post-processing, NMS, fusion, marker
geometry, time stamps <-> nanoseconds and windowed statistics.

May import: the package's base modules (errors, package_files) and numpy. Nothing here imports
ONNX, a backend, rosbags or ROS.
"""

__all__: list[str] = []
