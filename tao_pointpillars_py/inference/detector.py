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
import time
from typing import Any, Mapping, Sequence

import numpy as np

from .backends import Backend, create_backend
from .model_file import load_model_info, ModelContract
from ..core.anchors import generate_anchors
from ..core.config import ModelConfig, PostProcessConfig
from ..core.detections import Detections
from ..core.pillars import PillarEncoder
from ..core.pointcloud2 import (check_driver_intensity_range, DRIVER_INTENSITY_RANGE,
                                map_intensity, points_from_cloud, thin_points)
from ..core.postprocess import decode_predictions, decode_tao_boxes
from ..errors import PointPillarsError


@dataclass(frozen=True)
class Timings:
    """Wall time of the last frame's stages, milliseconds."""

    preprocess_ms: float = 0.0
    inference_ms: float = 0.0
    postprocess_ms: float = 0.0

    @property
    def total_ms(self) -> float:
        return self.preprocess_ms + self.inference_ms + self.postprocess_ms


class Detector:
    """
    Runs a PointPillars model on (N, 4) clouds in driver intensity units.

    ``intensity_range`` is the range of the incoming clouds' intensity; it is mapped linearly
    (and clipped) onto the model's own range from its metadata before pillarization.
    """

    def __init__(self, config: ModelConfig, backend: Backend,
                 post: PostProcessConfig | None = None,
                 intensity_range: Sequence[float] = DRIVER_INTENSITY_RANGE,
                 contract: ModelContract = ModelContract.NATIVE,
                 dynamic_pillars: bool = False) -> None:
        self.config = config
        self.backend = backend
        self.post = post or PostProcessConfig()
        self.intensity_range = check_driver_intensity_range(intensity_range)
        self.contract = contract
        #: feed only the occupied pillars (models exported with a symbolic pillar axis); the
        #: pillar feature net then costs in proportion to the scene, not to max_pillars
        self.dynamic_pillars = dynamic_pillars
        self.last_timings = Timings()
        #: (K, 7) anchor boxes in the order of the head outputs
        self.anchors = generate_anchors(config).reshape(-1, 7)
        self._encoder = PillarEncoder(config.pillars)

    @classmethod
    def from_model(cls, model_path: str, backend: str = "onnxruntime",
                   post: PostProcessConfig | None = None,
                   intensity_range: Sequence[float] = DRIVER_INTENSITY_RANGE,
                   backend_file: str | None = None,
                   backend_options: Mapping[str, Any] | None = None) -> Detector:
        """
        Load a model file.

        ``backend_file`` is what the backend loads when it is not the model itself (a
        TensorRT engine built from it); ``backend_options`` go to the backend (``threads``,
        ``precision``, ...).
        """
        info = load_model_info(model_path)
        return cls(info.config, create_backend(backend, backend_file or model_path,
                                               **(backend_options or {})), post,
                   intensity_range, info.contract, info.dynamic_pillars)

    def set_post_process(self, post: PostProcessConfig) -> None:
        """Use new post-processing settings from the next frame on (one assignment)."""
        self.post = post

    def model_inputs(self, points: np.ndarray) -> dict[str, np.ndarray]:
        """
        Batch-1 model inputs for a cloud (N, 4) float32 in driver intensity units.

        The arrays are views of reused buffers, valid until the next call.
        """
        scaled = map_intensity(points, self.intensity_range, self.config.intensity_range)
        features, coords, count = self._encoder.encode(scaled)
        if self.dynamic_pillars:
            # one all-zero row when the cloud is empty: a zero-length axis is not valid input
            used = max(count, 1)
            features, coords = features[:used], coords[:used]
        return {"pillar_features": features[None], "pillar_coords": coords[None],
                "num_pillars": np.array([count], dtype=np.int32)}

    def detect(self, points: np.ndarray) -> Detections:
        """Detect objects in one cloud (N, 4) float32 x, y, z, intensity (driver units)."""
        post = self.post  # one frame sees one settings object, even if replaced meanwhile
        t0 = time.perf_counter()
        inputs = self.model_inputs(points)
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
        t3 = time.perf_counter()
        self.last_timings = Timings((t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3)
        return detections


@dataclass(frozen=True)
class CloudAnswer:
    """
    The detector's answer to one cloud, or why the cloud was skipped undecoded.

    ``thinned_from`` is the count of finite points before thinning to ``max_points`` (0 when
    the cloud was not thinned): a thinned cloud is a degraded input the caller warns about.
    """

    detections: Detections | None
    skipped: str = ""
    thinned_from: int = 0


def answer_cloud(detector: Detector, cloud: Any, max_points: int) -> CloudAnswer:
    """
    Answer one PointCloud2 (or an object with its fields) as the node does.

    Decode it (:func:`~..core.pointcloud2.points_from_cloud` drops non-finite points), thin it
    to ``max_points`` (0: no limit), detect. A cloud that does not decode is skipped with the
    reason; errors of the detector itself are raised.
    """
    try:
        points = points_from_cloud(cloud)
    except PointPillarsError as exc:
        return CloudAnswer(None, skipped=str(exc))
    thinned_from = 0
    if 0 < max_points < points.shape[0]:
        thinned_from = points.shape[0]
        points = thin_points(points, max_points)
    return CloudAnswer(detector.detect(points), thinned_from=thinned_from)
