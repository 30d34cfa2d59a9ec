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
ROS 2 layer: the only subpackage that imports rclpy or ROS messages.

ROS 2: the node, its parameters, messages, topics, cloud slots, health, bag I/O over rclpy, a
node spun on a thread (spin) and launch helpers. The only subpackage that imports rclpy or ROS
message packages.

May import: core, inference, data and the base modules.
"""

__all__: list[str] = []
