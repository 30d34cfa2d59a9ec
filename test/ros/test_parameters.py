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

"""Tests of tao_pointpillars_py.ros.parameters: parameter validation and parsing."""

from pathlib import Path

import numpy as np
import pytest

from tao_pointpillars_py.core.config import PostProcessConfig
from tao_pointpillars_py.errors import ConfigError
from tao_pointpillars_py.inference.runtime import RuntimeRequest
from tao_pointpillars_py.ros.parameters import (DEFAULTS, NodeSettings, PARAMETERS,
                                                post_process_settings, read_params_file,
                                                RUNTIME_PARAMETERS, settings_from_file)

REPO = Path(__file__).resolve().parents[2]


def test_defaults_validate_and_match_the_post_processing_defaults():
    settings = NodeSettings.from_parameters({})
    assert settings.post == PostProcessConfig()
    assert settings.class_names == ("Vehicle", "Pedestrian", "Cyclist")
    assert settings.intensity_range == (0.0, 255.0)
    assert settings.runtime.backend == "auto" and settings.runtime.precision == "fp32"


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
                                     nms_iou_thresh=0.3)


def test_ranges_match_the_validation():
    ranged = {spec.name: (spec.minimum, spec.maximum) for spec in PARAMETERS
              if spec.minimum is not None or spec.maximum is not None}
    assert ranged["score_threshold"] == ranged["nms_iou_thresh"] == (0.0, 1.0)
    assert ranged["max_detections"] == (1, None) and ranged["max_points"] == (0, None)
    for name, (low, high) in ranged.items():
        NodeSettings.from_parameters({name: low})
        below = low - (1 if isinstance(low, int) else 0.01)
        with pytest.raises(ConfigError, match=name):
            NodeSettings.from_parameters({name: below})
        if high is not None:
            with pytest.raises(ConfigError, match=name):
                NodeSettings.from_parameters({name: high + 0.01})


def test_extrinsics_and_fusion_are_parsed_once_into_the_settings():
    settings = NodeSettings.from_parameters({
        "fuse": True, "base_frame": "base", "fuse_window_s": 0.2,
        "lidar_extrinsics": ["front 1 0 0 0 0 90", "", "rear -1 0 0 0 0 180"]})
    fusion = settings.fusion
    assert fusion.enabled and fusion.base_frame == "base" and fusion.window_s == 0.2
    assert list(fusion.extrinsics) == ["front", "rear"]
    assert fusion.extrinsics["front"].translation.tolist() == [1.0, 0.0, 0.0]
    assert NodeSettings.from_parameters({}).fusion.extrinsics == {}


def test_runtime_request_carries_the_runtime_parameters():
    settings = NodeSettings.from_parameters({"backend": "onnxruntime", "precision": "int8",
                                             "model_path": "m.onnx", "threads": 2})
    assert settings.runtime == RuntimeRequest("onnxruntime", "int8", "m.onnx", "", 2)


def test_defaults_table_has_unique_names():
    assert len(DEFAULTS) == len(PARAMETERS)


def test_cloud_to_model_parses_into_an_extrinsic_and_identity_into_none():
    assert NodeSettings.from_parameters({}).cloud_to_model is None
    assert NodeSettings.from_parameters({"cloud_to_model": " 0 0 0  0 0 0 "}).cloud_to_model \
        is None
    turned = NodeSettings.from_parameters({"cloud_to_model": "0 0 0.6 0 0 -90"}).cloud_to_model
    np.testing.assert_allclose(turned.rotation, [[0, 1, 0], [-1, 0, 0], [0, 0, 1]], atol=1e-12)
    np.testing.assert_allclose(turned.translation, [0.0, 0.0, 0.6])
    description = next(s.description for s in PARAMETERS if s.name == "cloud_to_model")
    assert "'x y z roll pitch yaw' (metres, degrees)" in description
    assert "approximate" in description


@pytest.mark.parametrize("value", ["0 0 0 0 -90", "0 0 0 0 0 -90 1", "0 0 0 0 0 left", "",
                                   ["0", "0", "0", "0", "0", "-90"], 90.0])
def test_a_bad_cloud_to_model_is_refused_with_the_format(value):
    with pytest.raises(ConfigError, match=r"cloud_to_model must be a string 'x y z roll pitch "
                                          r"yaw' \(metres, degrees\), got .*; e\.g\. "
                                          r"'0 0 0 0 0 -90' for a \+y-forward Zvision cloud"):
        NodeSettings.from_parameters({"cloud_to_model": value})


def test_a_non_finite_cloud_to_model_is_refused():
    with pytest.raises(ConfigError, match="cloud_to_model '0 0 nan 0 0 0' has a non-finite"):
        NodeSettings.from_parameters({"cloud_to_model": "0 0 nan 0 0 0"})


def test_the_zvision_params_file_reads_into_y_forward_settings():
    settings = settings_from_file(REPO / "params" / "zvision_ml30s.yaml")
    assert settings.input_topics == ("zvision_lidar_points",)
    assert settings.intensity_range == (0.0, 255.0)
    np.testing.assert_allclose(settings.cloud_to_model.rotation @ [0.0, 1.0, 0.0],
                               [1.0, 0.0, 0.0], atol=1e-12)   # driver +y is the model's +x
    assert settings_from_file(None) == NodeSettings.from_parameters({})


def test_read_params_file_says_what_is_wrong(tmp_path):
    with pytest.raises(ConfigError, match="--params-file .*missing.yaml does not exist"):
        read_params_file(tmp_path / "missing.yaml")
    flat = tmp_path / "flat.yaml"
    flat.write_text("score_threshold: 0.5\n")
    with pytest.raises(ConfigError, match="has no `<node>: ros__parameters:` section"):
        read_params_file(flat)
    named = tmp_path / "named.yaml"
    named.write_text("pointpillars:\n  ros__parameters:\n    cloud_to_model: '0 0 0 0 0 -90'\n")
    assert read_params_file(named) == {"cloud_to_model": "0 0 0 0 0 -90"}
