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
Several lidars into one picture: detections moved into ``base_frame`` and merged by NMS.

Each lidar's mounting is an :class:`~.boxes.Extrinsic` (translation in metres, roll / pitch /
yaw in degrees, the pose of the lidar frame in ``base_frame``), given as the node parameter
text ``"<frame_id> x y z roll pitch yaw"`` or taken from tf2. Boxes stay upright: their centres
are transformed fully, their yaw turns by the mounting's heading. :class:`DetectionFusion`
keeps each lidar's latest answer and merges those within ``window_s`` of the newest with a
bird's-eye-view NMS, so an object that two lidars see (their fields of view overlap) is one box.
"""

from __future__ import annotations

import math
import threading

import numpy as np

from .boxes import Extrinsic, transform_boxes
from .detections import Detections
from .nms import multiclass_nms
from .stamps import seconds_to_ns
from ..errors import ConfigError


def parse_extrinsic(text: str) -> Extrinsic:
    """Parse ``"<frame_id> x y z roll pitch yaw"`` (metres, degrees)."""
    parts = text.split()
    try:
        if len(parts) != 7:
            raise ValueError
        numbers = [float(p) for p in parts[1:]]
    except ValueError:
        raise ConfigError(f"lidar extrinsic {text!r} is not '<frame_id> x y z roll pitch yaw' "
                          "(metres, degrees), e.g. 'lidar_front 1.2 0 1.6 0 0 0'") from None
    if not all(math.isfinite(v) for v in numbers):
        raise ConfigError(f"lidar extrinsic {text!r} has a non-finite number")
    return Extrinsic.from_xyz_rpy(parts[0], (numbers[0], numbers[1], numbers[2]),
                                  (numbers[3], numbers[4], numbers[5]))


def parse_extrinsics(texts: list[str] | tuple[str, ...]) -> dict[str, Extrinsic]:
    """Parse the ``lidar_extrinsics`` parameter; each frame_id at most once."""
    extrinsics: dict[str, Extrinsic] = {}
    for text in texts:
        if not text.strip():
            continue
        extrinsic = parse_extrinsic(text)
        if extrinsic.frame_id in extrinsics:
            raise ConfigError(f"lidar_extrinsics names {extrinsic.frame_id} twice")
        extrinsics[extrinsic.frame_id] = extrinsic
    return extrinsics


def to_base_frame(detections: Detections, extrinsic: Extrinsic) -> Detections:
    """Move detections from the lidar frame into the base frame (upright boxes, yaw turned)."""
    moved = transform_boxes(detections.boxes, extrinsic)
    return Detections(moved.astype(np.float32), detections.scores, detections.labels)


class DetectionFusion:
    """
    Latest base-frame detections of each lidar, merged on every new answer.

    ``add`` returns the merge of the latest answers whose stamps lie within ``window_s`` of
    the new one (a lidar that stopped is left out, never waited for): greedy bird's-eye-view
    NMS at ``iou_threshold``, class-aware unless ``class_agnostic``. Thread-safe.
    """

    def __init__(self, window_s: float = 0.1, iou_threshold: float = 0.1,
                 max_detections: int = 400, class_agnostic: bool = False) -> None:
        self.window_ns = seconds_to_ns(window_s)
        self.iou_threshold = iou_threshold
        self.max_detections = max_detections
        self.class_agnostic = class_agnostic
        self._latest: dict[str, tuple[int, Detections]] = {}
        self._lock = threading.Lock()

    def add(self, lidar: str, stamp_ns: int, detections: Detections) -> Detections:
        """Record ``lidar``'s answer at ``stamp_ns`` (base frame) and return the merge."""
        with self._lock:
            self._latest[lidar] = (stamp_ns, detections)
            recent = [d for stamp, d in self._latest.values()
                      if abs(stamp - stamp_ns) <= self.window_ns]
        return merge_detections(recent, self.iou_threshold, self.max_detections,
                                self.class_agnostic)


def merge_detections(parts: list[Detections], iou_threshold: float, max_detections: int,
                     class_agnostic: bool = False) -> Detections:
    """Concatenate detections (one frame) and keep the best of overlapping boxes, by score."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return Detections.empty()
    boxes = np.concatenate([p.boxes for p in parts]).astype(np.float32)
    scores = np.concatenate([p.scores for p in parts]).astype(np.float32)
    labels = np.concatenate([p.labels for p in parts]).astype(np.int64)
    keep = multiclass_nms(boxes, scores, labels, iou_threshold, max_detections,
                          class_agnostic=class_agnostic)
    return Detections(boxes[keep], scores[keep], labels[keep])
