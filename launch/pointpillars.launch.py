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
Launch the PointPillars node.

ros2 launch tao_pointpillars_py pointpillars.launch.py [input_topic:=/ns1/zvision_lidar_points]
    [params_file:=FILE.yaml] [model_path:=MODEL.onnx] [engine_path:=MODEL.engine]
    [backend:=auto|onnxruntime|tensorrt] [precision:=fp32|fp16|int8] [namespace:=NS]
    [log_level:=info] [fastdds_profile:=FILE|none] [rviz:=true [fixed_frame:=lidar_front]]

model_path, engine_path, backend and precision given here override the params file; left
empty, the params file (default: the installed params/pointpillars.yaml) decides. For several
lidars in one node see ugv_four_lidars.launch.py.
"""

from tao_pointpillars_py.launch_actions import (is_true, launch_description, node_actions,
                                                rviz_action)

#: launch argument -> (default, description)
ARGUMENTS = {
    "input_topic": ("/ns1/zvision_lidar_points", "PointCloud2 topic remapped onto point_cloud"),
    "params_file": ("", "node parameters (YAML); empty: the installed params/pointpillars.yaml"),
    "model_path": ("", "ONNX model; empty: as in the params file"),
    "engine_path": ("", "TensorRT engine from `tao-pointpillars build-engine` (backend "
                    "tensorrt); empty: as in the params file"),
    "backend": ("", "auto | onnxruntime | tensorrt; empty: as in the params file"),
    "precision": ("", "fp32 | fp16 | int8; empty: as in the params file"),
    "namespace": ("", "namespace of the node and its topics"),
    "log_level": ("info", "debug | info | warn | error"),
    "fastdds_profile": ("", "Fast DDS profile for 1.6 MB clouds; empty: the installed "
                        "params/fastdds_large_clouds.xml, none: Fast DDS defaults; an exported "
                        "FAST*_DEFAULT_PROFILES_FILE wins"),
    "rviz": ("false", "true: also start RViz with the installed rviz/pointpillars.rviz, "
                      "showing input_topic by intensity and the detection markers"),
    "fixed_frame": ("lidar_front", "RViz fixed frame: the cloud's header.frame_id"),
}


def _actions(value):
    actions = node_actions(value, "pointpillars.yaml", namespace=value["namespace"],
                           remappings=[("point_cloud", value["input_topic"])])
    if is_true(value["rviz"]):
        namespace = value["namespace"].strip("/")
        markers = f"/{namespace}/bbox_markers" if namespace else "/bbox_markers"
        actions.append(rviz_action([value["input_topic"]], [markers], value["fixed_frame"]))
    return actions


def generate_launch_description():
    return launch_description(ARGUMENTS, _actions)
