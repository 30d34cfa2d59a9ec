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

"""Box encoding/decoding round trip and the direction classifier."""

import numpy as np
import pytest

from tao_pointpillars_py.core.box_coder import (apply_direction, decode_boxes, direction_targets,
                                                encode_boxes)
from tao_pointpillars_py.core.boxes import limit_period
from tao_pointpillars_py.core.config import ModelConfig


def random_boxes(seed, n):
    rng = np.random.default_rng(seed)
    return np.c_[rng.uniform(0, 40, n), rng.uniform(-20, 20, n), rng.uniform(-1.5, 1, n),
                 rng.uniform(0.4, 9, (n, 3)), rng.uniform(-np.pi, np.pi, n)].astype(np.float32)


@pytest.mark.parametrize("seed", [0, 1])
def test_encode_decode_round_trip(seed):
    boxes, anchors = random_boxes(seed, 200), random_boxes(seed + 100, 200)
    decoded = decode_boxes(encode_boxes(boxes, anchors), anchors)
    np.testing.assert_allclose(decoded, boxes, rtol=1e-5, atol=1e-4)


def test_box_equal_to_anchor_encodes_to_zero():
    anchors = random_boxes(3, 10)
    np.testing.assert_allclose(encode_boxes(anchors, anchors), 0.0, atol=1e-6)


def test_encoding_is_normalised_by_anchor_diagonal_and_height():
    anchor = np.array([[10, 0, -0.2, 3.0, 4.0, 2.0, 0.0]], np.float32)
    box = np.array([[15, -5, 0.8, 6.0, 4.0, 1.0, 0.5]], np.float32)
    np.testing.assert_allclose(encode_boxes(box, anchor),
                               [[1.0, -1.0, 0.5, np.log(2), 0.0, np.log(0.5), 0.5]], atol=1e-6)


@pytest.mark.parametrize("yaw", np.linspace(-np.pi + 0.01, np.pi - 0.01, 37))
def test_direction_recovers_yaw_from_half_turn_ambiguous_regression(yaw):
    config = ModelConfig()
    label = direction_targets(np.array([yaw]), config)
    for ambiguous in (yaw, yaw + np.pi, yaw - np.pi, yaw + 2 * np.pi):
        recovered = apply_direction(np.array([ambiguous], np.float32), label, config)
        err = limit_period(recovered - yaw, 0.5, 2 * np.pi)
        np.testing.assert_allclose(err, 0.0, atol=1e-5)
