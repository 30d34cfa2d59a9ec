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

"""Head outputs -> scored, NMS-filtered detections (the post-processing of every backend)."""

from __future__ import annotations

import numpy as np

from .box_coder import apply_direction, decode_boxes
from .config import ModelConfig, PostProcessConfig
from .detections import Detections
from .nms import multiclass_nms


def _logit(p: float) -> float:
    p = min(max(p, 1e-7), 1.0 - 1e-7)
    return float(np.log(p / (1.0 - p)))


def _top_candidates(scores: np.ndarray, pre_nms_top_n: int) -> np.ndarray:
    """Return indices of the highest scores, best first; ties broken by index (deterministic)."""
    if scores.shape[0] > pre_nms_top_n:
        part = np.argpartition(-scores, pre_nms_top_n - 1)[:pre_nms_top_n]
    else:
        part = np.arange(scores.shape[0])
    order = np.lexsort((part, -scores[part]))
    return part[order]


def _finish(boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray,
            post: PostProcessConfig) -> Detections:
    keep = multiclass_nms(boxes, scores, labels, post.nms_iou_thresh, post.max_detections,
                          class_agnostic=post.class_agnostic_nms)
    return Detections(boxes[keep].astype(np.float32), scores[keep].astype(np.float32),
                      labels[keep].astype(np.int64))


def decode_predictions(cls_logits: np.ndarray, box_deltas: np.ndarray,
                       dir_logits: np.ndarray | None, anchors: np.ndarray,
                       config: ModelConfig, post: PostProcessConfig) -> Detections:
    """
    Decode detections from native head outputs for one frame.

    Parameters
    ----------
    cls_logits
        (K, C) class logits (sigmoid scores), K anchors in (iy, ix, a) order.
    box_deltas
        (K, 7) residuals against ``anchors``.
    dir_logits
        (K, num_dir_bins) direction logits, or None to keep the regressed yaw.
    anchors
        (K, 7) float32, ``generate_anchors(config).reshape(-1, 7)``.
    config
        the model's geometry.
    post
        thresholds and caps.

    """
    best_logit = cls_logits.max(axis=1)
    candidates = np.flatnonzero(best_logit > _logit(post.score_threshold))
    if candidates.shape[0] == 0:
        return Detections.empty()
    cand_logits = best_logit[candidates].astype(np.float64)
    scores = 1.0 / (1.0 + np.exp(-cand_logits))
    top = _top_candidates(scores, post.pre_nms_top_n)
    index = candidates[top]
    scores = scores[top].astype(np.float32)
    labels = cls_logits[index].argmax(axis=1).astype(np.int64)
    boxes = decode_boxes(box_deltas[index], anchors[index])
    if dir_logits is not None:
        boxes[:, 6] = apply_direction(boxes[:, 6], dir_logits[index].argmax(axis=1), config)
    return _finish(boxes, scores, labels, post)


def decode_tao_boxes(output_boxes: np.ndarray, num_boxes: int,
                     post: PostProcessConfig) -> Detections:
    """
    Decode detections from a TAO-exported model's ``output_boxes`` (K, 9) and ``num_boxes``.

    Rows are (x, y, z, dx, dy, dz, yaw, class_id, score); only the first ``num_boxes`` are
    valid and they come in no particular order (TAO's DecodeBbox3D runs no NMS).
    """
    rows = output_boxes[:max(0, min(int(num_boxes), output_boxes.shape[0]))]
    rows = rows[rows[:, 8] >= post.score_threshold]
    if rows.shape[0] == 0:
        return Detections.empty()
    top = _top_candidates(rows[:, 8].astype(np.float64), post.pre_nms_top_n)
    rows = rows[top]
    return _finish(rows[:, :7].astype(np.float32), rows[:, 8].astype(np.float32),
                   rows[:, 7].astype(np.int64), post)
