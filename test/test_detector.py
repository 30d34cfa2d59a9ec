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

"""The ROS-free pipeline end to end: cloud -> pillars -> ONNX Runtime -> decode -> NMS."""

import dataclasses

import numpy as np
from onnx_fixtures import fired_anchor_model, TINY_CONFIG
import pytest

from tao_pointpillars_py.core.config import PostProcessConfig
from tao_pointpillars_py.errors import ConfigError
from tao_pointpillars_py.inference.detector import check_intensity_range, Detector


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "fired.onnx"
    anchor = fired_anchor_model(path, anchor_index=100, class_index=1, logit=2.0)
    return str(path), anchor


def cloud(n=50, seed=0):
    rng = np.random.default_rng(seed)
    return np.c_[rng.uniform(1, 7, n), rng.uniform(-3, 3, n), rng.uniform(-1, 1, n),
                 rng.uniform(0, 255, n)].astype(np.float32)


def test_detect_runs_onnxruntime_and_returns_the_fired_anchor(model):
    path, anchor = model
    detector = Detector.from_model(path)
    out = detector.detect(cloud())
    assert len(out) == 1
    assert out.labels[0] == 1
    assert out.scores[0] == pytest.approx(1 / (1 + np.exp(-2.0)), abs=1e-6)
    np.testing.assert_allclose(out.boxes[0, :6], anchor[:6], atol=1e-5)
    assert detector.last_timings.total_ms > 0


def test_cloud_outside_the_grid_gives_no_detection(model):
    path, _ = model
    far = cloud() + np.array([100.0, 0, 0, 0], np.float32)
    assert len(Detector.from_model(path).detect(far)) == 0


def test_model_inputs_map_intensity_onto_the_model_range(model):
    path, _ = model
    detector = Detector.from_model(path, intensity_range=(0.0, 100.0))
    points = np.array([[1.1, 0.1, 0.0, 50.0], [2.1, 0.1, 0.0, 250.0]], np.float32)
    inputs = detector.model_inputs(points)
    assert inputs["pillar_features"].shape == (1, 64, 8, 10)
    assert int(inputs["num_pillars"][0]) == 2
    np.testing.assert_allclose(inputs["pillar_features"][0, :2, 0, 3], [0.5, 1.0])


def test_score_threshold_override_and_runtime_post_change(model):
    path, _ = model
    strict = Detector.from_model(path, score_threshold=0.95)
    assert len(strict.detect(cloud())) == 0
    strict.with_post(dataclasses.replace(strict.post, score_threshold=0.5))
    assert len(strict.detect(cloud())) == 1
    assert strict.config == TINY_CONFIG


@pytest.mark.parametrize("bad", [(255.0, 0.0), (0.0, 0.0), (0.0, float("nan")), (1.0,)])
def test_bad_intensity_range_is_refused(bad):
    with pytest.raises(ConfigError, match="intensity_range"):
        check_intensity_range(bad)


def test_bad_post_processing_values_are_refused():
    with pytest.raises(ConfigError, match="nms_iou_threshold"):
        PostProcessConfig(nms_iou_threshold=1.5)


def test_dynamic_pillar_model_gets_only_the_occupied_pillars(tmp_path):
    path = tmp_path / "dynamic.onnx"
    anchor = fired_anchor_model(path, anchor_index=100, class_index=1, pillar_axis="pillars")
    detector = Detector.from_model(str(path))
    assert detector.dynamic_pillars
    inputs = detector.model_inputs(cloud())
    count = int(inputs["num_pillars"][0])
    assert 0 < count < TINY_CONFIG.pillars.max_pillars
    assert inputs["pillar_features"].shape == (1, count, 8, 10)
    assert inputs["pillar_coords"].shape == (1, count, 2)
    found = detector.detect(cloud())
    np.testing.assert_allclose(found.boxes[0, :6], anchor[:6], atol=1e-5)
    empty = detector.model_inputs(np.zeros((0, 4), np.float32))
    assert empty["pillar_features"].shape == (1, 1, 8, 10) and empty["num_pillars"][0] == 0
    assert len(detector.detect(np.zeros((0, 4), np.float32))) == 0
