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
The KITTI devkit's AP: its 41 sampled score thresholds, strict IoU and per-ground-truth matching.

``tao-pointpillars eval --sampling kitti``. Written from the published algorithm (the official
devkit's ``getThresholds``, as OpenPCDet's ``kitti_object_eval_python/eval.py`` implements it),
vectorized over frames and score thresholds. Per class, metric and difficulty:

1. In every frame each ground-truth box, in annotation order, takes the highest-scoring free
   detection with IoU *above* the threshold (ties: the first detection). The score is a true
   positive's when the box counts at the level; an ignored box takes its detection silently.
2. :func:`sample_thresholds` keeps, for each recall position k/40 (k = 0, 1, ...), the score of
   the not yet used true positive whose recall is nearest to it (possibly below it), and always
   the lowest-scoring true positive: at most 41 thresholds.
3. At each threshold, detections scoring below it are left out; each ground-truth box in
   annotation order takes the free detection with the highest IoU above the threshold. Counted
   boxes that take one are true positives, detections nobody took false positives.
4. Precision per threshold (0 where there are no detections; slots without a threshold are 0),
   made non-increasing by the best precision at any later threshold. AP R40 is the mean of slots
   1..40, AP R11 of slots 0, 4, ..., 40, in percent; ``nan`` without ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

NUM_SAMPLE_POINTS = 41
#: Frames matched at once: bounds the (frames, thresholds, detections) arrays.
_FRAMES_PER_CHUNK = 256

#: One frame's detections against its ground truth of one class: IoU (D, G) with detections in
#: file order, their scores (D,), and (G,) bool whether each box counts at the level.
KittiPart = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class _PaddedFrames:
    """Frames padded to the most detections (D) and ground-truth boxes (G) among them."""

    iou: np.ndarray         # (F, D, G), 0 where padded
    scores: np.ndarray      # (F, D), -inf where padded
    valid: np.ndarray       # (F, D) bool: a real detection
    status: np.ndarray      # (F, G) int8: 0 counts, 1 ignored, -1 padding


def _pad(parts: Sequence[KittiPart]) -> _PaddedFrames:
    num_det = max(len(scores) for _, scores, _ in parts)
    num_gt = max(len(counted) for _, _, counted in parts)
    iou = np.zeros((len(parts), num_det, num_gt))
    scores = np.full((len(parts), num_det), -np.inf)
    valid = np.zeros((len(parts), num_det), dtype=bool)
    status = np.full((len(parts), num_gt), -1, dtype=np.int8)
    for f, (frame_iou, frame_scores, counted) in enumerate(parts):
        d, g = frame_iou.shape
        iou[f, :d, :g] = frame_iou
        scores[f, :len(frame_scores)] = frame_scores
        valid[f, :len(frame_scores)] = True
        status[f, :len(counted)] = np.where(counted, 0, 1)
    return _PaddedFrames(iou, scores, valid, status)


def _true_positive_scores(frames: _PaddedFrames, threshold: float) -> np.ndarray:
    """Scores of the detections that counted boxes take, each taking the highest-scoring one."""
    rows = np.arange(len(frames.scores))
    assigned = np.zeros_like(frames.valid)
    found = []
    for g in range(frames.status.shape[1]):
        candidates = frames.valid & ~assigned & (frames.iou[:, :, g] > threshold)
        best = np.argmax(np.where(candidates, frames.scores, -np.inf), axis=1)
        takes = candidates[rows, best] & (frames.status[:, g] >= 0)
        assigned[rows[takes], best[takes]] = True
        counted = takes & (frames.status[:, g] == 0)
        found.append(frames.scores[rows[counted], best[counted]])
    return np.concatenate(found) if found else np.zeros(0)


def _counts_at(frames: _PaddedFrames, threshold: float,
               score_thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(K,) true and false positives at each score threshold, boxes taking the best IoU."""
    active = frames.valid[:, None, :] & (frames.scores[:, None, :]
                                         >= score_thresholds[None, :, None])
    assigned = np.zeros_like(active)
    true_pos = np.zeros(len(score_thresholds), dtype=np.int64)
    for g in range(frames.status.shape[1]):
        overlap = frames.iou[:, None, :, g]
        candidates = active & ~assigned & (overlap > threshold)
        best = np.argmax(np.where(candidates, overlap, -1.0), axis=2)
        takes = np.take_along_axis(candidates, best[..., None], axis=2)[..., 0]
        takes &= (frames.status[:, g] >= 0)[:, None]
        f, k = np.nonzero(takes)
        assigned[f, k, best[f, k]] = True
        true_pos += np.count_nonzero(takes & (frames.status[:, g] == 0)[:, None], axis=0)
    false_pos = np.count_nonzero(active & ~assigned, axis=(0, 2))
    return true_pos, false_pos


def sample_thresholds(true_positive_scores: np.ndarray, num_gt: int) -> np.ndarray:
    """
    Sample up to 41 score thresholds, descending, as the devkit's ``get_thresholds`` does.

    For target recall c_k = k/40 (accumulated in float as the devkit does) it takes the first
    true positive after the previous pick that is not farther from c_k than the next one; the
    lowest-scoring true positive always ends the list.
    """
    scores = np.sort(np.asarray(true_positive_scores, dtype=np.float64))[::-1]
    count = len(scores)
    if count == 0:
        return scores
    rows = min(count, NUM_SAMPLE_POINTS)
    steps = np.full(rows, 1.0 / (NUM_SAMPLE_POINTS - 1.0))
    steps[0] = 0.0
    target = np.add.accumulate(steps)[:, None]          # sequential sums, as the devkit's +=
    index = np.arange(count)
    left, right = (index + 1) / num_gt, (index + 2) / num_gt
    skip = (right - target) < (target - left)
    skip[:, -1] = False
    # skip is True then False along each row: the first False is the nearest true positive.
    nearest = np.argmin(skip, axis=1)
    k = np.arange(rows)
    picked = k + np.maximum.accumulate(nearest - k)      # at least one past the previous pick
    last = int(np.argmax(picked >= count - 1))
    return scores[picked[:last + 1]]


def kitti_average_precision(parts: Sequence[KittiPart], num_gt: int,
                            threshold: float) -> tuple[float, float]:
    """
    Give (AP R40, AP R11) in percent of one class, metric and level, the devkit's way.

    ``parts`` holds the frames with detections; ``num_gt`` counts the boxes that count.
    """
    if num_gt == 0:
        return float("nan"), float("nan")
    chunks = [_pad(parts[i:i + _FRAMES_PER_CHUNK])
              for i in range(0, len(parts), _FRAMES_PER_CHUNK)]
    found = [_true_positive_scores(chunk, threshold) for chunk in chunks]
    score_thresholds = sample_thresholds(np.concatenate(found) if found else np.zeros(0),
                                         num_gt)
    if len(score_thresholds) == 0:
        return 0.0, 0.0
    true_pos = np.zeros(len(score_thresholds), dtype=np.int64)
    false_pos = np.zeros(len(score_thresholds), dtype=np.int64)
    for chunk in chunks:
        tp, fp = _counts_at(chunk, threshold, score_thresholds)
        true_pos += tp
        false_pos += fp
    precision = np.zeros(NUM_SAMPLE_POINTS)
    detected = true_pos + false_pos
    precision[:len(detected)] = true_pos / np.maximum(detected, 1)
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    # Summed one by one from 0, as the devkit's get_mAP_R40 / get_mAP do.
    r40 = sum(precision[1:].tolist()) / (NUM_SAMPLE_POINTS - 1) * 100
    r11 = sum(precision[::4].tolist()) / 11 * 100
    return float(r40), float(r11)
