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

import math

import numpy as np
import pytest

from tao_pointpillars_py.core.input_health import (cloud_health, CloudHealth, in_range_mask,
                                                   input_figures, input_problems,
                                                   InputReference, intensity_percentiles,
                                                   MAX_INTENSITY_RATIO, MIN_IN_RANGE_SHARE,
                                                   pooled_intensity_percentiles,
                                                   training_intensity_from_metadata,
                                                   training_intensity_metadata, window_health)

RANGE = (0.0, -10.0, -3.0, 20.0, 10.0, 3.0)
#: driver units 0..255 onto the model's 0..1; trained on a median of 0.117 (29.8 in driver units)
TRAINED = InputReference(RANGE, (0.0, 1.0), (0.0, 255.0), (0.117, 0.6))


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


def _cloud(inside, outside, intensity, seed=0):
    """Give (inside + outside, 4) points: ``inside`` in RANGE, ``outside`` behind it."""
    rng = np.random.default_rng(seed)
    points = np.zeros((inside + outside, 4), np.float32)
    points[:inside, 0] = rng.uniform(0.5, 19.5, inside)
    points[inside:, 0] = rng.uniform(-30.0, -0.5, outside)
    points[:, 3] = intensity(rng, inside + outside)
    return points


def test_cloud_health_is_the_in_range_share_and_in_range_intensity_percentiles():
    points = _cloud(3000, 1000, lambda rng, n: np.arange(n) % 101)
    points[3000:, 3] = 1000.0  # out of range: not in the percentiles
    health = cloud_health(points, RANGE, returns=5000, slots=6000)
    assert (health.returns, health.slots) == (5000, 6000)
    assert health.in_range_share == 0.75
    assert health.intensity == pytest.approx((50.0, 99.0), abs=1.0)
    assert cloud_health(points, RANGE).returns == 4000  # default: the points given


def test_a_big_cloud_is_sampled_every_kth_point_within_a_percent():
    points = _cloud(40_000, 11_200, lambda rng, n: rng.gamma(1.5, 8.0, n), seed=1)
    points = points[np.random.default_rng(2).permutation(len(points))]
    health = cloud_health(points, RANGE)
    full = in_range_mask(points, RANGE)
    assert health.in_range_share == pytest.approx(full.mean(), abs=0.01)
    full_p50, full_p99 = np.percentile(points[full, 3], [50, 99])
    assert health.intensity[0] == pytest.approx(full_p50, rel=0.05)
    assert health.intensity[1] == pytest.approx(full_p99, rel=0.1)
    assert cloud_health(points, RANGE, sample_points=len(points)).in_range_share == full.mean()


def test_an_empty_cloud_has_no_share_and_no_intensity():
    health = cloud_health(np.zeros((0, 4), np.float32), RANGE, returns=0, slots=51_200)
    assert math.isnan(health.in_range_share) and health.intensity is None
    far = cloud_health(_cloud(0, 10, lambda rng, n: np.ones(n)), RANGE)
    assert far.in_range_share == 0.0 and far.intensity is None


def test_the_window_weighs_clouds_by_returns_and_takes_median_percentiles():
    clouds = [CloudHealth(1000, 2000, 1.0, (2.0, 40.0)), CloudHealth(3000, 2000, 0.5, (4.0, 50.0)),
              CloudHealth(0, 2000, math.nan, None), CloudHealth(2000, 2000, 0.25, (10.0, 90.0))]
    window = window_health(clouds)
    assert window.clouds == 4 and window.slots == 2000 and window.returns == 1500
    assert window.in_range_share == pytest.approx((1000 + 1500 + 500) / 6000)
    assert window.intensity == (4.0, 50.0)
    assert window_health([]) is None
    nothing = window_health([CloudHealth(0, 10, math.nan, None)])
    assert math.isnan(nothing.in_range_share) and nothing.intensity is None
    assert input_problems(nothing, TRAINED) == []


def test_intensity_maps_into_model_units_and_back_through_intensity_range():
    reference = InputReference(RANGE, (0.0, 1.0), (0.0, 1023.0), (0.1, 0.5))
    assert reference.to_model_units(102.3) == pytest.approx(0.1)
    assert reference.to_model_units(5000.0) == 1.0 and reference.to_model_units(-3.0) == 0.0
    assert reference.to_cloud_units(0.1) == pytest.approx(102.3)
    assert reference.training_intensity_in_cloud_units == pytest.approx((102.3, 511.5))
    assert InputReference(RANGE, (0.0, 1.0), (0.0, 255.0)).training_intensity_in_cloud_units \
        is None


def _window(share, p50, p99=None):
    return window_health([CloudHealth(1000, 1000, share, (p50, p99 or 10 * p50))])


@pytest.mark.parametrize("cloud_to_model, said", [
    ("", "with no cloud_to_model"), ("0 0 0.6 0 0 90", "with cloud_to_model '0 0 0.6 0 0 90'")])
def test_few_points_in_range_warn_naming_cloud_to_model_and_the_range(cloud_to_model, said):
    reference = InputReference(RANGE, (0.0, 1.0), (0.0, 255.0), None, cloud_to_model)
    problems = input_problems(_window(0.54, 30.0), reference)
    assert len(problems) == 1
    assert problems[0].startswith("only 54% of the points lie inside the model's range "
                                  "(x 0..20, y -10..10, z -3..3 m) " + said)
    assert 'set cloud_to_model to' in problems[0] and '"0 0 0 0 0 -90"' in problems[0]
    assert input_problems(_window(MIN_IN_RANGE_SHARE, 30.0), reference) == []


def test_without_training_figures_the_intensity_is_reported_but_never_warned_about():
    untrained = InputReference(RANGE, (0.0, 1.0), (0.0, 255.0))
    window = _window(0.98, 2.0, 42.0)
    assert input_problems(window, untrained) == []
    figures = dict(input_figures(window, untrained))
    assert figures["intensity p50 / p99"] == "2 / 42"
    assert figures["intensity p50 / p99 [model units]"] == "0.00784 / 0.165"
    assert figures["training intensity p50 / p99"] == "not recorded in the model"
    assert figures["training intensity p50 / p99 [model units]"] == "not recorded in the model"
    assert figures["points in model range [%]"] == "98.0"
    assert figures["returns per cloud"] == "1000 of 1000 slots"


def test_a_dark_cloud_warns_with_the_intensity_range_that_lines_the_medians_up():
    problems = input_problems(_window(0.98, 2.0, 42.0), TRAINED)
    assert problems == [
        "the clouds' median intensity 2 (0.00784 in the model's units) is 14.9x darker than "
        "the model's training data's 29.8 (0.117) through intensity_range [0, 255]; set "
        "intensity_range to [0, 17.1] to line the medians up"]
    # with the suggested range the same cloud is in line
    fixed = InputReference(RANGE, (0.0, 1.0), (0.0, 17.1), (0.117, 0.6))
    assert input_problems(_window(0.98, 2.0, 42.0), fixed) == []
    figures = dict(input_figures(_window(0.98, 2.0, 42.0), TRAINED))
    assert figures["training intensity p50 / p99"] == "29.8 / 153"


@pytest.mark.parametrize("p50, warned", [
    (29.8 * MAX_INTENSITY_RATIO * 1.05, "brighter"), (29.8 * MAX_INTENSITY_RATIO * 0.95, None),
    (29.8 / MAX_INTENSITY_RATIO * 1.05, None), (29.8 / MAX_INTENSITY_RATIO * 0.95, "darker")])
def test_the_median_may_be_off_by_up_to_four_times_either_way(p50, warned):
    problems = input_problems(_window(0.98, p50, 200.0), TRAINED)
    if warned is None:
        assert problems == []
    else:
        assert len(problems) == 1 and f"x {warned} than" in problems[0]
        assert "set intensity_range to [0, " in problems[0]


def test_a_median_of_zero_is_lined_up_by_the_p99s_or_named_without_a_value():
    problems = input_problems(_window(0.98, 0.0, 30.0), TRAINED)
    assert "far darker" in problems[0]
    assert problems[0].endswith("set intensity_range to [0, 50] to line the p99s up")
    dark = input_problems(_window(0.98, 0.0, 0.0), TRAINED)
    assert dark[0].endswith("set intensity_range to the range of the driver's intensity values")
