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
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import onnx
from onnx_fixtures import fired_anchor_model, TINY_CONFIG
import pytest

from tao_pointpillars_py.core.boxes import (Extrinsic, limit_period, transform_boxes,
                                            transform_points)
from tao_pointpillars_py.core.config import PostProcessConfig
from tao_pointpillars_py.core.input_health import (input_problems, training_intensity_metadata,
                                                   window_health)
from tao_pointpillars_py.core.pointcloud2 import encode_zvision_cloud_data, zvision_fields
from tao_pointpillars_py.data.zvision_pcap import cloud_records, decode_capture
from tao_pointpillars_py.errors import ConfigError
from tao_pointpillars_py.inference.detector import answer_cloud, Detector, pose_text
from tao_pointpillars_py.inference.model_file import default_model_path
from tao_pointpillars_py.sim import simulate_frame

ZVISION = Path(__file__).resolve().parents[1] / "data_files" / "zvision"


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
    strict = Detector.from_model(path, post=PostProcessConfig(score_threshold=0.95))
    assert len(strict.detect(cloud())) == 0
    strict.set_post_process(dataclasses.replace(strict.post, score_threshold=0.5))
    assert len(strict.detect(cloud())) == 1
    assert strict.config == TINY_CONFIG


def test_bad_post_processing_values_are_refused():
    with pytest.raises(ConfigError, match="nms_iou_thresh"):
        PostProcessConfig(nms_iou_thresh=1.5)


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


def _cloud_message(points):
    """Build a PointCloud2-like object: the fields points_from_cloud reads."""
    fields = [SimpleNamespace(name=n, offset=o, datatype=t, count=c)
              for n, o, t, c in zvision_fields()]
    data = encode_zvision_cloud_data(points)
    return SimpleNamespace(fields=fields, is_bigendian=False, point_step=len(data) // len(points),
                           row_step=len(data), data=data, height=1, width=len(points))


def test_answer_cloud_decodes_drops_non_finite_thins_and_detects(model):
    path, anchor = model
    detector = Detector.from_model(path, backend_options={"threads": 1})
    points = cloud()
    with_nan = np.vstack([points, [[np.nan, 0, 0, 0]]]).astype(np.float32)
    answer = answer_cloud(detector, _cloud_message(with_nan), max_points=0)
    assert answer.skipped == "" and answer.thinned_from == 0
    np.testing.assert_allclose(answer.detections.boxes, detector.detect(points).boxes)
    thinned = answer_cloud(detector, _cloud_message(points), max_points=20)
    assert thinned.thinned_from == len(points) and len(thinned.detections) == 1


def test_answer_cloud_skips_a_cloud_it_cannot_decode(model):
    path, _ = model
    broken = _cloud_message(cloud())
    broken.fields = broken.fields[:2]  # no z, no intensity
    answer = answer_cloud(Detector.from_model(path), broken, max_points=0)
    assert answer.detections is None and answer.skipped


@pytest.fixture(scope="module")
def reference():
    """Load the reference model, plain and with cloud_to_model "0 0 0.6 0 0 -90", one thread."""
    path = str(default_model_path())
    plain = Detector.from_model(path, backend_options={"threads": 1})
    turned = Detector.from_model(path, backend_options={"threads": 1},
                                 cloud_to_model=Y_FORWARD_RAISED)
    return plain, turned


#: a +y-forward cloud (the Zvision driver's frame) from a lidar 0.6 m higher than the model's
Y_FORWARD_RAISED = Extrinsic.from_xyz_rpy("cloud", (0.0, 0.0, 0.6), (0.0, 0.0, -90.0))


def test_cloud_to_model_answers_a_turned_cloud_as_the_model_frame_one(reference):
    plain, turned = reference
    points = simulate_frame(4, 0).points                       # x forward: the model's frame
    driver = transform_points(points, Y_FORWARD_RAISED.inverse("model"))   # +y forward, raised
    np.testing.assert_allclose(driver[:, [1, 0, 2]] * [1, -1, 1], points[:, :3] - [0, 0, 0.6],
                               atol=1e-6)
    np.testing.assert_array_equal(driver[:, 3], points[:, 3])
    expected = plain.detect(points)
    found = answer_cloud(turned, _cloud_message(driver), max_points=0).detections
    assert len(expected) >= 3
    np.testing.assert_array_equal(found.labels, expected.labels)
    np.testing.assert_allclose(found.scores, expected.scores, atol=1e-4)
    mapped = transform_boxes(expected.boxes, Y_FORWARD_RAISED.inverse("model"))
    np.testing.assert_allclose(found.boxes[:, :6], mapped[:, :6], atol=1e-4)
    yaw_error = limit_period(found.boxes[:, 6] - mapped[:, 6], 0.5, 2 * np.pi)
    np.testing.assert_allclose(yaw_error, 0.0, atol=1e-4)
    np.testing.assert_allclose(mapped[:, 6], limit_period(expected.boxes[:, 6] + np.pi / 2,
                                                          0.5, 2 * np.pi), atol=1e-6)
    # without the parameter the turned cloud is another scene to the model
    unturned = plain.detect(driver)
    assert len(unturned) != len(expected) or not np.allclose(unturned.boxes, mapped, atol=0.5)


def test_identity_cloud_to_model_sets_no_transform(reference):
    plain, turned = reference
    points = simulate_frame(4, 1).points
    assert plain.model_frame_points(points) is points
    plain.set_cloud_to_model(Extrinsic.from_xyz_rpy("cloud", (0, 0, 0), (0, 0, 0)))
    assert plain.cloud_to_model is None and plain.model_frame_points(points) is points
    found = plain.detect(points)
    assert plain.cloud_frame_detections(found) is found
    assert turned.cloud_to_model is Y_FORWARD_RAISED


def test_answer_cloud_carries_the_clouds_health_from_the_model_frame_points(model):
    path, _ = model
    detector = Detector.from_model(path, backend_options={"threads": 1})
    points = cloud(n=400)
    points[300:, 0] += 100.0  # a quarter beyond the grid
    slots = np.vstack([points, np.zeros((100, 4), np.float32)])  # empty slots: no returns
    answer = answer_cloud(detector, _cloud_message(slots), max_points=0)
    assert (answer.health.returns, answer.health.slots) == (400, 500)
    assert answer.health.in_range_share == 0.75
    expected = np.percentile(points[:300, 3], [50, 99])
    np.testing.assert_allclose(answer.health.intensity, expected, rtol=1e-6)
    thinned = answer_cloud(detector, _cloud_message(slots), max_points=100)
    assert thinned.thinned_from == 400 and thinned.health.returns == 400
    assert detector.training_intensity is None  # the test model records none


def test_pose_text_writes_cloud_to_model_as_the_node_reads_it():
    assert pose_text(Y_FORWARD_RAISED) == "0 0 0.6 0 0 -90"
    pose = Extrinsic.from_xyz_rpy("c", (1.5, -2.0, 0.25), (3.0, -4.0, 120.0))
    assert pose_text(pose) == "1.5 -2 0.25 3 -4 120"


def _driver_cloud(records):
    """Build the driver's PointCloud2 (as an object with its fields) of 51,200 records."""
    fields = [SimpleNamespace(name=n, offset=o, datatype=t, count=c)
              for n, o, t, c in zvision_fields()]
    return SimpleNamespace(fields=fields, is_bigendian=False, point_step=32,
                           row_step=32 * len(records), data=records.tobytes(), height=1,
                           width=len(records))


@pytest.fixture(scope="module")
def real_clouds():
    """Give the vendor's real ML-30S-A1 recording (10 frames) as its ROS 2 driver has it."""
    records = [cloud_records(frame) for frame in decode_capture(
        ZVISION / "ML30S_A1_Default.pcap", ZVISION / "ML30S_A1_Default.cal")]
    returns = [int(np.count_nonzero((r["x"] != 0) | (r["y"] != 0) | (r["z"] != 0)))
               for r in records]
    return [_driver_cloud(r) for r in records], returns


def _real_health(detector, clouds):
    return [answer_cloud(detector, c, max_points=0).health for c in clouds]


def test_the_real_recording_is_in_range_with_cloud_to_model_and_not_without(real_clouds):
    clouds, returns = real_clouds
    path = str(default_model_path())
    turned = Detector.from_model(path, backend_options={"threads": 1},
                                 cloud_to_model=Extrinsic.from_xyz_rpy("zvision_lidar", (0, 0, 0),
                                                                       (0, 0, -90)))
    plain = Detector.from_model(path, backend_options={"threads": 1})
    health = _real_health(turned, clouds)
    assert [h.returns for h in health] == returns and min(returns) > 40_000
    assert all(h.slots == 51_200 for h in health)
    window = window_health(health)
    assert window.in_range_share > 0.95
    assert window.intensity[0] == 2.0 and 38.0 <= window.intensity[1] <= 46.0
    assert input_problems(window, turned.input_reference) == []  # no training figures: no WARN
    assert turned.input_reference.cloud_to_model == "0 0 0 0 0 -90"
    as_published = window_health(_real_health(plain, clouds))
    assert 0.45 < as_published.in_range_share < 0.65
    problems = input_problems(as_published, plain.input_reference)
    assert len(problems) == 1 and "with no cloud_to_model; set cloud_to_model to" in problems[0]


def test_a_model_trained_brighter_warns_on_the_real_recording_with_the_range_to_set(
        real_clouds, tmp_path):
    model = onnx.load(str(default_model_path()))
    for key, value in training_intensity_metadata((0.117, 0.6)).items():
        model.metadata_props.add(key=key, value=value)
    trained = tmp_path / "trained.onnx"
    onnx.save(model, str(trained))
    detector = Detector.from_model(str(trained), backend_options={"threads": 1},
                                   cloud_to_model=Y_FORWARD_RAISED)
    assert detector.training_intensity == (0.117, 0.6)
    window = window_health(_real_health(detector, real_clouds[0][:3]))
    problems = input_problems(window, detector.input_reference)
    assert problems == [
        "the clouds' median intensity 2 (0.00784 in the model's units) is 14.9x darker than "
        "the model's training data's 29.8 (0.117) through intensity_range [0, 255]; set "
        "intensity_range to [0, 17.1] to line the medians up"]
    detector.set_intensity_range((0.0, 17.1))
    assert input_problems(window, detector.input_reference) == []
