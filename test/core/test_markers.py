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

"""Tests of tao_pointpillars_py.core.markers: box edges and class colours."""

import numpy as np

from tao_pointpillars_py.core.markers import box_edge_points, CLASS_COLOURS, class_colours


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
