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

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..core.config import PostProcessConfig
from ..core.pointcloud2 import DRIVER_INTENSITY_RANGE
from ..errors import ConfigError
from ..inference.detector import check_intensity_range
from ..package_files import package_file
from ..quantization.quantize import int8_model_path

BACKENDS = ("auto", "onnxruntime", "tensorrt")
PRECISIONS = ("fp32", "fp16", "int8")
CLASS_ID_FORMATS = ("name", "index")
#: Parameters that ``ros2 param set`` may change while the node runs.
RUNTIME_PARAMETERS = ("score_threshold", "nms_iou_thresh", "max_detections")


@dataclass(frozen=True)
class ParameterSpec:
    """One node parameter: its default (which fixes its ROS type) and what it means."""

    name: str
    default: Any
    description: str
    read_only: bool = True


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
    ParameterSpec("class_names", ["Vehicle", "Pedestrian", "Cyclist"],
                  "class names in the model's order; must equal the model's own"),
    ParameterSpec("score_threshold", _POST.score_threshold,
                  "drop detections scoring below this (0..1); runtime-settable",
                  read_only=False),
    ParameterSpec("nms_iou_thresh", _POST.nms_iou_threshold,
                  "bird's-eye-view IoU above which NMS suppresses the weaker box (0..1); "
                  "runtime-settable", read_only=False),
    ParameterSpec("pre_nms_top_n", _POST.pre_nms_top_n,
                  "highest-scoring boxes kept before NMS"),
    ParameterSpec("max_detections", _POST.max_detections,
                  "cap on detections per frame (>= 1); runtime-settable", read_only=False),
    ParameterSpec("class_agnostic_nms", _POST.class_agnostic_nms,
                  "NMS across classes (NVIDIA's node) instead of per class"),
    ParameterSpec("class_id_format", "name",
                  "name: class_id is the class name; index: its index as a string, like "
                  "NVIDIA's C++ node"),
    ParameterSpec("max_points", 204_800,
                  "clouds with more finite points are thinned to this many by keeping every "
                  "k-th point (k = ceil(N / max_points)), with a warning; 0: no limit"),
    ParameterSpec("threads", 0, "CPU threads of ONNX Runtime; 0: its default"),
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
                  "bird's-eye-view IoU above which two lidars' boxes are one object (0..1)"),
)

DEFAULTS: dict[str, Any] = {spec.name: spec.default for spec in PARAMETERS}


@dataclass(frozen=True)
class NodeSettings:
    """Validated parameter values of the node."""

    model_path: str
    engine_path: str
    backend: str
    precision: str
    intensity_range: tuple[float, float]
    class_names: tuple[str, ...]
    post: PostProcessConfig
    class_id_format: str
    max_points: int
    threads: int
    input_topics: tuple[str, ...] = ("point_cloud",)
    fuse: bool = False
    base_frame: str = "base_link"
    lidar_extrinsics: tuple[str, ...] = ()
    fuse_window_s: float = 0.1
    fuse_iou_thresh: float = 0.1

    @classmethod
    def from_parameters(cls, values: Mapping[str, Any]) -> NodeSettings:
        """Validate raw parameter values (missing ones take their defaults)."""
        merged = {**DEFAULTS, **values}
        unknown = sorted(set(values) - set(DEFAULTS))
        if unknown:
            raise ConfigError(f"unknown parameter(s) {unknown}; known: {sorted(DEFAULTS)}")
        return cls(
            model_path=str(merged["model_path"]),
            engine_path=str(merged["engine_path"]),
            backend=_choice(merged, "backend", BACKENDS),
            precision=_choice(merged, "precision", PRECISIONS),
            intensity_range=check_intensity_range(merged["intensity_range"]),
            class_names=_class_names(merged["class_names"]),
            post=post_process_settings(merged),
            class_id_format=_choice(merged, "class_id_format", CLASS_ID_FORMATS),
            max_points=_non_negative_int(merged, "max_points"),
            threads=_non_negative_int(merged, "threads"),
            input_topics=_topics(merged["input_topics"]),
            fuse=_boolean(merged, "fuse"),
            base_frame=_frame(merged["base_frame"]),
            lidar_extrinsics=_extrinsics(merged["lidar_extrinsics"]),
            fuse_window_s=_positive_number(merged, "fuse_window_s"),
            fuse_iou_thresh=_unit_interval(merged, "fuse_iou_thresh", 0.1),
        )


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


def _extrinsics(value: Any) -> tuple[str, ...]:
    from ..core.fusion import parse_extrinsics
    texts = tuple(str(t) for t in (value or ()) if str(t).strip())
    parse_extrinsics(list(texts))  # refuses a bad one now, at start-up
    return texts


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
    iou = _unit_interval(values, "nms_iou_thresh", base.nms_iou_threshold)
    top_n = _positive_int(values, "pre_nms_top_n", base.pre_nms_top_n)
    max_detections = _positive_int(values, "max_detections", base.max_detections)
    agnostic = values.get("class_agnostic_nms", base.class_agnostic_nms)
    if not isinstance(agnostic, bool):
        raise ConfigError(f"class_agnostic_nms must be true or false, got {agnostic!r}")
    return PostProcessConfig(score_threshold=score, pre_nms_top_n=top_n,
                             nms_iou_threshold=iou, max_detections=max_detections,
                             class_agnostic_nms=agnostic)


def check_class_names(configured: Sequence[str], model_classes: Sequence[str],
                      model_path: str | Path) -> None:
    """Refuse class_names that differ from the model's classes (names and order)."""
    if tuple(configured) != tuple(model_classes):
        raise ConfigError(
            f"class_names {list(configured)} do not match the classes of {model_path}: "
            f"{list(model_classes)}; set class_names to {list(model_classes)} (same order) "
            "or load the model trained for your classes")


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


#: File name of the reference model shipped with the package.
REFERENCE_MODEL = "pointpillars_zvision.onnx"


def default_model_path() -> Path:
    """Find the reference model: in share/tao_pointpillars_py/models, else the source tree."""
    try:
        return package_file(f"models/{REFERENCE_MODEL}")
    except ConfigError as exc:
        raise ConfigError(f"model_path is empty and the reference model {REFERENCE_MODEL} cannot "
                          f"be found ({exc}); set model_path to an ONNX model") from None


@dataclass(frozen=True)
class RuntimeChoice:
    """
    What the node runs: backend, model (metadata), the file the backend loads, precision.

    ``backend_file`` is the model itself, or a serialized TensorRT engine (``engine_path``).
    """

    backend: str
    model_path: Path
    precision: str
    backend_file: Path

    def backend_options(self, threads: int) -> dict[str, Any]:
        """Keyword options of the backend: ONNX Runtime threads, TensorRT precision."""
        if self.backend == "tensorrt":
            return {"precision": self.precision}
        return {"threads": threads} if threads else {}

    def describe(self) -> str:
        """One line for the start-up log: what actually runs."""
        route = {"onnxruntime": "ONNX Runtime on CPU", "tensorrt": "TensorRT on GPU"}
        loaded = "" if self.backend_file == self.model_path else f", engine {self.backend_file}"
        return (f"backend {self.backend} ({route.get(self.backend, self.backend)}), precision "
                f"{self.precision}, model {self.model_path}{loaded}")


def _int8_model(model: Path, backend: str) -> Path:
    """Find the Q/DQ model next to ``model`` (``<stem>.int8.onnx``) that int8 runs."""
    int8_model = int8_model_path(model)
    if not int8_model.is_file():
        raise ConfigError(
            f"precision int8 on {backend} needs the int8 Q/DQ model {int8_model} next to "
            f"{model.name}; it is not there: make it with `tao-pointpillars calibrate --model "
            f"{model} --bag BAG`"
            + (", or set engine_path to an int8 engine from `tao-pointpillars build-engine`"
               if backend == "tensorrt" else "") + ", or use precision fp32")
    return int8_model


def select_runtime(settings: NodeSettings, available_backends: Sequence[str]) -> RuntimeChoice:
    """
    Resolve backend "auto", the model file and the precision, or refuse the combination.

    auto is TensorRT where it is importable with a GPU, else ONNX Runtime. int8 runs the Q/DQ
    model next to the fp32 one (``<stem>.int8.onnx``) on either backend (TensorRT builds it
    as explicit int8); fp16 needs TensorRT; ``engine_path`` needs TensorRT.
    """
    model = Path(settings.model_path) if settings.model_path else default_model_path()
    if not model.is_file():
        what = "is a directory, not a file" if model.is_dir() else "does not exist"
        raise ConfigError(f"model_path {model} {what}; set model_path to an ONNX model "
                          "(e.g. the reference models/pointpillars_zvision.onnx)")
    engine = Path(settings.engine_path) if settings.engine_path else None
    backend = settings.backend
    if backend == "auto":
        backend = "tensorrt" if "tensorrt" in available_backends else "onnxruntime"
    if backend not in available_backends:
        raise ConfigError(f"backend {backend} is not available on this machine (available: "
                          f"{list(available_backends)}); set backend to auto or onnxruntime")
    if engine is not None:
        if backend != "tensorrt":
            raise ConfigError(f"engine_path {engine} is a TensorRT engine, but the backend is "
                              f"{backend} (TensorRT needs a GPU and the tensorrt and pycuda "
                              "modules); clear engine_path to run model_path on ONNX Runtime")
        if not engine.is_file():
            raise ConfigError(f"engine_path {engine} does not exist; build it with "
                              f"`tao-pointpillars build-engine {model} --out {engine}`, or clear "
                              "engine_path to build and cache one from model_path")
    if backend == "onnxruntime" and settings.precision == "fp16":
        raise ConfigError("precision fp16 needs backend tensorrt (a GPU); ONNX Runtime on "
                          "CPU runs fp32 or int8")
    if settings.precision == "int8" and engine is None:
        model = _int8_model(model, backend)
    return RuntimeChoice(backend, model, settings.precision, engine or model)
