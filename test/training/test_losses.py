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

"""Tests of tao_pointpillars_py.training.losses."""

import math

import pytest

torch = pytest.importorskip("torch")

from tao_pointpillars_py.training.losses import (pointpillars_loss,  # noqa: E402
                                                 sigmoid_focal_loss, sin_difference)


def _case(k=8, c=3):
    g = torch.Generator().manual_seed(0)
    cls = torch.randn(1, k, c, generator=g)
    box = torch.randn(1, k, 7, generator=g)
    dirs = torch.randn(1, k, 2, generator=g)
    labels = torch.tensor([[1, 0, 0, -1, 2, 0, 0, 0]])
    box_t = torch.randn(1, k, 7, generator=g)
    dir_t = torch.randint(0, 2, (1, k), generator=g)
    return cls, box, dirs, labels, box_t, dir_t


def test_loss_parts_are_finite_and_sum_to_total():
    parts = pointpillars_loss(*_case())
    assert all(torch.isfinite(p) for p in parts)
    torch.testing.assert_close(parts.total, parts.cls + parts.box + parts.dir)
    assert parts.cls > 0 and parts.box > 0 and parts.dir > 0


def test_ignored_anchors_do_not_contribute():
    cls, box, dirs, labels, box_t, dir_t = _case()
    ref = pointpillars_loss(cls, box, dirs, labels, box_t, dir_t)
    cls2, box2, dirs2 = cls.clone(), box.clone(), dirs.clone()
    cls2[0, 3] += 50.0
    box2[0, 3] += 50.0
    dirs2[0, 3] += 50.0
    out = pointpillars_loss(cls2, box2, dirs2, labels, box_t, dir_t)
    torch.testing.assert_close(out.total, ref.total)


def test_box_and_dir_losses_only_count_positives():
    cls, box, dirs, labels, box_t, dir_t = _case()
    box2 = box.clone()
    box2[0, 1] += 50.0  # a negative anchor
    out = pointpillars_loss(cls, box2, dirs, labels, box_t, dir_t)
    ref = pointpillars_loss(cls, box, dirs, labels, box_t, dir_t)
    torch.testing.assert_close(out.box, ref.box)


@pytest.mark.parametrize("offset", [0.0, math.pi, -math.pi])
def test_yaw_off_by_half_turn_costs_no_box_loss(offset):
    box_t = torch.zeros(1, 2, 7)
    box_t[..., 6] = 0.4
    box = box_t.clone()
    box[..., 6] += offset
    p, t = sin_difference(box, box_t)
    assert (p - t).abs().max() < 1e-6


def test_focal_loss_is_small_for_confident_correct_and_large_for_wrong():
    targets = torch.tensor([1.0, 0.0])
    good = sigmoid_focal_loss(torch.tensor([8.0, -8.0]), targets)
    bad = sigmoid_focal_loss(torch.tensor([-8.0, 8.0]), targets)
    assert good.max() < 1e-6 and bad.min() > 1.0


def test_losses_are_normalised_by_positive_count():
    cls, box, dirs, labels, box_t, dir_t = _case()
    one = pointpillars_loss(cls[:, :1], box[:, :1], dirs[:, :1], labels[:, :1], box_t[:, :1],
                            dir_t[:, :1])
    doubled = pointpillars_loss(cls[:, [0, 0]], box[:, [0, 0]], dirs[:, [0, 0]],
                                labels[:, [0, 0]], box_t[:, [0, 0]], dir_t[:, [0, 0]])
    torch.testing.assert_close(one.total, doubled.total)
