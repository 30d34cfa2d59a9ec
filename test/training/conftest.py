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

"""Tiny configs and frames shared by the training tests (no torch import here)."""

import numpy as np
import pytest

from tao_pointpillars_py.core.config import ModelConfig, PillarConfig


def make_tiny_config(max_pillars: int = 256) -> ModelConfig:
    """32 x 32 canvas (10.24 m x 10.24 m at 0.32 m), 16 x 16 head, 8 points per pillar."""
    return ModelConfig(pillars=PillarConfig((0.0, -5.12, -3.0, 10.24, 5.12, 3.0),
                                            (0.32, 0.32, 6.0), 8, max_pillars))


def make_tiny_frame(seed: int = 0):
    """Make a car and a pedestrian of dense point blobs over sparse clutter (CachedFrame)."""
    from tao_pointpillars_py.training.data import CachedFrame  # imports torch

    rng = np.random.default_rng(seed)
    boxes = np.array([[5.0, 0.5, -1.15, 4.6, 1.9, 1.7, 0.3],
                      [2.5, -3.0, -1.13, 0.8, 0.6, 1.73, 1.2]], np.float32)
    parts = [rng.uniform([0, -5, -3, 0], [10, 5, 1, 1], (300, 4))]
    for box in boxes:
        local = rng.uniform(-0.45, 0.45, (200, 3)) * box[3:6]
        c, s = np.cos(box[6]), np.sin(box[6])
        xy = local[:, :2] @ np.array([[c, s], [-s, c]]) + box[:2]
        parts.append(np.column_stack([xy, local[:, 2] + box[2], rng.uniform(0, 1, 200)]))
    points = np.concatenate(parts).astype(np.float32)
    return CachedFrame(points, boxes, np.array([0, 1], np.int64), np.array([200, 200], np.int32))


@pytest.fixture
def tiny_cfg() -> ModelConfig:
    return make_tiny_config()


@pytest.fixture
def tiny_frame():
    return make_tiny_frame()


@pytest.fixture
def tiny_frame_maker():
    """:func:`make_tiny_frame` itself, for tests that need several different frames."""
    return make_tiny_frame


def make_trained_like_net(cfg: ModelConfig, scale: bool = False):
    """
    Make a PointPillarsNet (eval mode) with BatchNorms far from identity, as after training.

    ``scale`` also draws the BatchNorm scales (else they stay 1).
    """
    import torch  # the training tests import torch; this module does not at collection

    from tao_pointpillars_py.training.network import PointPillarsNet

    torch.manual_seed(0)
    net = PointPillarsNet(cfg)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                if scale:
                    module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
    return net.eval()


@pytest.fixture
def trained_like_net():
    """:func:`make_trained_like_net` itself."""
    return make_trained_like_net
