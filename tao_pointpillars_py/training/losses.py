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
PointPillars losses (OpenPCDet ``AnchorHeadTemplate`` semantics), always in float32.

Classification: sigmoid focal loss (alpha 0.25, gamma 2) over positives and negatives.
Box: smooth-L1 (beta 1/9) on residuals, yaw compared as ``sin(a - b)``.  Direction:
cross-entropy on positives.  Each is normalised per sample by its number of positives
(at least 1) and averaged over the batch.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

CLS_WEIGHT = 1.0
BOX_WEIGHT = 2.0
DIR_WEIGHT = 0.2
FOCAL_ALPHA = 0.25
FOCAL_GAMMA = 2.0
SMOOTH_L1_BETA = 1.0 / 9.0


class LossParts(NamedTuple):
    """Weighted loss terms (scalar tensors); ``total`` is their sum."""

    total: torch.Tensor
    cls: torch.Tensor
    box: torch.Tensor
    dir: torch.Tensor  # noqa: A003 (public field name, a builtin only as a class attribute)


def sigmoid_focal_loss(logits: torch.Tensor, targets: torch.Tensor,
                       alpha: float = FOCAL_ALPHA, gamma: float = FOCAL_GAMMA) -> torch.Tensor:
    """Elementwise focal loss of logits and 0/1 targets of the same shape."""
    prob = torch.sigmoid(logits)
    alpha_weight = targets * alpha + (1.0 - targets) * (1.0 - alpha)
    pt = targets * (1.0 - prob) + (1.0 - targets) * prob
    bce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    return alpha_weight * pt.pow(gamma) * bce


def smooth_l1(diff: torch.Tensor, beta: float = SMOOTH_L1_BETA) -> torch.Tensor:
    """Elementwise smooth-L1 of a difference."""
    n = diff.abs()
    return torch.where(n < beta, 0.5 * n * n / beta, n - 0.5 * beta)


def sin_difference(preds: torch.Tensor,
                   targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Replace the yaw channel (6) so that pred - target = sin(pred_yaw - target_yaw)."""
    p6, t6 = preds[..., 6:7], targets[..., 6:7]
    p_enc = torch.sin(p6) * torch.cos(t6)
    t_enc = torch.cos(p6) * torch.sin(t6)
    return (torch.cat([preds[..., :6], p_enc], dim=-1),
            torch.cat([targets[..., :6], t_enc], dim=-1))


def pointpillars_loss(cls_preds: torch.Tensor, box_preds: torch.Tensor,
                      dir_preds: torch.Tensor, labels: torch.Tensor, box_targets: torch.Tensor,
                      dir_targets: torch.Tensor) -> LossParts:
    """
    Loss of head outputs (B, K, C), (B, K, 7), (B, K, D) against targets.

    ``labels`` (B, K) int64: -1 ignore, 0 background, c + 1 class c; ``box_targets`` (B, K, 7);
    ``dir_targets`` (B, K) int64 direction bins.
    """
    cls_preds, box_preds, dir_preds = cls_preds.float(), box_preds.float(), dir_preds.float()
    batch = cls_preds.shape[0]
    num_classes = cls_preds.shape[-1]
    positives = labels > 0
    cared = labels >= 0
    pos_f = positives.float()
    normaliser = pos_f.sum(dim=1, keepdim=True).clamp(min=1.0)

    cls_weights = cared.float() / normaliser
    one_hot = F.one_hot(labels.clamp(min=0), num_classes + 1)[..., 1:].float()
    cls_loss = (sigmoid_focal_loss(cls_preds, one_hot).sum(-1) * cls_weights).sum() / batch

    reg_weights = pos_f / normaliser
    p_enc, t_enc = sin_difference(box_preds, box_targets)
    box_loss = (smooth_l1(p_enc - t_enc).sum(-1) * reg_weights).sum() / batch

    ce = F.cross_entropy(dir_preds.reshape(-1, dir_preds.shape[-1]), dir_targets.reshape(-1),
                         reduction="none").reshape(labels.shape)
    dir_loss = (ce * reg_weights).sum() / batch

    cls_loss, box_loss, dir_loss = (CLS_WEIGHT * cls_loss, BOX_WEIGHT * box_loss,
                                    DIR_WEIGHT * dir_loss)
    return LossParts(cls_loss + box_loss + dir_loss, cls_loss, box_loss, dir_loss)
