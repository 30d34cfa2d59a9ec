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

"""Tests of tao_pointpillars_py.core.markers: box corners and edges, colours, yaw quaternions."""

import numpy as np
import pytest

from tao_pointpillars_py.core.boxes import bev_corners
from tao_pointpillars_py.core.markers import (box_corners_3d, box_edge_points, CLASS_COLOURS,
                                              class_colours, quaternion_yaw, yaw_quaternion)


def test_corners_of_an_axis_aligned_box_are_hand_computed():
    corners = box_corners_3d(np.array([[1.0, 2.0, 0.5, 4.0, 2.0, 1.0, 0.0]]))[0]
    np.testing.assert_allclose(corners[:4], [[3, 3, 0], [-1, 3, 0], [-1, 1, 0], [3, 1, 0]])
    np.testing.assert_allclose(corners[4:, :2], corners[:4, :2])
    np.testing.assert_allclose(corners[4:, 2], 1.0)


def test_a_quarter_turn_swaps_length_and_width():
    corners = box_corners_3d(np.array([[0.0, 0.0, 0.0, 4.0, 2.0, 2.0, np.pi / 2]]))[0]
    np.testing.assert_allclose(np.abs(corners[:4, :2]).max(axis=0), [1.0, 2.0], atol=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_bottom_corners_agree_with_the_bev_corners_of_geometry(seed):
    rng = np.random.default_rng(seed)
    boxes = np.column_stack([rng.uniform(-20, 20, (10, 3)), rng.uniform(0.5, 5, (10, 3)),
                             rng.uniform(-np.pi, np.pi, 10)]).astype(np.float32)
    ours = box_corners_3d(boxes)[:, :4, :2]
    theirs = bev_corners(boxes)
    for a, b in zip(ours, theirs):  # same polygon, possibly another starting corner / order
        assert {tuple(np.round(p, 4)) for p in a} == {tuple(np.round(p, 4)) for p in b}


def test_edges_are_the_twelve_box_edges():
    box = np.array([[0.0, 0.0, 0.0, 4.0, 2.0, 1.0, 0.3]])
    edges = box_edge_points(box)
    assert edges.shape == (1, 24, 3)
    lengths = np.sort(np.linalg.norm(edges[0, 0::2] - edges[0, 1::2], axis=1))
    np.testing.assert_allclose(lengths, [1.0] * 4 + [2.0] * 4 + [4.0] * 4)


def test_known_classes_have_fixed_colours_and_others_distinct_ones():
    colours = class_colours(["Cyclist", "Truck", "Vehicle", "Bus"])
    assert colours[0] == CLASS_COLOURS["Cyclist"] and colours[2] == CLASS_COLOURS["Vehicle"]
    assert colours[1] != colours[3]
    assert len(set(class_colours(["Vehicle", "Pedestrian", "Cyclist"]))) == 3


@pytest.mark.parametrize("yaw", [0.0, 0.5, -1.2, np.pi - 1e-3, -np.pi + 1e-3, 3.0])
def test_yaw_round_trips_through_the_quaternion(yaw):
    q = yaw_quaternion(np.array([yaw]))[0]
    assert np.linalg.norm(q) == pytest.approx(1.0)
    assert q[0] == 0.0 and q[1] == 0.0
    assert quaternion_yaw(*q) == pytest.approx(yaw, abs=1e-9)
