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

"""The detection pipeline without ROS: points -> pillars -> backend -> decode -> NMS."""

from __future__ import annotations

from dataclasses import dataclass
import logging
import math
import time
from typing import Any, Mapping, Sequence, TYPE_CHECKING

import numpy as np

from .backends import Backend, create_backend
from .backends.onnxruntime_backend import OnnxRuntimeBackend
from .model_file import detect_contract, model_info, ModelContract, ModelInfo, read_onnx
from .tao_layout import has_tao_plugins, import_tao
from ..core.anchors import generate_anchors
from ..core.boxes import Extrinsic, transform_points
from ..core.config import ModelConfig, PostProcessConfig
from ..core.detections import Detections
from ..core.fusion import to_base_frame
from ..core.input_health import (cloud_health, CloudHealth, InputReference,
                                 training_intensity_from_metadata)
from ..core.pillars import PillarEncoder
from ..core.pointcloud2 import (check_driver_intensity_range, DRIVER_INTENSITY_RANGE,
                                map_intensity, points_from_cloud, thin_points)
from ..core.postprocess import decode_predictions, decode_tao_boxes
from ..errors import ConfigError, ModelLoadError, PointPillarsError

if TYPE_CHECKING:  # onnx is imported lazily at run time
    import onnx

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Timings:
    """Wall time of the last frame's stages, milliseconds."""

    preprocess_ms: float = 0.0
    inference_ms: float = 0.0
    postprocess_ms: float = 0.0

    @property
    def total_ms(self) -> float:
        return self.preprocess_ms + self.inference_ms + self.postprocess_ms


def _fixed(dim: Any) -> bool:
    """Tell whether a tensor axis has a fixed length (not symbolic, not -1)."""
    return isinstance(dim, (int, np.integer)) and int(dim) > 0


def _upper_bound(dim: Any) -> int:
    """Upper end of a dynamic axis written "lo..hi" (0 when it has none)."""
    text = str(dim)
    return int(text.split("..")[1]) if ".." in text and text.split("..")[1].isdigit() else 0


class Detector:
    """
    Runs a PointPillars model on (N, 4) clouds in driver intensity units.

    ``intensity_range`` is the range of the incoming clouds' intensity; it is mapped linearly
    (and clipped) onto the model's own range from its metadata before pillarization.
    ``cloud_to_model`` (the node parameter of that name) is the pose of the clouds' frame in the
    model's: every point is moved by it before pillarization and the detections are moved back
    into the cloud's frame (:meth:`set_cloud_to_model`); None or identity: no transform at all.

    The contract (which tensors to feed) is the one of the model the backend runs, read from
    ``backend.input_names``: a backend may run a converted model (a TAO file as a native
    one). Input shapes are ``backend.input_shapes`` where the backend has them, else
    ``input_shapes`` (the model file's); ``dynamic_pillars`` given overrides what they say,
    ``contract`` given must agree with the backend's. ``class_names_known`` is False when the
    model carries no class names (a TAO export): the config's are then placeholders
    ("class_0", ...) or the caller's. ``training_intensity`` is the (p50, p99) of the model's
    training data in its intensity units, from its metadata (None: not recorded); with the
    ranges it is what the clouds are held against (:attr:`input_reference`).
    """

    def __init__(self, config: ModelConfig, backend: Backend,
                 post: PostProcessConfig | None = None,
                 intensity_range: Sequence[float] = DRIVER_INTENSITY_RANGE,
                 contract: ModelContract | None = None,
                 dynamic_pillars: bool | None = None,
                 input_shapes: Mapping[str, Sequence[Any]] | None = None,
                 class_names_known: bool = True,
                 cloud_to_model: Extrinsic | None = None,
                 training_intensity: tuple[float, float] | None = None) -> None:
        self.config = config
        self.backend = backend
        self.post = post or PostProcessConfig()
        self.intensity_range = check_driver_intensity_range(intensity_range)
        self.contract = detect_contract(list(backend.input_names), list(backend.output_names),
                                        source=f"the model the {backend.name} backend runs")
        if contract is not None and contract is not self.contract:
            raise ModelLoadError(
                f"the {backend.name} backend runs a model with inputs "
                f"{list(backend.input_names)} ({self.contract.value} contract), not the "
                f"{contract.value} contract given; leave contract out, the backend decides it")
        shapes = getattr(backend, "input_shapes", None) or input_shapes or {}
        self.input_shapes: dict[str, tuple[Any, ...]] = {
            name: tuple(shape) for name, shape in shapes.items()}
        pillar_shape = self.input_shapes.get("pillar_features", ())
        #: feed only the occupied pillars (models exported with a symbolic pillar axis); the
        #: pillar feature net then costs in proportion to the scene, not to max_pillars
        self.dynamic_pillars = (len(pillar_shape) > 1 and not _fixed(pillar_shape[1])
                                if dynamic_pillars is None else dynamic_pillars)
        points_axis = (self.input_shapes.get("points", ())[1:2] or (None,))[0]
        tao = self.contract is ModelContract.TAO
        #: rows of a TAO model's ``points`` input (0: symbolic, the cloud's own length)
        self.point_capacity = int(points_axis) if tao and _fixed(points_axis) else 0
        #: most points a TAO model takes: its capacity, or a dynamic axis' upper bound
        #: (a TensorRT profile reports "1..204800"); 0: no bound
        self.point_bound = self.point_capacity or (_upper_bound(points_axis) if tao else 0)
        self.class_names_known = class_names_known
        self.training_intensity = training_intensity
        self.last_timings = Timings()
        #: (K, 7) anchor boxes in the order of the head outputs
        self.anchors = generate_anchors(config).reshape(-1, 7)
        self._encoder = PillarEncoder(config.pillars)
        self._points = np.zeros((1, self.point_capacity, 4), np.float32)
        self.cloud_to_model: Extrinsic | None = None
        self._model_in_cloud: Extrinsic | None = None
        self.set_cloud_to_model(cloud_to_model)

    @classmethod
    def from_model(cls, model_path: str, backend: str = "onnxruntime",
                   post: PostProcessConfig | None = None,
                   intensity_range: Sequence[float] = DRIVER_INTENSITY_RANGE,
                   backend_file: str | None = None,
                   backend_options: Mapping[str, Any] | None = None,
                   class_names: Sequence[str] | None = None,
                   cloud_to_model: Extrinsic | None = None) -> Detector:
        """
        Load a model file.

        ``backend_file`` is what the backend loads when it is not the model itself (a
        TensorRT engine built from it); ``backend_options`` go to the backend (``threads``,
        ``precision``, ...). ``class_names`` name the classes of a model that carries none (a
        TAO export); a model with its own names must be given those, in order.
        ``cloud_to_model``: see the class. ONNX Runtime
        runs a model with TAO's TensorRT plugins converted in memory, as ``tao-pointpillars
        import-tao`` does (the plugins do not exist on the CPU).
        """
        proto = read_onnx(model_path)
        info = model_info(proto, model_path)
        config = _named_config(info, class_names)
        options = dict(backend_options or {})
        runner: Backend
        if backend == "onnxruntime" and has_tao_plugins(proto):
            if backend_file and backend_file != model_path:
                proto = read_onnx(backend_file)
            # a model without names converts with the placeholders (or the caller's names)
            runner, config = _converted_on_onnxruntime(
                proto, backend_file or model_path,
                None if info.class_names_known else config.class_names, options)
        else:
            runner = create_backend(backend, backend_file or model_path, **options)
        return cls(config, runner, post, intensity_range, input_shapes=info.input_shapes,
                   class_names_known=info.class_names_known, cloud_to_model=cloud_to_model,
                   training_intensity=training_intensity_from_metadata(info.metadata))

    def set_post_process(self, post: PostProcessConfig) -> None:
        """Use new post-processing settings from the next frame on (one assignment)."""
        self.post = post

    def set_intensity_range(self, intensity_range: Sequence[float]) -> None:
        """Take clouds whose intensity spans ``intensity_range`` (driver units) from now on."""
        self.intensity_range = check_driver_intensity_range(intensity_range)

    def set_cloud_to_model(self, cloud_to_model: Extrinsic | None) -> None:
        """
        Move clouds by ``cloud_to_model`` (the cloud frame's pose in the model's) from now on.

        The detections go back through the inverse: centres fully, yaw turned by the inverse's
        heading (minus the yaw term when roll and pitch are 0). With a roll or pitch a box is
        only approximately the same box in the cloud's frame (kept upright, size unchanged).
        None or an identity pose sets no transform: clouds and boxes are then not touched.
        """
        if cloud_to_model is None or cloud_to_model.is_identity:
            self.cloud_to_model = self._model_in_cloud = None
            return
        self.cloud_to_model = cloud_to_model
        self._model_in_cloud = cloud_to_model.inverse("cloud")

    @property
    def input_reference(self) -> InputReference:
        """What the clouds are held against: the model's range and intensity, as set now."""
        return InputReference(tuple(self.config.pillars.point_cloud_range),
                              self.config.intensity_range, self.intensity_range,
                              self.training_intensity,
                              "" if self.cloud_to_model is None
                              else pose_text(self.cloud_to_model))

    def model_frame_points(self, points: np.ndarray) -> np.ndarray:
        """Give a cloud (N, 4) in the model's frame: ``points`` itself without a transform."""
        if self.cloud_to_model is None:
            return points
        return transform_points(points, self.cloud_to_model)

    def cloud_frame_detections(self, detections: Detections) -> Detections:
        """Give detections found in the model's frame in the cloud's frame (see above)."""
        if self._model_in_cloud is None or len(detections) == 0:
            return detections
        return to_base_frame(detections, self._model_in_cloud)

    def point_limit(self, max_points: int) -> int:
        """
        Return how many points of a cloud the model can take: ``max_points`` (0: no limit).

        A TAO model's fixed ``points`` capacity lowers it (0 when there is no limit at all).
        """
        limits = [n for n in (max_points, self.point_bound) if n > 0]
        return min(limits) if limits else 0

    def model_inputs(self, points: np.ndarray) -> dict[str, np.ndarray]:
        """
        Batch-1 model inputs for a cloud (N, 4) float32 in driver intensity units.

        The arrays are views of reused buffers, valid until the next call.
        """
        if self.contract is ModelContract.TAO:
            return self._tao_inputs(points)
        scaled = map_intensity(points, self.intensity_range, self.config.intensity_range)
        features, coords, count = self._encoder.encode(scaled)
        if self.dynamic_pillars:
            # one all-zero row when the cloud is empty: a zero-length axis is not valid input
            used = max(count, 1)
            features, coords = features[:used], coords[:used]
        return {"pillar_features": features[None], "pillar_coords": coords[None],
                "num_pillars": np.array([count], dtype=np.int32)}

    def _tao_inputs(self, points: np.ndarray) -> dict[str, np.ndarray]:
        """
        Return ``points`` [1, capacity, 4] zero-padded and ``num_points`` [1] (the real count).

        A cloud over the capacity is thinned (:func:`answer_cloud` counts it); a symbolic
        point axis takes the cloud as it is (one zero row when it is empty).
        """
        scaled = map_intensity(thin_points(points, self.point_bound), self.intensity_range,
                               self.config.intensity_range)
        count = scaled.shape[0]
        if self.point_capacity:
            buffer = self._points
            buffer[0, :count] = scaled
            buffer[0, count:] = 0.0
        else:
            buffer = np.zeros((1, max(count, 1), 4), np.float32)
            buffer[0, :count] = scaled
        return {"points": buffer, "num_points": np.array([count], dtype=np.int32)}

    def detect(self, points: np.ndarray) -> Detections:
        """
        Detect objects in one cloud (N, 4) float32 x, y, z, intensity (driver units).

        Points and boxes are in the cloud's frame; ``cloud_to_model`` moves them in between.
        """
        return self._detect(points, None)[0]

    def detect_with_health(self, points: np.ndarray, returns: int | None = None,
                           slots: int = 0) -> tuple[Detections, CloudHealth]:
        """
        Detect as :meth:`detect` does, and give the cloud's health figures too.

        They are taken from the points in the model's frame that detection computes anyway
        (:func:`~..core.input_health.cloud_health`, counted in the preprocessing time);
        ``returns`` (points before thinning) and ``slots`` (width x height) go into them.
        """
        detections, health = self._detect(points, (returns, slots))
        assert health is not None  # asked for
        return detections, health

    def _detect(self, points: np.ndarray, health_counts: tuple[int | None, int] | None
                ) -> tuple[Detections, CloudHealth | None]:
        post = self.post  # one frame sees one settings object, even if replaced meanwhile
        t0 = time.perf_counter()
        model_points = self.model_frame_points(points)
        health = None if health_counts is None else cloud_health(
            model_points, self.config.pillars.point_cloud_range, *health_counts)
        inputs = self.model_inputs(model_points)
        t1 = time.perf_counter()
        outputs = self.backend.infer(inputs)
        t2 = time.perf_counter()
        if self.contract is ModelContract.TAO:
            detections = decode_tao_boxes(outputs["output_boxes"][0],
                                          int(outputs["num_boxes"].reshape(-1)[0]), post)
        else:
            dir_logits = outputs.get("dir_cls_preds")
            detections = decode_predictions(
                outputs["cls_preds"][0], outputs["box_preds"][0],
                None if dir_logits is None else dir_logits[0], self.anchors, self.config, post)
        detections = self.cloud_frame_detections(detections)
        t3 = time.perf_counter()
        self.last_timings = Timings((t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3)
        return detections, health


def pose_text(pose: Extrinsic) -> str:
    """Write a pose as the node's ``cloud_to_model`` takes it: "x y z roll pitch yaw" [m, deg]."""
    r = pose.rotation
    roll = math.degrees(math.atan2(float(r[2, 1]), float(r[2, 2])))
    pitch = math.degrees(math.asin(max(-1.0, min(1.0, -float(r[2, 0])))))
    yaw = math.degrees(math.atan2(float(r[1, 0]), float(r[0, 0])))
    # rounded to a micro-unit, and + 0.0 turns -0 into 0
    return " ".join(f"{round(float(v), 6) + 0.0:g}"
                    for v in (*pose.translation, roll, pitch, yaw))


def _named_config(info: ModelInfo, class_names: Sequence[str] | None) -> ModelConfig:
    """Return the model's config, with ``class_names`` where the model carries no names."""
    if class_names is None:
        return info.config
    if not info.class_names_known:
        return info.config.with_class_names(class_names)
    if tuple(class_names) != info.config.class_names:
        raise ConfigError(
            f"class_names {list(class_names)} do not match the classes of {info.path}: "
            f"{list(info.config.class_names)}; give {list(info.config.class_names)} (same "
            "order) or load the model trained for your classes")
    return info.config


def _converted_on_onnxruntime(proto: onnx.ModelProto, path: str, class_names: Sequence[str] | None,
                              options: Mapping[str, Any]) -> tuple[Backend, ModelConfig]:
    """Run a TAO-contract model on ONNX Runtime: converted in memory to the native contract."""
    native = import_tao(proto, class_names=class_names, source=path)
    metadata = {p.key: p.value for p in native.metadata_props}
    config = ModelConfig.from_metadata(metadata, source=f"{path} (converted)")
    LOG.info("%s is a TAO model (TensorRT plugins); ONNX Runtime runs it converted in memory "
             "(as `tao-pointpillars import-tao` does)", path)
    return OnnxRuntimeBackend(native.SerializeToString(), source=f"{path} (converted)",
                              **options), config


@dataclass(frozen=True)
class CloudAnswer:
    """
    The detector's answer to one cloud, or why the cloud was skipped undecoded.

    ``thinned_from`` is the count of returns before thinning to ``max_points`` or to a
    TAO model's point capacity (0 when the cloud was not thinned): a thinned cloud is a
    degraded input the caller warns about. ``health``: what the cloud looks like to the model
    (:class:`~..core.input_health.CloudHealth`; None when skipped).
    """

    detections: Detections | None
    skipped: str = ""
    thinned_from: int = 0
    health: CloudHealth | None = None


def answer_cloud(detector: Detector, cloud: Any, max_points: int) -> CloudAnswer:
    """
    Answer one PointCloud2 (or an object with its fields) as the node does.

    Decode it (:func:`~..core.pointcloud2.points_from_cloud` keeps the returns: no
    non-finite points, no empty (0, 0, 0) slots), thin it to ``max_points`` (0: no limit) or
    to a TAO model's point capacity when that is lower (:meth:`Detector.point_limit`),
    detect, with the cloud's health figures. A cloud that does not decode is skipped with the
    reason; errors of the detector itself are raised.
    """
    try:
        points = points_from_cloud(cloud)
    except PointPillarsError as exc:
        return CloudAnswer(None, skipped=str(exc))
    returns, thinned_from = points.shape[0], 0
    limit = detector.point_limit(max_points)
    if 0 < limit < returns:
        thinned_from = returns
        points = thin_points(points, limit)
    slots = int(cloud.height) * int(cloud.width)  # decoded: both are valid sizes
    detections, health = detector.detect_with_health(points, returns, slots)
    return CloudAnswer(detections, thinned_from=thinned_from, health=health)
