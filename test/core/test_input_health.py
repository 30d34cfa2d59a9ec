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

"""Tests of tao_pointpillars_py.core.input_health."""

import numpy as np
import pytest

from tao_pointpillars_py.core.input_health import (in_range_mask, intensity_percentiles,
                                                   pooled_intensity_percentiles,
                                                   training_intensity_from_metadata,
                                                   training_intensity_metadata)

RANGE = (0.0, -10.0, -3.0, 20.0, 10.0, 3.0)


def test_in_range_mask_is_half_open_on_every_axis():
    points = np.array([[0.0, 0.0, 0.0, 1.0],     # on the minimum: inside
                       [20.0, 0.0, 0.0, 1.0],    # on the x maximum: outside
                       [5.0, -10.0, -3.0, 1.0],  # on both minima: inside
                       [5.0, 9.99, 2.99, 1.0],
                       [-0.01, 0.0, 0.0, 1.0],
                       [5.0, 0.0, 3.0, 1.0]], np.float32)
    assert in_range_mask(points, RANGE).tolist() == [True, False, True, True, False, False]


def test_intensity_percentiles_are_p50_and_p99_and_none_for_nothing():
    values = np.arange(101, dtype=np.float32)
    assert intensity_percentiles(values) == pytest.approx((50.0, 99.0))
    assert intensity_percentiles(np.zeros(0, np.float32)) is None


def test_pooled_percentiles_use_in_range_points_only_and_sample_big_clouds():
    rng = np.random.default_rng(0)
    inside = np.column_stack([rng.uniform(1, 19, (50_000, 1)), np.zeros((50_000, 2)),
                              rng.uniform(0, 100, 50_000)]).astype(np.float32)
    outside = np.column_stack([np.full((5_000, 1), 30.0), np.zeros((5_000, 2)),
                               np.full(5_000, 1000.0)]).astype(np.float32)
    p50, p99 = pooled_intensity_percentiles([inside, outside, inside], RANGE, per_cloud=4096)
    assert p50 == pytest.approx(50.0, abs=2.0)
    assert p99 == pytest.approx(99.0, abs=1.0)
    assert pooled_intensity_percentiles([outside], RANGE) is None
    assert pooled_intensity_percentiles([], RANGE) is None


def test_training_intensity_round_trips_through_metadata_and_is_absent_when_unrecorded():
    metadata = training_intensity_metadata((0.0078, 0.176))
    assert metadata == {"training.intensity_p50": "0.0078", "training.intensity_p99": "0.176"}
    assert training_intensity_from_metadata(metadata) == (0.0078, 0.176)
    assert training_intensity_metadata(None) == {}
    assert training_intensity_from_metadata({}) is None
    assert training_intensity_from_metadata({"training.intensity_p50": "x",
                                             "training.intensity_p99": "1"}) is None
