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
The node's parameters: names, defaults, descriptions and validation, ROS-free.

One table (:data:`PARAMETERS`) feeds the node's declarations, ``params/pointpillars.yaml``
(a test keeps the two equal) and the README. Validation raises :class:`ConfigError` with a
message that names the parameter and what to set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import math
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import yaml

from ..core.boxes import Extrinsic
from ..core.config import PostProcessConfig
from ..core.fusion import parse_extrinsics
from ..core.pointcloud2 import check_driver_intensity_range, DRIVER_INTENSITY_RANGE
from ..errors import ConfigError
from ..inference.runtime import BACKENDS, PRECISIONS, RuntimeRequest

CLASS_ID_FORMATS = ("name", "index")
#: Parameters that ``ros2 param set`` may change while the node runs.
RUNTIME_PARAMETERS = ("score_threshold", "nms_iou_thresh", "max_detections")


@dataclass(frozen=True)
class ParameterSpec:
    """
    One node parameter: its default (which fixes its ROS type), what it means, its range.

    ``minimum`` / ``maximum`` (inclusive; None: unbounded) go into the parameter's ROS
    descriptor, so that ``ros2 param describe`` shows them; the validation below says the same.
    """

    name: str
    default: Any
    description: str
    read_only: bool = True
    minimum: float | None = None
    maximum: float | None = None


_POST = PostProcessConfig()

PARAMETERS: tuple[ParameterSpec, ...] = (
    ParameterSpec("model_path", "",
                  "ONNX model; empty: the reference model installed with the package"),
    ParameterSpec("engine_path", "",
                  "serialized TensorRT engine (backend tensorrt); empty: built from "
                  "model_path and cached"),
    ParameterSpec("backend", "auto",
                  "auto | onnxruntime | tensorrt; auto: TensorRT when importable and a GPU "
                  "is present, else ONNX Runtime"),
    ParameterSpec("precision", "fp32",
                  "fp32 | fp16 | int8; int8 runs the Q/DQ model <stem>.int8.onnx next to "
                  "model_path (ONNX Runtime, or TensorRT explicit int8); fp16 needs TensorRT"),
    ParameterSpec("intensity_range", [float(v) for v in DRIVER_INTENSITY_RANGE],
                  "[min, max] intensity of the incoming clouds, mapped linearly (clipped) "
                  "onto the model's range"),
    ParameterSpec("cloud_to_model", "0 0 0 0 0 0",
                  "'x y z roll pitch yaw' (metres, degrees): pose of the cloud's frame in the "
                  "model's, applied to every point before pillarization; e.g. '0 0 0 0 0 -90' "
                  "turns a +y-forward Zvision cloud x-forward, a z term moves a lidar mounted "
                  "at another height than the model's. Detections are moved back into the "
                  "cloud's frame (header unchanged); with roll or pitch they stay upright boxes "
                  "(approximate); '0 0 0 0 0 0': no transform"),
    ParameterSpec("class_names", ["Vehicle", "Pedestrian", "Cyclist"],
                  "class names in the model's order; must equal the model's own"),
    ParameterSpec("score_threshold", _POST.score_threshold,
                  "drop detections scoring below this (0..1); runtime-settable",
                  read_only=False, minimum=0.0, maximum=1.0),
    ParameterSpec("nms_iou_thresh", _POST.nms_iou_thresh,
                  "bird's-eye-view IoU above which NMS suppresses the weaker box (0..1); "
                  "runtime-settable", read_only=False, minimum=0.0, maximum=1.0),
    ParameterSpec("pre_nms_top_n", _POST.pre_nms_top_n,
                  "highest-scoring boxes kept before NMS", minimum=1),
    ParameterSpec("max_detections", _POST.max_detections,
                  "cap on detections per frame (>= 1); runtime-settable", read_only=False,
                  minimum=1),
    ParameterSpec("class_agnostic_nms", _POST.class_agnostic_nms,
                  "NMS across classes (NVIDIA's node) instead of per class"),
    ParameterSpec("class_id_format", "name",
                  "name: class_id is the class name; index: its index as a string, like "
                  "NVIDIA's C++ node"),
    ParameterSpec("max_points", 204_800,
                  "clouds with more finite points are thinned to this many by keeping every "
                  "k-th point (k = ceil(N / max_points)), with a warning; 0: no limit",
                  minimum=0),
    ParameterSpec("threads", 0, "CPU threads of ONNX Runtime; 0: its default", minimum=0),
    ParameterSpec("input_topics", ["point_cloud"],
                  "PointCloud2 topics, one lidar each, all answered by this node's one model; "
                  "each is answered in its own namespace (/ns1/points -> /ns1/bbox, "
                  "/ns1/bbox_markers, /ns1/bbox/label_info); the default point_cloud (remap "
                  "it) is answered on bbox, bbox_markers and bbox/label_info"),
    ParameterSpec("fuse", False,
                  "also publish all lidars' detections merged in base_frame (cross-lidar NMS) "
                  "on fused/bbox, fused/bbox_markers and fused/bbox/label_info"),
    ParameterSpec("base_frame", "base_link", "frame of the fused detections"),
    ParameterSpec("lidar_extrinsics", [""],
                  "pose of each lidar frame in base_frame, '<frame_id> x y z roll pitch yaw' "
                  "(metres, degrees); a frame not listed is looked up with tf2 where "
                  "tf2_ros is installed"),
    ParameterSpec("fuse_window_s", 0.1,
                  "answers of other lidars at most this far in time from a new one are merged "
                  "with it (s)"),
    ParameterSpec("fuse_iou_thresh", 0.1,
                  "bird's-eye-view IoU above which two lidars' boxes are one object (0..1)",
                  minimum=0.0, maximum=1.0),
)

DEFAULTS: dict[str, Any] = {spec.name: spec.default for spec in PARAMETERS}


@dataclass(frozen=True)
class FusionSettings:
    """The fusion parameters, parsed: on/off, base frame, extrinsics by frame, window, IoU."""

    enabled: bool = False
    base_frame: str = "base_link"
    extrinsics: Mapping[str, Extrinsic] = field(default_factory=dict)
    window_s: float = 0.1
    iou_thresh: float = 0.1


@dataclass(frozen=True)
class NodeSettings:
    """Validated (and parsed) parameter values of the node."""

    runtime: RuntimeRequest
    intensity_range: tuple[float, float]
    class_names: tuple[str, ...]
    post: PostProcessConfig
    class_id_format: str
    max_points: int
    input_topics: tuple[str, ...] = ("point_cloud",)
    fusion: FusionSettings = FusionSettings()
    #: pose of the cloud's frame in the model's; None: identity (no transform)
    cloud_to_model: Optional[Extrinsic] = None

    @classmethod
    def from_parameters(cls, values: Mapping[str, Any]) -> NodeSettings:
        """Validate raw parameter values (missing ones take their defaults)."""
        merged = {**DEFAULTS, **values}
        unknown = sorted(set(values) - set(DEFAULTS))
        if unknown:
            raise ConfigError(f"unknown parameter(s) {unknown}; known: {sorted(DEFAULTS)}")
        runtime = RuntimeRequest(
            backend=_choice(merged, "backend", BACKENDS),
            precision=_choice(merged, "precision", PRECISIONS),
            model_path=str(merged["model_path"]), engine_path=str(merged["engine_path"]),
            threads=_non_negative_int(merged, "threads"))
        return cls(
            runtime=runtime,
            intensity_range=check_driver_intensity_range(merged["intensity_range"]),
            class_names=_class_names(merged["class_names"]),
            post=post_process_settings(merged),
            class_id_format=_choice(merged, "class_id_format", CLASS_ID_FORMATS),
            max_points=_non_negative_int(merged, "max_points"),
            input_topics=_topics(merged["input_topics"]),
            fusion=FusionSettings(
                enabled=_boolean(merged, "fuse"),
                base_frame=_frame(merged["base_frame"]),
                extrinsics=parse_extrinsics(
                    [str(t) for t in (merged["lidar_extrinsics"] or ())]),
                window_s=_positive_number(merged, "fuse_window_s"),
                iou_thresh=_unit_interval(merged, "fuse_iou_thresh", 0.1)),
            cloud_to_model=parse_cloud_to_model(merged["cloud_to_model"]),
        )


def parse_cloud_to_model(value: Any) -> Optional[Extrinsic]:
    """Parse ``cloud_to_model`` ``"x y z roll pitch yaw"`` (metres, degrees); None: identity."""
    parts = str(value).split() if isinstance(value, str) else []
    try:
        if len(parts) != 6:
            raise ValueError
        numbers = [float(p) for p in parts]
    except ValueError:
        raise ConfigError(f"cloud_to_model must be a string 'x y z roll pitch yaw' (metres, "
                          f"degrees), got {value!r}; e.g. '0 0 0 0 0 -90' for a +y-forward "
                          "Zvision cloud, '0 0 0 0 0 0' for none") from None
    if not all(math.isfinite(v) for v in numbers):
        raise ConfigError(f"cloud_to_model {value!r} has a non-finite number; give finite "
                          "'x y z roll pitch yaw' (metres, degrees)")
    extrinsic = Extrinsic.from_xyz_rpy("cloud", numbers[:3], numbers[3:])
    return None if extrinsic.is_identity else extrinsic


def read_params_file(path: Path) -> dict[str, Any]:
    """Read the ``ros__parameters`` of a ROS 2 parameters YAML file (first node in it)."""
    if not path.is_file():
        raise ConfigError(f"--params-file {path} does not exist")
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for section in document.values() if isinstance(document, dict) else ():
        if isinstance(section, dict) and isinstance(section.get("ros__parameters"), dict):
            return dict(section["ros__parameters"])
    raise ConfigError(f"{path} has no `<node>: ros__parameters:` section")


def settings_from_file(path: Optional[Path]) -> NodeSettings:
    """Give the node's settings of a parameters file (``--params-file``); None: the defaults."""
    return NodeSettings.from_parameters({} if path is None else read_params_file(path))


def _topics(value: Any) -> tuple[str, ...]:
    topics = tuple(str(t).strip() for t in (value or ()))
    if not topics or any(not t for t in topics) or len(set(topics)) != len(topics):
        raise ConfigError(f"input_topics must list distinct, non-empty topic names, got "
                          f"{list(value or ())}; e.g. ['/ns1/zvision_lidar_points', "
                          "'/ns2/zvision_lidar_points']")
    return topics


def _boolean(values: Mapping[str, Any], name: str) -> bool:
    if not isinstance(values[name], bool):
        raise ConfigError(f"{name} must be true or false, got {values[name]!r}")
    return bool(values[name])


def _frame(value: Any) -> str:
    frame = str(value).strip()
    if not frame:
        raise ConfigError("base_frame must not be empty; e.g. base_link")
    return frame


def _positive_number(values: Mapping[str, Any], name: str) -> float:
    value = _number(values, name, 0.0)
    if not value > 0:
        raise ConfigError(f"{name} must be > 0, got {values[name]!r}")
    return value


def post_process_settings(values: Mapping[str, Any],
                          base: PostProcessConfig | None = None) -> PostProcessConfig:
    """Build a PostProcessConfig from parameter values; absent ones keep ``base``'s values."""
    base = base or PostProcessConfig()
    score = _unit_interval(values, "score_threshold", base.score_threshold)
    iou = _unit_interval(values, "nms_iou_thresh", base.nms_iou_thresh)
    top_n = _positive_int(values, "pre_nms_top_n", base.pre_nms_top_n)
    max_detections = _positive_int(values, "max_detections", base.max_detections)
    agnostic = values.get("class_agnostic_nms", base.class_agnostic_nms)
    if not isinstance(agnostic, bool):
        raise ConfigError(f"class_agnostic_nms must be true or false, got {agnostic!r}")
    return PostProcessConfig(score_threshold=score, pre_nms_top_n=top_n,
                             nms_iou_thresh=iou, max_detections=max_detections,
                             class_agnostic_nms=agnostic)


def _choice(values: Mapping[str, Any], name: str, choices: Sequence[str]) -> str:
    value = values[name]
    if value not in choices:
        raise ConfigError(f"{name} must be one of {' | '.join(choices)}, got {value!r}")
    return str(value)


def _class_names(value: Any) -> tuple[str, ...]:
    names = tuple(str(v).strip() for v in value) if isinstance(value, (list, tuple)) else ()
    if not names or any(not n for n in names) or len(set(names)) != len(names):
        raise ConfigError(f"class_names must be a non-empty list of distinct names, got "
                          f"{value!r}")
    return names


def _number(values: Mapping[str, Any], name: str, default: float) -> float:
    value = values.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    return float(value)


def _unit_interval(values: Mapping[str, Any], name: str, default: float) -> float:
    value = _number(values, name, default)
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name} must be in [0, 1], got {value}")
    return value


def _integer(values: Mapping[str, Any], name: str, default: int) -> int:
    value = values.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    return value


def _positive_int(values: Mapping[str, Any], name: str, default: int) -> int:
    value = _integer(values, name, default)
    if value < 1:
        raise ConfigError(f"{name} must be >= 1, got {value}")
    return value


def _non_negative_int(values: Mapping[str, Any], name: str) -> int:
    value = _integer(values, name, 0)
    if value < 0:
        raise ConfigError(f"{name} must be >= 0, got {value}")
    return value
