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
Faults at start-up, without ROS: each gives one error that names the file and what to do.

Bad model files (library path; test_node_faults.py runs the same files through the node),
TensorRT engines and calibration caches that belong elsewhere, and an engine cache directory
that cannot be written. TensorRT paths run against the fake of test/tensorrt_fake.py.
"""

import dataclasses
import json
import logging
from pathlib import Path

import numpy as np
import onnx
from onnx_fixtures import broken_model, fired_anchor_model
import pytest

from tao_pointpillars_py import cli
from tao_pointpillars_py.errors import ConfigError, ModelLoadError, ModelMetadataError
from tao_pointpillars_py.inference.backends.tensorrt.backend import (build_engine_file,
                                                                     make_calibrator,
                                                                     TensorRTBackend)
from tao_pointpillars_py.inference.backends.tensorrt.calibration_cache import (
    check_calibration_cache)
from tao_pointpillars_py.inference.backends.tensorrt.engine_cache import (check_engine_here,
                                                                          EngineKey, read_key,
                                                                          write_key)
from tao_pointpillars_py.inference.backends.tensorrt.plan import calibration_shapes
from tao_pointpillars_py.inference.detector import Detector
from tao_pointpillars_py.inference.model_file import file_sha256, load_model_info

MODEL_FIX = "copy the complete .onnx file again, or re-export it with `tao-pointpillars export`"
RECALIBRATE = "and calibrate again for this model (`tao-pointpillars build-engine"


#: kind -> (error class, the words of the message after the file name)
MODEL_FAULTS = {
    "missing": (ModelLoadError, "does not exist; set model_path to an ONNX file"),
    "truncated": (ModelLoadError, "is not a readable ONNX model: it is truncated or corrupted"),
    "text": (ModelLoadError, "is not a readable ONNX model: it is a text file (59 bytes, "
                             "starting 'model: pointpillars\\nthis is a text file,'), not a "
                             "binary .onnx"),
    "lfs-pointer": (ModelLoadError, "it is a Git LFS pointer, not the model (run `git lfs pull`"),
    "empty": (ModelLoadError, "is empty (0 bytes)"),
    "directory": (ModelLoadError, "is a directory, not a file; set model_path"),
    "no-metadata": (ModelMetadataError, "lacks the metadata_props class_names, point_cloud_range"),
}


@pytest.fixture(scope="module")
def model_faults(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    return {kind: broken_model(kind, folder) for kind in MODEL_FAULTS}


@pytest.mark.parametrize("kind", sorted(MODEL_FAULTS))
@pytest.mark.parametrize("load", [load_model_info, Detector.from_model],
                         ids=["load_model_info", "Detector.from_model"])
def test_a_bad_model_file_is_one_error_naming_it_and_the_fix(model_faults, kind, load):
    error, words = MODEL_FAULTS[kind]
    path = model_faults[kind]
    with pytest.raises(error) as raised:
        load(str(path))
    message = str(raised.value)
    assert str(path) in message and words in message
    fix = {"missing": "`tao-pointpillars export`", "directory": "`tao-pointpillars export`",
           "no-metadata": "export it with `tao-pointpillars export`"}.get(kind, MODEL_FIX)
    assert fix in message
    assert "\n" not in message.replace("\\n", "")  # one line in the node's log


def test_a_model_that_parses_but_has_no_graph_is_refused(tmp_path):
    path = tmp_path / "graphless.onnx"
    path.write_bytes(onnx.ModelProto(ir_version=8, producer_name="x").SerializeToString())
    with pytest.raises(ModelLoadError, match="is not an ONNX model \\(it has no graph\\); copy"):
        load_model_info(str(path))


# --- TensorRT engines built for another TensorRT or GPU ------------------------------------

KEY = EngineKey(model_sha256="ab" * 32, precision="fp16", tensorrt_version="8.6.1",
                device_name="Orin", compute_capability="8.7")


def test_an_engine_key_of_another_tensorrt_or_gpu_is_refused_with_the_build_command():
    check_engine_here("/e/net.engine", KEY, "8.6.1", "Orin", "8.7")  # this machine: accepted
    with pytest.raises(ConfigError) as raised:
        check_engine_here("/e/net.engine", KEY, "10.3.0", "NVIDIA H100", "9.0")
    assert str(raised.value) == (
        "engine /e/net.engine was built elsewhere (tensorrt_version: '8.6.1' != '10.3.0'; "
        "device_name: 'Orin' != 'NVIDIA H100'; compute_capability: '8.7' != '9.0': engine != "
        "this machine) and TensorRT engines only run where they were built: rebuild it here "
        "with `tao-pointpillars build-engine MODEL.onnx --precision fp16 --out /e/net.engine`, "
        "or load the .onnx model instead (node: clear engine_path) so that the engine cache "
        "builds one")


@pytest.mark.parametrize("sidecar,why", [
    ("foreign", "tensorrt_version: '8.5.3' != '8.6.1'; device_name: 'Xavier' != 'Orin'"),
    ("missing", "no readable key sidecar")])
def test_a_cached_engine_with_a_stale_sidecar_is_rebuilt_from_the_onnx(
        install_fake_tensorrt, tiny_model, tmp_path, caplog, sidecar, why):
    fake_tensorrt = install_fake_tensorrt()
    first = TensorRTBackend(str(tiny_model), engine_cache_dir=tmp_path / "engines")
    key = read_key(first.engine_path)
    if sidecar == "foreign":
        write_key(first.engine_path, dataclasses.replace(key, tensorrt_version="8.5.3",
                                                         device_name="Xavier"))
    else:
        Path(str(first.engine_path) + ".json").unlink()
    with caplog.at_level(logging.WARNING):
        again = TensorRTBackend(str(tiny_model), engine_cache_dir=tmp_path / "engines")
    assert fake_tensorrt.gpu.builds == 2 and again.engine_path == first.engine_path
    assert read_key(again.engine_path) == key
    assert f"cached engine {first.engine_path} is stale ({why}); rebuilding it" in caplog.text


def test_an_engine_path_with_a_foreign_sidecar_is_refused_before_loading(install_fake_tensorrt,
                                                                         tiny_model,
                                                                         tmp_path):
    install_fake_tensorrt()
    engine = tmp_path / "tiny.engine"
    key = build_engine_file(tiny_model, engine, "fp32")
    write_key(engine, dataclasses.replace(key, compute_capability="7.2"))
    with pytest.raises(ConfigError) as raised:
        TensorRTBackend(str(engine))
    message = str(raised.value)
    assert f"engine {engine} was built elsewhere (compute_capability: '7.2' != '8.7'" in message
    assert f"`tao-pointpillars build-engine MODEL.onnx --precision fp32 --out {engine}`" in message


# --- calibration caches of another model ---------------------------------------------------

def fake_calibrated(model, cache, engine):
    """Calibrate ``model`` on three clouds through the fake (writes ``cache`` and its record)."""
    rng = np.random.default_rng(0)
    detector = Detector.from_model(str(model))
    frames = [{k: v.copy() for k, v in detector.model_inputs(np.c_[
        rng.uniform(1, 7, 60), rng.uniform(-3, 3, 60), rng.uniform(-1, 1, 60),
        rng.uniform(0, 255, 60)].astype(np.float32)).items()} for _ in range(3)]
    shapes = calibration_shapes(load_model_info(str(model)))
    return build_engine_file(model, engine, "int8",
                             calibrator=make_calibrator(frames, cache, shapes))


def test_a_new_calibration_cache_records_its_model_and_fits_it(install_fake_tensorrt, tiny_model,
                                                               tmp_path):
    install_fake_tensorrt()
    cache = tmp_path / "tiny.calib"
    fake_calibrated(tiny_model, cache, tmp_path / "tiny.engine")
    record = json.loads(Path(str(cache) + ".json").read_text())
    assert record == {"model": "tiny.onnx", "model_sha256": file_sha256(tiny_model)}
    parsed = check_calibration_cache(cache, tiny_model)
    assert parsed.algorithm == "EntropyCalibration2"
    assert parsed.tensors == ("pillar_features", "pillar_coords", "num_pillars")


def test_a_calibration_cache_of_another_model_is_refused_before_building(install_fake_tensorrt,
                                                                         tiny_model,
                                                                         tmp_path, capsys):
    fake_tensorrt = install_fake_tensorrt()
    cache = tmp_path / "tiny.calib"
    fake_calibrated(tiny_model, cache, tmp_path / "tiny.engine")
    other = tmp_path / "retrained.onnx"  # same tensor names, other weights
    fired_anchor_model(other, pillar_axis="pillars", logit=3.0)
    builds = fake_tensorrt.gpu.builds
    with pytest.raises(ConfigError) as raised:
        TensorRTBackend(str(other), precision="int8", calibration_cache=str(cache),
                        engine_cache_dir=tmp_path / "engines")
    message = str(raised.value)
    assert f"calibration cache {cache} was made for another model ('tiny.onnx', sha256 " in message
    assert (f"than {other} (its record {cache}.json says so); delete {cache} "
            f"{RECALIBRATE}") in message
    assert cli.main(["build-engine", str(other), "--precision", "int8", "--calib-cache",
                     str(cache), "--out", str(tmp_path / "other.engine")]) == 2
    assert f"calibration cache {cache} was made for another model" in capsys.readouterr().err
    assert fake_tensorrt.gpu.builds == builds


def test_a_calibration_cache_with_another_models_tensors_is_refused(install_fake_tensorrt,
                                                                    tiny_model, tmp_path):
    fake_tensorrt = install_fake_tensorrt()
    cache = tmp_path / "tao.calib"  # a TAO model's cache (raw points in), without a record
    cache.write_text("TRT-8601-EntropyCalibration2\npoints: 3c010a14\nnum_points: 3f800000\n"
                     "voxels: 3c8d2b1a\n(Unnamed Layer* 3) [Shuffle]_output: 3d0a3d71\n")
    with pytest.raises(ConfigError) as raised:
        TensorRTBackend(str(tiny_model), precision="int8", calibration_cache=str(cache),
                        engine_cache_dir=tmp_path / "engines")
    assert str(raised.value).startswith(
        f"calibration cache {cache} does not match the model {tiny_model}: it has no scale for "
        "the model's input(s) ['pillar_features']; 3 of its 3 tensor names are not tensors of "
        f"the model (e.g. ['points', 'num_points', 'voxels']); delete {cache} {RECALIBRATE} "
        f"{tiny_model} "
        f"--precision int8 --calib-bag BAG --calib-cache {cache}`)")
    assert fake_tensorrt.gpu.builds == 0


# --- engine cache directory that cannot be written -----------------------------------------

def test_the_default_engine_cache_dir_names_xdg_cache_home(install_fake_tensorrt, tiny_model,
                                                           tmp_path,
                                                           monkeypatch):
    fake_tensorrt = install_fake_tensorrt()
    (tmp_path / "a-file").write_text("not a directory")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "a-file"))
    with pytest.raises(ConfigError) as raised:
        TensorRTBackend(str(tiny_model))  # no engine_cache_dir: $XDG_CACHE_HOME/tao_pointpillars
    message = str(raised.value)
    folder = tmp_path / "a-file" / "tao_pointpillars" / "engines"
    assert message.startswith(f"engine cache directory {folder} is not writable (")
    assert (f"set the environment variable XDG_CACHE_HOME (now '{tmp_path / 'a-file'}') to a "
            "writable directory; the engines go to $XDG_CACHE_HOME/tao_pointpillars/engines, "
            "or load an engine prebuilt with `tao-pointpillars build-engine") in message
    assert fake_tensorrt.gpu.builds == 0
