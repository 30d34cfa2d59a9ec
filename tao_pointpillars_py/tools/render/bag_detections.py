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

"""Detections of each rendered cloud: the bag's Detection3DArray messages, else a model's."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
from rosbags.highlevel import AnyReader

from ...core.boxes import Extrinsic
from ...core.detections import Detections
from ...core.pointcloud2 import thin_points
from ...data.bags import CloudFrame
from ...data.detection_messages import DETECTION3D_ARRAY, read_detection_bag, vision_typestore
from ...inference.detector import Detector
from ...ros.parameters import NodeSettings, settings_from_file
from ...ros.topics import output_topics

__all__ = ["BagDetections", "DetectionFinder", "bag_topics"]


def bag_topics(bag: Path) -> dict[str, str]:
    """Give the bag's topics and their message types."""
    with AnyReader([bag], default_typestore=vision_typestore()) as reader:
        return {c.topic: c.msgtype for c in reader.connections}


class BagDetections:
    """
    One topic's Detection3DArray messages of a bag, looked up by cloud timestamp.

    A cloud's timestamp in the bag is its receive time, the detections' the cloud's header
    stamp; they agree in bags written offline and differ by the transport delay in recordings,
    so the nearest stamp within half the message period counts as the cloud's.
    """

    def __init__(self, frames: dict[int, Detections]) -> None:
        self.frames = frames
        self.stamps = np.array(sorted(frames), dtype=np.int64)
        gaps = np.diff(self.stamps)
        self.tolerance_ns = int(np.median(gaps) // 2) if gaps.size else 0
        self.unmatched = 0

    def at(self, timestamp_ns: int) -> Optional[Detections]:
        """Give the detections stamped nearest ``timestamp_ns``, None when none is near."""
        if timestamp_ns in self.frames:
            return self.frames[timestamp_ns]
        if self.stamps.size:
            after = int(np.searchsorted(self.stamps, timestamp_ns))
            near = self.stamps[max(after - 1, 0):after + 1]
            nearest = int(near[np.argmin(np.abs(near - timestamp_ns))])
            if abs(nearest - timestamp_ns) <= self.tolerance_ns:
                return self.frames[nearest]
        self.unmatched += 1
        return None


class DetectionFinder:
    """
    Detections of each cloud: the bag's own where it has them, else the model's.

    The model sees each cloud as the node with ``settings`` would (default: the node's
    defaults): thinned to ``max_points``, intensity from ``intensity_range``, moved by
    ``cloud_to_model``, post-processed with its settings (``score_threshold`` given overrides
    its threshold). Detections come in the cloud's frame, as the node publishes them.
    """

    def __init__(self, bag: Path, class_names: Sequence[str], model_path: Path,
                 score_threshold: Optional[float],
                 settings: Optional[NodeSettings] = None) -> None:
        self.bag, self.class_names = bag, tuple(class_names)
        self.model_path, self.score_threshold = model_path, score_threshold
        self.settings = settings or settings_from_file(None)
        self.max_points = self.settings.max_points
        self._detection_topics = {t for t, kind in bag_topics(bag).items()
                                  if kind == DETECTION3D_ARRAY}
        self._from_bag: dict[str, Optional[BagDetections]] = {}
        self._detector: Optional[Detector] = None
        self._warm = False

    def bag_detections(self, cloud_topic: str) -> Optional[BagDetections]:
        """Give the bag's detections answering ``cloud_topic``, None where it has none."""
        if cloud_topic not in self._from_bag:
            topic = output_topics(cloud_topic).detections
            self._from_bag[cloud_topic] = (
                BagDetections(read_detection_bag(self.bag, topic, self.class_names))
                if topic in self._detection_topics else None)
        return self._from_bag[cloud_topic]

    def describe(self, cloud_topic: str) -> str:
        """Say where the detections of ``cloud_topic`` come from."""
        if self.bag_detections(cloud_topic) is not None:
            return f"detections from the bag's {output_topics(cloud_topic).detections}"
        threshold = (self.score_threshold if self.score_threshold is not None
                     else self._detector_for(None).post.score_threshold)
        return f"detections of {self.model_path.name}, score ≥ {threshold:.2f}"

    def find(self, cloud: CloudFrame) -> tuple[Detections, Optional[float]]:
        """Give the cloud's detections and the detector's latency [ms] (None: from the bag)."""
        from_bag = self.bag_detections(cloud.topic)
        if from_bag is not None:
            found = from_bag.at(cloud.timestamp_ns) or Detections.empty()
            if self.score_threshold is not None:
                found = found.select(found.scores >= self.score_threshold)
            return found, None
        points = thin_points(cloud.points, self.max_points)  # as the node does
        detector = self._detector_for(points)
        found = detector.detect(points)
        return found, detector.last_timings.total_ms

    def _detector_for(self, first_points: Optional[np.ndarray]) -> Detector:
        """Load the detector once; a first, untimed frame keeps warm-up out of the latency."""
        if self._detector is None:
            post = self.settings.post
            if self.score_threshold is not None:
                post = dataclasses.replace(post, score_threshold=self.score_threshold)
            self._detector = Detector.from_model(
                str(self.model_path), post=post, intensity_range=self.settings.intensity_range,
                cloud_to_model=self.settings.cloud_to_model)
        if first_points is not None and not self._warm:
            self._detector.detect(first_points)
            self._warm = True
        return self._detector

    @property
    def cloud_to_model(self) -> Optional[Extrinsic]:
        """Give the pose of the clouds' frame in the model's (None: the same frame)."""
        return self.settings.cloud_to_model

    @property
    def unmatched(self) -> int:
        """Count clouds for which the bag held detections elsewhere but none for them."""
        return sum(d.unmatched for d in self._from_bag.values() if d is not None)
