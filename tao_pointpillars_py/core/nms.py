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
Greedy non-maximum suppression of rotated boxes by their bird's-eye-view IoU.

Greedy NMS keeps a box unless a higher-scoring kept box overlaps it with BEV IoU above the
threshold. It is computed in vectorized rounds instead of one box at a time: a box whose
higher-ranked neighbours (bounding circles overlapping) are all decided is kept, and its IoU with
its still-undecided lower-ranked neighbours is computed in one batch for all boxes kept in that
round. A cluster of ``n`` boxes on one object therefore costs about ``n`` IoUs rather than
``n * (n - 1) / 2``. Once a round settles fewer than two pairs per IoU it computes (few pairs
left, or long chains of decisions), the remaining pairs are settled in one batch and a sequential
pass over booleans. IoUs are compared with the threshold in float64.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from .boxes import overlapping_pairs, paired_bev_intersection

_UNDECIDED, _KEPT, _SUPPRESSED = 0, 1, 2
#: Vectorized rounds before the remaining pairs are settled in one batch.
_MAX_ROUNDS = 8
#: Below this many undecided pairs one batch is cheaper than another round.
_BATCH_PAIRS = 512


def rotated_nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float,
                max_output: Optional[int] = None) -> np.ndarray:
    """
    Keep boxes by greedy NMS; return their indices (K,) int64 by descending score.

    Parameters
    ----------
    boxes
        (N, 7) float boxes (x, y, z, dx, dy, dz, yaw).
    scores
        (N,) float; equal scores keep input order (the lower index ranks first).
    iou_threshold
        a box is suppressed when its BEV IoU with a kept box is above this.
    max_output
        keep at most this many boxes (None: no limit).

    """
    return _nms(boxes, scores, iou_threshold, max_output, labels=None)


def multiclass_nms(boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray,
                   iou_threshold: float, max_detections: int,
                   class_agnostic: bool = False) -> np.ndarray:
    """
    Keep boxes by greedy NMS per class; return indices (K <= max_detections,) int64.

    Class-aware by default: boxes of different ``labels`` (N,) never suppress each other. With
    ``class_agnostic`` every box competes with every other one, as in NVIDIA's C++ node.
    Indices come in descending score order.
    """
    labels = np.asarray(labels)
    if labels.shape != (len(np.asarray(scores)),):
        raise ValueError(f"labels must have shape ({len(scores)},), got {labels.shape}")
    return _nms(boxes, scores, iou_threshold, max_detections,
                labels=None if class_agnostic else labels)


def _nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float,
         max_output: Optional[int], labels: Optional[np.ndarray]) -> np.ndarray:
    boxes = np.asarray(boxes, dtype=np.float64)
    scores = np.asarray(scores)
    if boxes.ndim != 2 or boxes.shape[1] != 7:
        raise ValueError(f"boxes must have shape (N, 7), got {boxes.shape}")
    if scores.shape != (len(boxes),):
        raise ValueError(f"scores must have shape ({len(boxes)},), got {scores.shape}")
    if max_output is not None and max_output < 0:
        raise ValueError(f"max_output must be >= 0, got {max_output}")
    if not 0.0 <= iou_threshold <= 1.0:
        raise ValueError(f"iou_threshold must be in [0, 1], got {iou_threshold}")
    order = np.argsort(-scores, kind="stable")
    if max_output == 0 or len(order) == 0:
        return np.zeros(0, dtype=np.int64)
    ranked = boxes[order]
    first, second = overlapping_pairs(ranked)          # first < second: first outranks second
    if labels is not None:
        ranked_labels = np.asarray(labels)[order]
        same = ranked_labels[first] == ranked_labels[second]
        first, second = first[same], second[same]
    status = _decide(ranked, first, second, float(iou_threshold), max_output)
    kept = order[status == _KEPT]
    return kept[:max_output].astype(np.int64)


def _decide(ranked: np.ndarray, first: np.ndarray, second: np.ndarray, threshold: float,
            max_output: Optional[int]) -> np.ndarray:
    """Status (N,) of score-ranked boxes given candidate pairs ``first`` < ``second``."""
    n = len(ranked)
    status = np.full(n, _UNDECIDED, dtype=np.int8)
    area = ranked[:, 3] * ranked[:, 4]
    for _ in range(_MAX_ROUNDS):
        if len(first) <= _BATCH_PAIRS:
            break
        before = len(first)
        blocked = np.zeros(n, dtype=bool)
        blocked[second] = True                      # every pair here is undecided on both ends
        ready = (status == _UNDECIDED) & ~blocked
        status[ready] = _KEPT
        now = ready[first]
        computed = int(np.count_nonzero(now))
        _suppress(ranked, area, first[now], second[now], threshold, status)
        live = (status[first] == _UNDECIDED) & (status[second] == _UNDECIDED)
        first, second = first[live], second[live]
        undecided = status == _UNDECIDED
        if not undecided.any() or _enough_kept(status, undecided, max_output):
            return status
        if before - len(first) < 2 * computed:      # rounds stopped paying off
            break
    # Few pairs left (or a deep chain): settle them at once, then one cheap greedy pass.
    over = _over_threshold(ranked, area, first, second, threshold)
    first, second = first[over], second[over]
    starts = np.searchsorted(first, np.arange(n + 1))
    leaders = first[np.append(True, first[1:] != first[:-1])] if len(first) else first
    for i in leaders.tolist():
        if status[i] != _SUPPRESSED:
            status[second[starts[i]:starts[i + 1]]] = _SUPPRESSED
    status[status == _UNDECIDED] = _KEPT
    return status


def _enough_kept(status: np.ndarray, undecided: np.ndarray, max_output: Optional[int]) -> bool:
    """Whether the first ``max_output`` kept boxes all rank above every undecided box."""
    if max_output is None:
        return False
    first_open = int(np.argmax(undecided))
    return int(np.count_nonzero(status[:first_open] == _KEPT)) >= max_output


def _over_threshold(ranked: np.ndarray, area: np.ndarray, first: np.ndarray,
                    second: np.ndarray, threshold: float) -> np.ndarray:
    """Boolean (K,): BEV IoU of each pair above ``threshold``."""
    inter = paired_bev_intersection(ranked[first], ranked[second])
    union = area[first] + area[second] - inter
    return inter > threshold * union


def _suppress(ranked: np.ndarray, area: np.ndarray, keeper: np.ndarray, other: np.ndarray,
              threshold: float, status: np.ndarray) -> None:
    """Mark ``other`` boxes suppressed where their IoU with ``keeper`` exceeds the threshold."""
    if len(keeper):
        status[other[_over_threshold(ranked, area, keeper, other, threshold)]] = _SUPPRESSED
