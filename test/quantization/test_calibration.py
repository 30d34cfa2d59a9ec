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

"""Tests of quantization.calibration: frame spreading, inference-identical inputs."""

import numpy as np
from onnx_fixtures import fired_anchor_model
import pytest

from tao_pointpillars_py.data.bags import write_cloud_bag
from tao_pointpillars_py.errors import CloudFormatError, ConfigError
from tao_pointpillars_py.inference.detector import Detector
from tao_pointpillars_py.quantization.calibration import calibration_inputs, spread_indices


@pytest.mark.parametrize("total,count,expected", [
    (10, 3, [0, 4, 9]), (10, 10, list(range(10))), (3, 8, [0, 1, 2]), (100, 1, [0]),
    (7, 2, [0, 6])])
def test_spread_indices_cover_the_whole_recording(total, count, expected):
    assert spread_indices(total, count).tolist() == expected


def test_spread_indices_are_distinct_and_in_range():
    indices = spread_indices(1000, 97)
    assert len(set(indices.tolist())) == 97 and indices.min() == 0 and indices.max() == 999


def test_spread_indices_refuse_zero_frames():
    with pytest.raises(ConfigError):
        spread_indices(10, 0)


def _frames(seed, count, start):
    rng = np.random.default_rng(seed)
    return [(start + i * 100_000_000,
             np.c_[rng.uniform(1, 7, (40, 1)), rng.uniform(-3, 3, (40, 1)),
                   rng.uniform(-1, 1, (40, 1)), rng.uniform(0, 255, (40, 1))].astype(np.float32))
            for i in range(count)]


def test_calibration_inputs_equal_inference_preprocessing_over_several_bags(tmp_path):
    model = tmp_path / "m.onnx"
    fired_anchor_model(model, pillar_axis="pillars")
    detector = Detector.from_model(str(model), intensity_range=(0.0, 200.0))
    first, second = _frames(1, 6, 10**18), _frames(2, 4, 2 * 10**18)
    write_cloud_bag(tmp_path / "a", first)
    write_cloud_bag(tmp_path / "b", second, storage="mcap")
    seen = []
    inputs = calibration_inputs([tmp_path / "a", tmp_path / "b"], None, 4, detector,
                                progress=seen.append)
    everything = [points for _, points in first + second]
    chosen = [everything[i] for i in spread_indices(10, 4)]   # frames 0, 3, 6, 9
    assert len(inputs) == 4 and seen == [1, 1, 1, 1]
    for feeds, points in zip(inputs, chosen):
        expected = detector.model_inputs(points)
        assert set(feeds) == set(expected)
        for name in expected:
            np.testing.assert_array_equal(feeds[name], expected[name])


def test_calibration_without_clouds_says_so(tmp_path):
    model = tmp_path / "m.onnx"
    fired_anchor_model(model)
    write_cloud_bag(tmp_path / "a", _frames(1, 2, 10**18))
    with pytest.raises(CloudFormatError, match=r"no PointCloud2 topic\(s\) \['/other'\]"):
        calibration_inputs([tmp_path / "a"], "/other", 4, Detector.from_model(str(model)))
