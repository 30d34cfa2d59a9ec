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

"""
Tests of tao_pointpillars_py.inference.detector on the TAO contract (points in, boxes out).

The "echo" model is a real ONNX file in the TAO contract, built with standard operators: its
one box reports what the detector fed it, (sum of intensities, num_points, rows of points,
sum of x), so each test can check the exact inputs on ONNX Runtime.
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Mapping

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto
from onnx_fixtures import REFERENCE_MODEL
import pytest

from tao_pointpillars_py.core.config import ModelConfig, PostProcessConfig
from tao_pointpillars_py.core.pointcloud2 import (encode_zvision_cloud_data, map_intensity,
                                                  thin_points, zvision_fields)
from tao_pointpillars_py.errors import ConfigError, ModelLoadError
from tao_pointpillars_py.inference.backends import create_backend
from tao_pointpillars_py.inference.detector import answer_cloud, Detector
from tao_pointpillars_py.inference.model_file import load_model_info, ModelContract
from tao_pointpillars_py.inference.tao_layout import export_tao
from tao_pointpillars_py.sim import simulate_frame

#: class and score of the echo model's one box
ECHO_CLASS, ECHO_SCORE = 1, 0.9


def echo_model(path: Path, capacity: int | str = 64) -> Path:
    """
    Write a TAO-contract model whose one box echoes its inputs.

    ``output_boxes`` [1, 1, 9] = (sum of intensities, num_points, rows of ``points``, sum of
    x, 1, 1, 0, ECHO_CLASS, ECHO_SCORE); ``num_boxes`` = [1]. ``capacity`` is the points
    axis (a string: symbolic). Metadata: ModelConfig()'s (intensity range 0..1).
    """
    inits = [numpy_helper.from_array(np.array([1], np.int64), "one_i64"),
             numpy_helper.from_array(np.array(1, np.int64), "axis_rows"),
             numpy_helper.from_array(np.array(0, np.int64), "column_x"),
             numpy_helper.from_array(np.array(3, np.int64), "column_i"),
             numpy_helper.from_array(np.array([1.0, 1.0, 0.0, ECHO_CLASS, ECHO_SCORE],
                                              np.float32), "tail"),
             numpy_helper.from_array(np.array([1, 1, 9], np.int64), "box_shape"),
             numpy_helper.from_array(np.array([1], np.int32), "one_box")]
    nodes = [
        helper.make_node("ReduceSum", ["points", "one_i64"], ["sums"], keepdims=0),  # [1, 4]
        helper.make_node("Gather", ["sums", "column_i"], ["sum_i"], axis=1),  # [1]
        helper.make_node("Gather", ["sums", "column_x"], ["sum_x"], axis=1),
        helper.make_node("Cast", ["num_points"], ["count"], to=TensorProto.FLOAT),
        helper.make_node("Shape", ["points"], ["shape"]),
        helper.make_node("Gather", ["shape", "one_i64"], ["rows_i64"], axis=0),  # [1]
        helper.make_node("Cast", ["rows_i64"], ["rows"], to=TensorProto.FLOAT),
        helper.make_node("Concat", ["sum_i", "count", "rows", "sum_x", "tail"], ["row"],
                         axis=0),
        helper.make_node("Reshape", ["row", "box_shape"], ["output_boxes"]),
        helper.make_node("Identity", ["one_box"], ["num_boxes"]),
    ]
    graph = helper.make_graph(
        nodes, "tao_echo",
        [helper.make_tensor_value_info("points", TensorProto.FLOAT, [1, capacity, 4]),
         helper.make_tensor_value_info("num_points", TensorProto.INT32, [1])],
        [helper.make_tensor_value_info("output_boxes", TensorProto.FLOAT, [1, 1, 9]),
         helper.make_tensor_value_info("num_boxes", TensorProto.INT32, [1])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    helper.set_model_props(model, ModelConfig().to_metadata())
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def echo(detector: Detector, points: np.ndarray) -> np.ndarray:
    """Return what the echo model reported: its one detection's box (7,)."""
    found = detector.detect(points)
    assert len(found) == 1 and found.labels[0] == ECHO_CLASS
    assert found.scores[0] == pytest.approx(ECHO_SCORE)
    return found.boxes[0]


def cloud(n: int, seed: int = 0) -> np.ndarray:
    """N points in front of the lidar, driver intensity 0..255."""
    rng = np.random.default_rng(seed)
    return np.c_[rng.uniform(1, 7, n), rng.uniform(-3, 3, n), rng.uniform(-1, 1, n),
                 rng.uniform(0, 255, n)].astype(np.float32)


def cloud_message(points: np.ndarray) -> SimpleNamespace:
    """Build a PointCloud2-like object: the fields points_from_cloud reads."""
    fields = [SimpleNamespace(name=n, offset=o, datatype=t, count=c)
              for n, o, t, c in zvision_fields()]
    data = encode_zvision_cloud_data(points)
    return SimpleNamespace(fields=fields, is_bigendian=False, point_step=len(data) // len(points),
                           row_step=len(data), data=data, height=1, width=len(points))


@pytest.fixture(scope="module")
def echo64(tmp_path_factory) -> str:
    return str(echo_model(tmp_path_factory.mktemp("tao") / "echo64.onnx", 64))


def test_points_are_zero_padded_to_the_capacity_with_the_real_count(echo64):
    detector = Detector.from_model(echo64, intensity_range=(0.0, 255.0))
    assert detector.contract is ModelContract.TAO and detector.point_capacity == 64
    points = cloud(10)
    inputs = detector.model_inputs(points)
    assert inputs["points"].shape == (1, 64, 4) and inputs["points"].dtype == np.float32
    assert inputs["num_points"].dtype == np.int32 and inputs["num_points"].tolist() == [10]
    assert not inputs["points"][0, 10:].any()
    box = echo(detector, points)
    np.testing.assert_allclose(box[1:4], [10, 64, points[:, 0].sum()], rtol=1e-5)
    # the reused buffer is cleared: a smaller cloud after a larger one leaves no old rows
    detector.detect(cloud(40, seed=1))
    assert not detector.model_inputs(points)["points"][0, 10:].any()


def test_intensity_is_mapped_onto_the_model_range_as_for_native_models(echo64):
    detector = Detector.from_model(echo64, intensity_range=(0.0, 100.0))
    points = cloud(20)  # intensities up to 255: above 100 they clip to the model's 1.0
    mapped = map_intensity(points, (0.0, 100.0), (0.0, 1.0))
    np.testing.assert_array_equal(detector.model_inputs(points)["points"][0, :20], mapped)
    assert echo(detector, points)[0] == pytest.approx(mapped[:, 3].sum(), rel=1e-5)
    assert mapped[:, 3].max() == 1.0 and mapped[:, 3].min() < 1.0


@pytest.mark.parametrize("max_points,limit", [(0, 64), (30, 30), (80, 64), (64, 64)])
def test_clouds_over_the_capacity_are_thinned_and_counted(echo64, max_points, limit):
    detector = Detector.from_model(echo64, intensity_range=(0.0, 255.0))
    assert detector.point_limit(max_points) == limit
    points = cloud(100)
    kept = thin_points(points, limit)
    answer = answer_cloud(detector, cloud_message(points), max_points)
    assert answer.thinned_from == 100
    box = answer.detections.boxes[0]
    np.testing.assert_allclose(box[1:4], [len(kept), 64, kept[:, 0].sum()], rtol=1e-5)
    small = answer_cloud(detector, cloud_message(cloud(50)), max_points)
    assert small.thinned_from == (50 if 0 < max_points < 50 else 0)


def test_detect_alone_thins_a_cloud_over_the_capacity(echo64):
    detector = Detector.from_model(echo64, intensity_range=(0.0, 255.0))
    points = cloud(150)
    kept = thin_points(points, 64)  # every 3rd point: 50
    np.testing.assert_allclose(echo(detector, points)[1:4], [50, 64, kept[:, 0].sum()],
                               rtol=1e-5)


def test_symbolic_point_axis_takes_the_cloud_as_it_is(tmp_path):
    path = str(echo_model(tmp_path / "echo_dynamic.onnx", "num_points_axis"))
    detector = Detector.from_model(path, intensity_range=(0.0, 255.0))
    assert detector.point_capacity == 0 and detector.point_limit(0) == 0
    assert detector.point_limit(1000) == 1000
    points = cloud(300)
    np.testing.assert_allclose(echo(detector, points)[1:3], [300, 300])
    answer = answer_cloud(detector, cloud_message(points), max_points=0)
    assert answer.thinned_from == 0
    empty = detector.model_inputs(np.zeros((0, 4), np.float32))
    assert empty["points"].shape == (1, 1, 4) and not empty["points"].any()
    assert empty["num_points"].tolist() == [0]
    np.testing.assert_allclose(echo(detector, np.zeros((0, 4), np.float32))[:3], [0, 0, 1])


class ShapelessBackend:
    """A real ONNX Runtime backend that does not tell its input shapes (as older backends)."""

    name = "shapeless"

    def __init__(self, path: str) -> None:
        self._runner = create_backend("onnxruntime", path)
        self.input_names = self._runner.input_names
        self.output_names = self._runner.output_names

    def infer(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return self._runner.infer(inputs)

    def describe(self) -> str:
        return ""


def test_contract_and_shapes_come_from_the_backend(echo64, tmp_path):
    info = load_model_info(echo64)
    assert info.contract is ModelContract.TAO and info.class_names_known
    assert info.config == ModelConfig()
    runner = create_backend("onnxruntime", echo64)
    assert runner.input_shapes["points"] == (1, 64, 4)
    # the backend's shapes win over the ones given; the contract is the backend's model's
    detector = Detector(info.config, runner, input_shapes={"points": (1, 8, 4)})
    assert detector.contract is ModelContract.TAO and detector.point_capacity == 64
    # a backend without input_shapes: the model file's shapes tell the capacity
    shapeless = Detector(info.config, ShapelessBackend(echo64),
                         input_shapes={"points": (1, 64, 4)})
    assert shapeless.point_capacity == 64
    np.testing.assert_allclose(echo(shapeless, cloud(5))[1:3], [5, 64])
    with pytest.raises(ModelLoadError, match="leave contract out, the backend decides it"):
        Detector(info.config, runner, contract=ModelContract.NATIVE)


@pytest.fixture(scope="module")
def tao_reference(tmp_path_factory) -> Path:
    """Write the reference model exported with export_tao (this package's metadata kept)."""
    path = tmp_path_factory.mktemp("tao_reference") / "zvision_tao.onnx"
    onnx.save(export_tao(onnx.load(str(REFERENCE_MODEL))), str(path))
    return path


@pytest.fixture(scope="module")
def tao_without_names(tao_reference, tmp_path_factory) -> Path:
    """Write the exported reference model without this package's metadata, as TAO does."""
    path = tmp_path_factory.mktemp("tao_bare") / "bare_tao.onnx"
    model = onnx.load(str(tao_reference))
    del model.metadata_props[:]
    onnx.save(model, str(path))
    return path


def test_tao_export_of_the_reference_model_detects_as_the_native_model(tao_reference, caplog):
    post = PostProcessConfig(score_threshold=0.2)
    native = Detector.from_model(str(REFERENCE_MODEL), post=post,
                                 backend_options={"threads": 1})
    with caplog.at_level(logging.INFO, logger="tao_pointpillars_py.inference.detector"):
        converted = Detector.from_model(str(tao_reference), "onnxruntime", post=post,
                                        backend_options={"threads": 1})
    converted_lines = [r for r in caplog.records if "converted in memory" in r.getMessage()]
    assert len(converted_lines) == 1 and converted_lines[0].levelno == logging.INFO
    assert "tao-pointpillars import-tao" in converted_lines[0].getMessage()
    assert converted.contract is ModelContract.NATIVE and converted.class_names_known
    assert converted.config.class_names == native.config.class_names
    compared = 0
    for seed in range(3):
        points = simulate_frame(seed, 0).points
        expected, got = native.detect(points), converted.detect(points)
        np.testing.assert_array_equal(got.labels, expected.labels)
        np.testing.assert_allclose(got.boxes, expected.boxes, atol=1e-4)
        np.testing.assert_allclose(got.scores, expected.scores, atol=1e-4)
        compared += len(expected)
    assert compared > 0


def test_from_model_names_the_classes_of_a_model_that_carries_none(tao_without_names):
    path = str(tao_without_names)
    placeholders = Detector.from_model(path, backend_options={"threads": 1})
    assert placeholders.config.class_names == ("class_0", "class_1", "class_2")
    assert not placeholders.class_names_known
    given = Detector.from_model(path, class_names=["Car", "Walker", "Bike"])
    assert given.config.class_names == ("Car", "Walker", "Bike")
    with pytest.raises(ConfigError, match=r"\['Car'\] for a model with 3 classes"):
        Detector.from_model(path, class_names=["Car"])
    with pytest.raises(ConfigError, match="do not match the classes"):
        Detector.from_model(str(REFERENCE_MODEL), class_names=["Car", "Walker", "Bike"])


def test_a_dynamic_point_axis_with_a_bound_thins_to_it_without_padding(tmp_path):
    # a TensorRT engine's profile reports a dynamic points axis as "1..N"
    path = str(echo_model(tmp_path / "echo_bounded.onnx", "num_points_axis"))
    info = load_model_info(path)
    detector = Detector(info.config, ShapelessBackend(path), intensity_range=(0.0, 255.0),
                        input_shapes={"points": (1, "1..100", 4)})
    assert detector.point_capacity == 0 and detector.point_bound == 100
    assert detector.point_limit(0) == 100 and detector.point_limit(60) == 60
    points = cloud(300)
    answer = answer_cloud(detector, cloud_message(points), max_points=0)
    assert answer.thinned_from == 300
    np.testing.assert_allclose(answer.detections.boxes[0][1:3], [100, 100])
    np.testing.assert_allclose(echo(detector, cloud(40))[1:3], [40, 40])  # no padding
