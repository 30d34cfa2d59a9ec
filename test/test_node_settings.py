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

"""Tests of tao_pointpillars_py.ros.parameters: parameter validation and runtime selection."""

from pathlib import Path
import shutil

import pytest

from tao_pointpillars_py.core.config import PostProcessConfig
from tao_pointpillars_py.errors import ConfigError
from tao_pointpillars_py.ros.parameters import (check_class_names, default_model_path, DEFAULTS,
                                                NodeSettings, PARAMETERS, post_process_settings,
                                                REFERENCE_MODEL, RUNTIME_PARAMETERS,
                                                select_runtime)

REPO = Path(__file__).resolve().parents[1]


def test_defaults_validate_and_match_the_post_processing_defaults():
    settings = NodeSettings.from_parameters({})
    assert settings.post == PostProcessConfig()
    assert settings.class_names == ("Vehicle", "Pedestrian", "Cyclist")
    assert settings.intensity_range == (0.0, 255.0)
    assert settings.backend == "auto" and settings.precision == "fp32"


def test_every_runtime_parameter_is_declared_writable():
    writable = {spec.name for spec in PARAMETERS if not spec.read_only}
    assert writable == set(RUNTIME_PARAMETERS)


@pytest.mark.parametrize("name,value,message", [
    ("backend", "cuda", "backend must be one of auto | onnxruntime | tensorrt"),
    ("precision", "int4", "precision must be one of"),
    ("class_id_format", "number", "class_id_format"),
    ("intensity_range", [255.0, 0.0], "max > min"),
    ("intensity_range", [0.0], "two numbers"),
    ("class_names", [], "non-empty list"),
    ("class_names", ["Vehicle", "Vehicle"], "distinct"),
    ("score_threshold", 1.5, r"score_threshold must be in \[0, 1\]"),
    ("score_threshold", "high", "score_threshold must be a number"),
    ("nms_iou_thresh", -0.1, "nms_iou_thresh"),
    ("max_detections", 0, "max_detections must be >= 1"),
    ("max_detections", 2.5, "max_detections must be an integer"),
    ("pre_nms_top_n", 0, "pre_nms_top_n"),
    ("max_points", -1, "max_points must be >= 0"),
    ("class_agnostic_nms", "yes", "true or false"),
    ("no_such_parameter", 1, "unknown parameter"),
    ("input_topics", [], "input_topics must list distinct, non-empty"),
    ("input_topics", ["/a", "/a"], "input_topics must list distinct"),
    ("input_topics", ["/a", " "], "non-empty topic names"),
    ("base_frame", " ", "base_frame must not be empty"),
    ("lidar_extrinsics", ["lidar_front 1 2 3"], "x y z roll pitch yaw"),
    ("lidar_extrinsics", ["a 0 0 0 0 0 0", "a 1 0 0 0 0 0"], "twice"),
    ("fuse_window_s", 0.0, "fuse_window_s must be > 0"),
    ("fuse", "yes", "fuse must be true or false"),
    ("fuse_iou_thresh", 2.0, r"fuse_iou_thresh must be in \[0, 1\]"),
])
def test_bad_values_are_refused_with_the_parameter_named(name, value, message):
    with pytest.raises(ConfigError, match=message):
        NodeSettings.from_parameters({name: value})


def test_runtime_update_keeps_the_other_settings():
    base = PostProcessConfig(score_threshold=0.4, max_detections=20)
    post = post_process_settings({"nms_iou_thresh": 0.3}, base=base)
    assert post == PostProcessConfig(score_threshold=0.4, max_detections=20,
                                     nms_iou_threshold=0.3)


def test_class_names_must_match_the_model_in_order():
    check_class_names(["A", "B"], ("A", "B"), "m.onnx")
    with pytest.raises(ConfigError, match=r"set class_names to \['B', 'A'\]"):
        check_class_names(["A", "B"], ("B", "A"), "m.onnx")


def test_default_model_is_the_reference_model():
    assert default_model_path().name == REFERENCE_MODEL
    assert default_model_path().is_file()


def _settings(**values):
    return NodeSettings.from_parameters(values)


def test_auto_backend_prefers_tensorrt_when_available():
    model = str(REPO / "models" / REFERENCE_MODEL)
    assert select_runtime(_settings(model_path=model), ["onnxruntime"]).backend == "onnxruntime"
    assert select_runtime(_settings(model_path=model),
                          ["onnxruntime", "tensorrt"]).backend == "tensorrt"


@pytest.mark.parametrize("values,message", [
    ({"model_path": "/nonexistent/model.onnx"}, "does not exist"),
    ({"backend": "tensorrt"}, "backend tensorrt is not available"),
    ({"precision": "fp16"}, "fp16 needs backend tensorrt"),
    ({"engine_path": "/opt/zvision.engine"}, "engine_path /opt/zvision.engine is a TensorRT "
                                             "engine, but the backend is onnxruntime"),
])
def test_impossible_runtime_combinations_are_refused(values, message):
    with pytest.raises(ConfigError, match=message):
        select_runtime(_settings(**values), ["onnxruntime"])


@pytest.mark.parametrize("backend", ["onnxruntime", "tensorrt"])
def test_int8_loads_the_qdq_model_next_to_the_fp32_one(tmp_path, backend):
    fp32 = tmp_path / "net.onnx"
    shutil.copy(REPO / "models" / REFERENCE_MODEL, fp32)
    values = {"model_path": str(fp32), "precision": "int8", "backend": backend}
    with pytest.raises(ConfigError, match="tao-pointpillars calibrate"):
        select_runtime(_settings(**values), ["onnxruntime", "tensorrt"])
    shutil.copy(fp32, tmp_path / "net.int8.onnx")
    choice = select_runtime(_settings(**values), ["onnxruntime", "tensorrt"])
    assert choice.model_path == choice.backend_file == tmp_path / "net.int8.onnx"
    assert choice.precision == "int8" and choice.backend == backend
    assert "int8" in choice.describe() and backend in choice.describe()


def test_reference_model_ships_with_its_int8_variant():
    model = str(REPO / "models" / REFERENCE_MODEL)
    choice = select_runtime(_settings(model_path=model, precision="int8"), ["onnxruntime"])
    assert choice.model_path.name == "pointpillars_zvision.int8.onnx"
    assert choice.backend_options(threads=2) == {"threads": 2}


def test_engine_path_runs_on_tensorrt_with_the_model_for_metadata(tmp_path):
    model = str(REPO / "models" / REFERENCE_MODEL)
    engine = tmp_path / "net.fp16.engine"
    values = {"model_path": model, "engine_path": str(engine), "precision": "fp16"}
    with pytest.raises(ConfigError, match="build-engine"):
        select_runtime(_settings(**values), ["onnxruntime", "tensorrt"])
    engine.write_bytes(b"serialized")
    choice = select_runtime(_settings(**values), ["onnxruntime", "tensorrt"])
    assert choice.backend == "tensorrt" and choice.backend_file == engine
    assert str(choice.model_path) == model and choice.backend_options(0) == {"precision": "fp16"}
    assert f"engine {engine}" in choice.describe()
    with pytest.raises(ConfigError, match="clear engine_path to run model_path on ONNX Runtime"):
        select_runtime(_settings(**values), ["onnxruntime"])


def test_defaults_table_has_unique_names():
    assert len(DEFAULTS) == len(PARAMETERS)
