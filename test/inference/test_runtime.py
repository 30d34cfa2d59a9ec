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

"""Tests of tao_pointpillars_py.inference.runtime: backend and precision choice, the detector."""

from pathlib import Path
import shutil

import onnx
from onnx_fixtures import fired_anchor_model
import pytest

from tao_pointpillars_py.core.config import PostProcessConfig
from tao_pointpillars_py.errors import ConfigError
from tao_pointpillars_py.inference.model_file import (default_model_path, int8_model_path,
                                                      REFERENCE_MODEL)
from tao_pointpillars_py.inference.runtime import (build_detector, check_class_names,
                                                   RuntimeRequest, select_runtime)
from tao_pointpillars_py.inference.tao_layout import export_tao

REPO = Path(__file__).resolve().parents[2]


def test_class_names_must_match_the_model_in_order():
    check_class_names(["A", "B"], ("A", "B"), "m.onnx")
    with pytest.raises(ConfigError, match=r"set class_names to \['B', 'A'\]"):
        check_class_names(["A", "B"], ("B", "A"), "m.onnx")


def test_default_model_is_the_reference_model():
    assert default_model_path().name == REFERENCE_MODEL
    assert default_model_path().is_file()


def test_auto_backend_prefers_tensorrt_when_available():
    model = str(REPO / "models" / REFERENCE_MODEL)
    only_cpu = select_runtime(RuntimeRequest(model_path=model), ["onnxruntime"])
    assert only_cpu.backend == "onnxruntime"
    assert select_runtime(RuntimeRequest(model_path=model),
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
        select_runtime(RuntimeRequest(**values), ["onnxruntime"])


@pytest.mark.parametrize("backend", ["onnxruntime", "tensorrt"])
def test_int8_loads_the_qdq_model_next_to_the_fp32_one(tmp_path, backend):
    fp32 = tmp_path / "net.onnx"
    shutil.copy(REPO / "models" / REFERENCE_MODEL, fp32)
    values = {"model_path": str(fp32), "precision": "int8", "backend": backend}
    with pytest.raises(ConfigError, match="tao-pointpillars calibrate"):
        select_runtime(RuntimeRequest(**values), ["onnxruntime", "tensorrt"])
    shutil.copy(fp32, tmp_path / "net.int8.onnx")
    choice = select_runtime(RuntimeRequest(**values), ["onnxruntime", "tensorrt"])
    assert choice.model_path == choice.backend_file == tmp_path / "net.int8.onnx"
    assert choice.precision == "int8" and choice.backend == backend
    assert "int8" in choice.describe() and backend in choice.describe()


def test_reference_model_ships_with_its_int8_variant():
    model = str(REPO / "models" / REFERENCE_MODEL)
    choice = select_runtime(RuntimeRequest(model_path=model, precision="int8", threads=2),
                            ["onnxruntime"])
    assert choice.model_path.name == "pointpillars_zvision.int8.onnx"
    assert choice.backend_options() == {"threads": 2}


def test_engine_path_runs_on_tensorrt_with_the_model_for_metadata(tmp_path):
    model = str(REPO / "models" / REFERENCE_MODEL)
    engine = tmp_path / "net.fp16.engine"
    values = {"model_path": model, "engine_path": str(engine), "precision": "fp16"}
    with pytest.raises(ConfigError, match="build-engine"):
        select_runtime(RuntimeRequest(**values), ["onnxruntime", "tensorrt"])
    engine.write_bytes(b"serialized")
    choice = select_runtime(RuntimeRequest(**values), ["onnxruntime", "tensorrt"])
    assert choice.backend == "tensorrt" and choice.backend_file == engine
    assert str(choice.model_path) == model and choice.backend_options() == {"precision": "fp16"}
    assert f"engine {engine}" in choice.describe()
    with pytest.raises(ConfigError, match="clear engine_path to run model_path on ONNX Runtime"):
        select_runtime(RuntimeRequest(**values), ["onnxruntime"])


def test_int8_model_path_is_next_to_the_fp32_one():
    assert int8_model_path("/m/net.onnx") == Path("/m/net.int8.onnx")
    assert int8_model_path("/m/net.int8.onnx") == Path("/m/net.int8.onnx")


def test_build_detector_loads_the_choice_and_checks_the_class_names(tmp_path):
    path = tmp_path / "fired.onnx"
    fired_anchor_model(path, anchor_index=100, class_index=1, logit=2.0)
    choice = select_runtime(RuntimeRequest(model_path=str(path), threads=1), ["onnxruntime"])
    post = PostProcessConfig(score_threshold=0.6)
    with pytest.raises(ConfigError, match="do not match the classes"):
        build_detector(choice, post, (0.0, 255.0), ["Nothing"])
    detector = build_detector(choice, post, (0.0, 100.0), ["Vehicle", "Pedestrian", "Cyclist"])
    assert detector.post == post and detector.intensity_range == (0.0, 100.0)
    assert detector.backend.name == "onnxruntime" and detector.backend.describe() == ""


def test_a_model_without_class_names_takes_class_names_of_the_same_count(tmp_path):
    tao = export_tao(onnx.load(str(REPO / "models" / REFERENCE_MODEL)))
    del tao.metadata_props[:]  # as TAO writes it: no class names anywhere
    path = tmp_path / "bare_tao.onnx"
    onnx.save(tao, str(path))
    choice = select_runtime(RuntimeRequest(model_path=str(path), threads=1), ["onnxruntime"])
    names = ["Car", "Walker", "Bike"]
    detector = build_detector(choice, PostProcessConfig(), (0.0, 255.0), names)
    assert detector.config.class_names == tuple(names) and not detector.class_names_known
    assert [a.class_name for a in detector.config.anchors] == names
    with pytest.raises(ConfigError) as refused:
        build_detector(choice, PostProcessConfig(), (0.0, 255.0), ["Car", "Walker"])
    assert str(refused.value) == (
        f"{path} carries no class names and has 3 classes (class_0, class_1, class_2), but "
        "class_names has 2: ['Car', 'Walker']; set class_names to 3 names in the order the "
        "model was trained with")
