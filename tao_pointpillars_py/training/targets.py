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
Anchor target assignment (numpy, runs in the data loading worker).

Per class, that class's anchors are matched against that class's ground truth with the
axis-aligned ``nearest_bev_iou`` (OpenPCDet ``AxisAlignedTargetAssigner``): an anchor is
positive when its IoU >= ``matched_threshold`` or it is the best anchor of a box (forced match,
IoU > 0), negative when its IoU < ``unmatched_threshold``, ignored in between.  Ground truth that
is not used for training (centre outside the range, fewer than ``min_points`` lidar points)
makes the anchors it would match ignored rather than negative.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.anchors import anchor_class_indices, generate_anchors
from ..core.box_coder import direction_targets, encode_boxes
from ..core.boxes import nearest_bev_iou
from ..core.config import ModelConfig

IGNORE = -1
BACKGROUND = 0
MIN_POINTS = 5


@dataclass(frozen=True)
class AnchorTargets:
    """
    Training targets of one frame, K = ny_f * nx_f * A anchors in head output order.

    Attributes
    ----------
    labels
        (K,) int64; -1 ignored, 0 background, c + 1 for class index c (the loss
        one-hot encodes it).
    box_targets
        (K, 7) float32 encoded residuals (zeros where not positive).
    dir_targets
        (K,) int64 direction bin (zeros where not positive).

    """

    labels: np.ndarray
    box_targets: np.ndarray
    dir_targets: np.ndarray

    @property
    def num_positive(self) -> int:
        return int(np.count_nonzero(self.labels > 0))


def training_box_mask(cfg: ModelConfig, boxes: np.ndarray, num_points: np.ndarray,
                      min_points: int = MIN_POINTS) -> np.ndarray:
    """
    (M,) bool: boxes taught as objects (centre x, y inside the range; enough points).

    ``num_points < 0`` means unknown and counts as enough.
    """
    r = cfg.pillars.point_cloud_range
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 7)
    num_points = np.asarray(num_points).reshape(-1)
    inside = ((boxes[:, 0] >= r[0]) & (boxes[:, 0] < r[3])
              & (boxes[:, 1] >= r[1]) & (boxes[:, 1] < r[4]))
    dense = (num_points >= min_points) | (num_points < 0)
    return inside & dense & np.all(boxes[:, 3:6] > 0, axis=1)


class TargetAssigner:
    """Precomputed anchors of one config; :meth:`assign` builds :class:`AnchorTargets`."""

    def __init__(self, cfg: ModelConfig) -> None:
        self.cfg = cfg
        self.anchors = np.ascontiguousarray(generate_anchors(cfg).reshape(-1, 7),
                                            dtype=np.float32)
        per_location = np.asarray(anchor_class_indices(cfg), dtype=np.int64)
        locations = self.anchors.shape[0] // per_location.shape[0]
        anchor_class = np.tile(per_location, locations)
        self.class_anchor_index = [np.flatnonzero(anchor_class == c)
                                   for c in range(cfg.num_classes)]

    @property
    def num_anchors(self) -> int:
        return int(self.anchors.shape[0])

    def assign(self, boxes: np.ndarray, labels: np.ndarray,
               use_mask: np.ndarray) -> AnchorTargets:
        """
        Targets for ground truth boxes (M, 7), class indices (M,) and a training mask (M,).

        Boxes with ``use_mask`` False (see :func:`training_box_mask`) only create ignores;
        labels outside ``[0, num_classes)`` are dropped.
        """
        boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 7)
        labels = np.asarray(labels, dtype=np.int64).reshape(-1)
        use_mask = np.asarray(use_mask, dtype=bool).reshape(-1)
        k = self.num_anchors
        out_labels = np.zeros(k, dtype=np.int64)
        gt_index = np.full(k, -1, dtype=np.int64)
        for c, anchor_index in enumerate(self.class_anchor_index):
            spec = self.cfg.anchors[c]
            of_class = labels == c
            used = np.flatnonzero(of_class & use_mask)
            ignored = np.flatnonzero(of_class & ~use_mask)
            if used.size == 0 and ignored.size == 0:
                continue
            anchors_c = self.anchors[anchor_index]
            lab = np.zeros(anchor_index.shape[0], dtype=np.int64)
            gid = np.full(anchor_index.shape[0], -1, dtype=np.int64)
            if ignored.size:
                iou_i = nearest_bev_iou(anchors_c, boxes[ignored])
                lab[iou_i.max(axis=1) >= spec.unmatched_threshold] = IGNORE
                lab[_best_anchors(iou_i)[0]] = IGNORE
            if used.size:
                iou = nearest_bev_iou(anchors_c, boxes[used])
                best = iou.max(axis=1)
                best_gt = iou.argmax(axis=1)
                lab[(best >= spec.unmatched_threshold) & (best < spec.matched_threshold)] = IGNORE
                pos = best >= spec.matched_threshold
                lab[pos] = c + 1
                gid[pos] = used[best_gt[pos]]
                forced_anchor, forced_gt = _best_anchors(iou)
                lab[forced_anchor] = c + 1
                gid[forced_anchor] = used[forced_gt]
            out_labels[anchor_index] = lab
            gt_index[anchor_index] = gid

        box_targets = np.zeros((k, 7), dtype=np.float32)
        dir_targets = np.zeros(k, dtype=np.int64)
        pos = np.flatnonzero(out_labels > 0)
        if pos.size:
            matched = boxes[gt_index[pos]]
            box_targets[pos] = encode_boxes(matched, self.anchors[pos])
            dir_targets[pos] = direction_targets(matched[:, 6], self.cfg)
        return AnchorTargets(out_labels, box_targets, dir_targets)


def _best_anchors(iou: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(anchor, box) index pairs where the anchor has a box's best IoU (> 0; ties kept)."""
    best = iou.max(axis=0)
    best = np.where(best > 0, best, -1.0)
    return np.nonzero(iou == best[None, :])
