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

"""Tests of inference.backends.tensorrt.calibration_cache: TensorRT calibration-cache files."""

import json
from pathlib import Path

from onnx_fixtures import fired_anchor_model
import pytest

from tao_pointpillars_py.errors import ConfigError
from tao_pointpillars_py.inference.backends.tensorrt.calibration_cache import (
    CALIBRATION_ALGORITHM, CalibrationCache, check_calibration_cache, read_calibration_cache,
    write_calibration_record)
from tao_pointpillars_py.inference.model_file import file_sha256

#: a cache of the tiny model as TensorRT writes it (hex scales, one internal name)
TINY_CACHE = ("TRT-8601-EntropyCalibration2\npillar_features: 3c010a14\ncount: 3f800000\n"
              "(Unnamed Layer* 0) [Constant]_output: 3f800000\ngate: 3f800000\n"
              "cls_preds: 3d0a3d71\n")


@pytest.fixture
def tiny_cache(tmp_path):
    cache = tmp_path / "tiny.calib"
    cache.write_text(TINY_CACHE)
    return cache


def test_a_cache_is_parsed_into_version_algorithm_and_tensor_names(tiny_cache):
    assert read_calibration_cache(tiny_cache) == CalibrationCache(
        "8601", CALIBRATION_ALGORITHM,
        ("pillar_features", "count", "(Unnamed Layer* 0) [Constant]_output", "gate",
         "cls_preds"))
    assert read_calibration_cache(str(tiny_cache)).tensorrt_version == "8601"


def test_a_cache_in_tensorrts_own_format_for_the_model_is_accepted(tiny_model, tiny_cache):
    assert check_calibration_cache(tiny_cache, tiny_model).tensorrt_version == "8601"
    write_calibration_record(tiny_cache, tiny_model)
    assert check_calibration_cache(tiny_cache, tiny_model).tensors[0] == "pillar_features"


def test_the_record_names_the_model_and_its_hash(tiny_model, tiny_cache):
    record = write_calibration_record(tiny_cache, tiny_model)
    assert record == Path(str(tiny_cache) + ".json")
    assert json.loads(record.read_text(encoding="utf-8")) == {
        "model": "tiny.onnx", "model_sha256": file_sha256(tiny_model)}


def test_a_cache_recorded_for_another_model_is_refused(tiny_model, tiny_cache, tmp_path):
    other = tmp_path / "retrained.onnx"  # the same tensor names, other weights
    fired_anchor_model(other, pillar_axis="pillars", logit=3.0)
    write_calibration_record(tiny_cache, other)
    with pytest.raises(ConfigError) as raised:
        check_calibration_cache(tiny_cache, tiny_model)
    message = str(raised.value)
    assert message.startswith(f"calibration cache {tiny_cache} was made for another model "
                              f"('retrained.onnx', sha256 {file_sha256(other)[:12]}...) than "
                              f"{tiny_model} (its record {tiny_cache}.json says so); ")
    assert f"--calib-cache {tiny_cache}`" in message
    check_calibration_cache(tiny_cache, other)  # the model it was made for


def test_an_unreadable_record_is_not_held_against_the_cache(tiny_model, tiny_cache):
    Path(str(tiny_cache) + ".json").write_text("{not json")
    assert check_calibration_cache(tiny_cache, tiny_model).algorithm == CALIBRATION_ALGORITHM
    Path(str(tiny_cache) + ".json").write_text("[1, 2]")
    assert check_calibration_cache(tiny_cache, tiny_model).algorithm == CALIBRATION_ALGORITHM


def test_a_cache_without_the_models_float_input_is_refused(tiny_model, tmp_path):
    cache = tmp_path / "x.calib"  # the integer inputs need no scale, the float one does
    cache.write_text("TRT-8601-EntropyCalibration2\npillar_coords: 3f800000\n"
                     "count: 3f800000\ngate: 3f800000\n")
    with pytest.raises(ConfigError, match=r"it has no scale for the model's input\(s\) "
                                          r"\['pillar_features'\]; delete "):
        check_calibration_cache(cache, tiny_model)


def test_a_minority_of_foreign_names_is_accepted_a_majority_refused(tiny_model, tmp_path):
    cache = tmp_path / "x.calib"
    cache.write_text("TRT-8601-EntropyCalibration2\npillar_features: 1\ngate: 1\nold: 1\n")
    assert check_calibration_cache(cache, tiny_model).tensors[-1] == "old"
    cache.write_text("TRT-8601-EntropyCalibration2\npillar_features: 1\nold: 1\nolder: 1\n")
    with pytest.raises(ConfigError, match=r"2 of its 3 tensor names are not tensors of the "
                                          r"model \(e.g. \['old', 'older'\]\)"):
        check_calibration_cache(cache, tiny_model)


@pytest.mark.parametrize("content,words", [
    (b"", "is not a TensorRT calibration cache (its first line is '', not "
          "TRT-<version>-<algorithm>)"),
    (b"pillar_features: 3c010a14\n", "is not a TensorRT calibration cache (its first line is "
                                     "'pillar_features: 3c010a14'"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "cannot be read as a TensorRT calibration cache "
                                   "(UnicodeDecodeError"),
    (b"TRT-8601-MinMaxCalibration\npillar_features: 3c010a14\n",
     "was made by another calibrator (MinMaxCalibration); the TensorRT backend reads "
     "EntropyCalibration2 caches only"),
    (b"TRT-8601-EntropyCalibration2\n", "does not match the model"),
])
def test_a_file_that_is_no_usable_calibration_cache_is_named(tiny_model, tmp_path, content, words):
    cache = tmp_path / "x.calib"
    cache.write_bytes(content)
    with pytest.raises(ConfigError) as raised:
        check_calibration_cache(cache, tiny_model)
    message = str(raised.value)
    assert f"calibration cache {cache} " in message and words in message
    assert f"delete {cache} and calibrate again" in message
    if b"Entropy" not in content and b"MinMax" not in content:
        with pytest.raises(ConfigError):
            read_calibration_cache(cache)


def test_a_missing_cache_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"cannot be read as a TensorRT calibration cache "
                                          r"\(FileNotFoundError"):
        read_calibration_cache(tmp_path / "none.calib")
