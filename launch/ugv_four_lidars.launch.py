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
Launch one PointPillars node for the Zvision UGV's four lidars, with fused output.

ros2 launch tao_pointpillars_py ugv_four_lidars.launch.py [params_file:=FILE.yaml]
    [model_path:=MODEL.onnx] [engine_path:=MODEL.engine] [backend:=auto|onnxruntime|tensorrt]
    [precision:=fp32|fp16|int8] [log_level:=info] [fastdds_profile:=FILE|none] [rviz:=true]

One process, one loaded model, four inputs (/ns1../ns4/zvision_lidar_points, frames
lidar_front, lidar_right, lidar_rear, lidar_left), each answered on /nsK/bbox,
/nsK/bbox_markers and /nsK/bbox/label_info; all four merged in base_link on /fused/bbox.
The installed params/ugv_four_lidars.yaml holds the topics and PLACEHOLDER mountings: put the
vehicle's calibration there (or publish it on tf2 and clear lidar_extrinsics).
"""

from tao_pointpillars_py.launch_actions import (is_true, launch_description, node_actions,
                                                rviz_action)
from tao_pointpillars_py.ros.topics import fused_topics, output_topics

CLOUDS = [f"/ns{k}/zvision_lidar_points" for k in range(1, 5)]
#: launch argument -> (default, description)
ARGUMENTS = {
    "params_file": ("", "node parameters (YAML); empty: the installed "
                        "params/ugv_four_lidars.yaml"),
    "model_path": ("", "ONNX model; empty: as in the params file"),
    "engine_path": ("", "TensorRT engine (backend tensorrt); empty: as in the params file"),
    "backend": ("", "auto | onnxruntime | tensorrt; empty: as in the params file"),
    "precision": ("", "fp32 | fp16 | int8; empty: as in the params file"),
    "log_level": ("info", "debug | info | warn | error"),
    "fastdds_profile": ("", "Fast DDS profile for 1.6 MB clouds; empty: the installed one, "
                            "none: Fast DDS defaults"),
    "rviz": ("false", "true: also start RViz on the four clouds, their markers and the fused "
                      "markers, fixed frame base_link"),
}


def _actions(value):
    actions = node_actions(value, "ugv_four_lidars.yaml")
    if is_true(value["rviz"]):
        markers = [output_topics(c).markers for c in CLOUDS] + ["/" + fused_topics().markers]
        actions.append(rviz_action(CLOUDS, markers, "base_link"))
    return actions


def generate_launch_description():
    return launch_description(ARGUMENTS, _actions)
