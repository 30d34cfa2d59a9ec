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

"""Anchor grid layout."""

import numpy as np

from tao_pointpillars_py.core.anchors import anchor_class_indices, generate_anchors
from tao_pointpillars_py.core.config import ModelConfig, PillarConfig


def test_anchor_grid_shape_order_and_centres():
    config = ModelConfig(pillars=PillarConfig(point_cloud_range=(0, -4, -3, 8, 4, 3),
                                              voxel_size=(0.5, 0.5, 6)))
    anchors = generate_anchors(config)
    nx_f, ny_f = config.feature_map_size
    assert anchors.shape == (ny_f, nx_f, 6, 7) == (8, 8, 6, 7)
    np.testing.assert_allclose(anchors[0, 0, 0, :2], [0.5, -3.5])
    np.testing.assert_allclose(anchors[2, 3, 0, :2], [3.5, -1.5])
    vehicle, pedestrian = config.anchors[0], config.anchors[1]
    np.testing.assert_allclose(anchors[0, 0, 0, 3:6], vehicle.size)
    np.testing.assert_allclose(anchors[0, 0, 1, 6], np.pi / 2, rtol=1e-6)
    np.testing.assert_allclose(anchors[0, 0, 2, 3:6], pedestrian.size)
    np.testing.assert_allclose(anchors[0, 0, 2, 2], pedestrian.bottom_height
                               + pedestrian.size[2] / 2, rtol=1e-6)
    np.testing.assert_array_equal(anchor_class_indices(config), [0, 0, 1, 1, 2, 2])
