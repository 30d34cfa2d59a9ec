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
The TensorRT backend and ``build-engine`` against a fake of the TensorRT / pycuda API.

The fake (tensorrt_fake.py) has only the documented names, so a misspelt or removed call
fails here; its engines run their ONNX model with ONNX Runtime on the fake device memory, so
results through the backend are compared with the ONNX Runtime backend for real. Nothing here
proves the code right on a GPU.
"""

import importlib
import json
from pathlib import Path
import sys
import threading

import numpy as np
import onnx
from onnx import helper
from onnx_fixtures import fired_anchor_model, REFERENCE_MODEL
import pytest

from tao_pointpillars_py import cli
from tao_pointpillars_py.data.bags import write_cloud_bag
from tao_pointpillars_py.errors import ConfigError, ModelLoadError
from tao_pointpillars_py.inference.backends import create_backend, tensorrt_available
from tao_pointpillars_py.inference.backends.onnxruntime_backend import OnnxRuntimeBackend
from tao_pointpillars_py.inference.backends.tensorrt.backend import (build_engine,
                                                                     build_engine_file,
                                                                     cuda_context, make_calibrator,
                                                                     strongly_typed_only,
                                                                     TensorRTBackend)
from tao_pointpillars_py.inference.backends.tensorrt.engine_cache import read_key
from tao_pointpillars_py.inference.backends.tensorrt.plan import calibration_shapes, pad_to_shape
from tao_pointpillars_py.inference.detector import Detector
from tao_pointpillars_py.inference.model_file import file_sha256, load_model_info
from tensorrt_fake import remove_gpu_stack
from tensorrt_models import clouds, model_inputs, qdq_model


@pytest.fixture
def qdq(tmp_path):
    return qdq_model(tmp_path / "tiny.int8.onnx")


def assert_same_outputs(got, expected, tolerance=1e-5):
    assert set(got) == set(expected)
    for name in expected:
        assert got[name].shape == expected[name].shape and got[name].dtype == expected[name].dtype
        np.testing.assert_allclose(got[name], expected[name], rtol=tolerance, atol=tolerance)


# --- pure helpers --------------------------------------------------------------------------

def test_the_module_imports_without_tensorrt_or_pycuda(monkeypatch):
    remove_gpu_stack(monkeypatch)
    monkeypatch.delitem(sys.modules, "tao_pointpillars_py.inference.backends.tensorrt.backend")
    module = importlib.import_module("tao_pointpillars_py.inference.backends.tensorrt.backend")
    assert module.pad_to_shape(np.ones((1, 2)), (1, 3)).tolist() == [[1.0, 1.0, 0.0]]


# --- the fake itself -------------------------------------------------------------------------

def test_the_fake_refuses_names_outside_the_documented_api(fake_tensorrt):
    trt, driver = fake_tensorrt.trt, fake_tensorrt.modules["pycuda.driver"]
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    config = builder.create_builder_config()
    for missing in (lambda: builder.build_engine, lambda: builder.max_batch_size,
                    lambda: driver.mem_alloc_pitch, lambda: trt.Runtime(logger).num_bindings):
        with pytest.raises(AttributeError):
            missing()
    with pytest.raises(AttributeError):
        config.max_workspace_size = 1 << 30  # removed in TensorRT 10


def test_the_fake_converts_arguments_as_the_real_bindings_do(fake_tensorrt):
    """What test_tensorrt_bindings.py found the real 8.6 / 10.x / 11 bindings to do."""
    trt = fake_tensorrt.trt
    logger = trt.Logger(trt.Logger.WARNING)
    assert trt.Logger.WARNING is trt.ILogger.Severity.WARNING and logger.min_severity.name == \
        "WARNING"
    assert not isinstance(trt.BuilderFlag.FP16, int) and int(trt.BuilderFlag.INT8) == 1
    builder = trt.Builder(logger)
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))
    config = builder.create_builder_config()
    profile = builder.create_optimization_profile()
    profile.set_shape(input="x", min=(1, 1), opt=(1, 4), max=(1, 4))
    config.set_flag(trt.BuilderFlag.FP16)
    config.set_flag(trt.BuilderFlag.INT8)
    assert config.flags == 0b11  # an int bitmask, 1 << flag
    for wrong in (lambda: trt.Logger(2), lambda: trt.Builder(object()),
                  lambda: trt.Runtime(None), lambda: trt.OnnxParser(network, "logger"),
                  lambda: trt.init_libnvinfer_plugins(object(), ""),
                  lambda: profile.set_shape(name="x", low=(1,), opt=(1,), high=(1,)),
                  lambda: config.set_flag(0), lambda: setattr(config, "flags", {"FP16"}),
                  lambda: config.set_timing_cache(config.create_timing_cache(b""), ignore=False),
                  lambda: trt.ICudaEngine()):
        with pytest.raises(TypeError, match="incompatible|No constructor defined"):
            wrong()

    class Forgetful(trt.IInt8EntropyCalibrator2):

        def __init__(self):
            self.cache = None  # without IInt8EntropyCalibrator2.__init__(self)

    with pytest.raises(TypeError, match="IInt8EntropyCalibrator2.__init__.. must be called"):
        Forgetful()


def test_the_fake_records_what_the_code_uses(fake_tensorrt, tiny_model):
    build_engine(tiny_model, "fp16")
    uses = {(use.owner, use.name, use.kind) for use in fake_tensorrt.gpu.uses}
    assert {("tensorrt", "Builder", "class"), ("Builder", "__init__", "constructor"),
            ("BuilderFlag", "FP16", "constant"), ("IBuilderConfig", "set_flag", "method"),
            ("IOptimizationProfile", "set_shape", "method"),
            ("OnnxParser", "parse", "method")} <= uses
    assert ("IInt8EntropyCalibrator2", "get_batch", "callback") not in uses
    assert not any(use.owner == "Dims" for use in fake_tensorrt.gpu.uses)  # the fake's own reads


def test_execute_without_a_current_cuda_context_returns_false_and_logs(fake_tensorrt, tiny_model,
                                                                       capsys):
    trt = fake_tensorrt.trt
    runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
    engine = runtime.deserialize_cuda_engine(build_engine(tiny_model, "fp32"))
    context = engine.create_execution_context()
    assert context.execute_async_v3(0) is False
    assert "enqueueV3: Error Code 1" in capsys.readouterr().err


def test_fake_tensorrt_11_lacks_the_removed_names(install_fake_tensorrt):
    trt = install_fake_tensorrt(version="11.0.0").trt
    config = trt.Builder(trt.Logger()).create_builder_config()
    assert strongly_typed_only(trt)
    for missing in (lambda: trt.BuilderFlag.FP16, lambda: trt.IInt8EntropyCalibrator2,
                    lambda: trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH,
                    lambda: config.set_calibration_profile):
        with pytest.raises(AttributeError):
            missing()
    with pytest.raises(AttributeError):
        config.int8_calibrator = object()


# --- build, serialize, deserialize, infer ---------------------------------------------------

def test_reference_model_through_tensorrt_equals_onnxruntime(fake_tensorrt, tmp_path):
    backend = TensorRTBackend(str(REFERENCE_MODEL), precision="fp16",
                              engine_cache_dir=tmp_path / "engines")
    reference = OnnxRuntimeBackend(str(REFERENCE_MODEL))
    assert backend.name == "tensorrt" and fake_tensorrt.gpu.last_flags == {"FP16"}
    assert backend.input_names == reference.input_names
    assert backend.output_names == reference.output_names
    frames = model_inputs(REFERENCE_MODEL, 2, n=3000, x=(0, 40), y=(-25, 25))
    assert frames[0]["pillar_features"].shape[1] != frames[1]["pillar_features"].shape[1]
    for frame in frames:
        assert_same_outputs(backend.infer(frame), reference.infer(frame), 1e-4)
    assert fake_tensorrt.gpu.executed_shapes == [{k: v.shape for k, v in f.items()}
                                                 for f in frames]
    # implicit int8 calibrates on frames zero-padded to max_pillars: the same outputs
    shapes = calibration_shapes(load_model_info(str(REFERENCE_MODEL)))
    padded = {name: pad_to_shape(value, shapes[name]) for name, value in frames[0].items()}
    assert padded["pillar_features"].shape == (1, 12000, 32, 10)
    assert_same_outputs(backend.infer(padded), reference.infer(frames[0]), 1e-4)
    key = read_key(backend.engine_path)
    assert backend.engine_path.parent == tmp_path / "engines"
    assert (key.model_sha256, key.precision, key.tensorrt_version, key.device_name,
            key.compute_capability) == (file_sha256(REFERENCE_MODEL), "fp16", "8.6.1", "Orin",
                                        "8.7")


def test_detections_through_tensorrt_equal_onnxruntime(fake_tensorrt, tiny_model, tmp_path):
    info = load_model_info(str(tiny_model))
    backend = create_backend("tensorrt", str(tiny_model), engine_cache_dir=tmp_path)
    on_gpu = Detector(info.config, backend, dynamic_pillars=True)
    on_cpu = Detector.from_model(str(tiny_model))
    for cloud in clouds(3):
        got, expected = on_gpu.detect(cloud), on_cpu.detect(cloud)
        assert len(got) == len(expected) == 1
        np.testing.assert_allclose(got.boxes, expected.boxes)
        np.testing.assert_allclose(got.scores, expected.scores)


def test_infer_works_from_another_thread_and_leaves_no_context_current(fake_tensorrt, tiny_model,
                                                                       tmp_path):
    backend = TensorRTBackend(str(tiny_model), engine_cache_dir=tmp_path)
    frame = model_inputs(tiny_model, 1)[0]
    results = {}
    worker = threading.Thread(target=lambda: results.update(
        outputs=backend.infer(frame), stack=list(fake_tensorrt.gpu.stack())))
    worker.start()
    worker.join()
    assert_same_outputs(results["outputs"], OnnxRuntimeBackend(str(tiny_model)).infer(frame))
    assert results["stack"] == [] and fake_tensorrt.gpu.stack() == []


def test_infer_refuses_inputs_outside_the_engine_shapes(fake_tensorrt, tiny_model, tmp_path):
    backend = TensorRTBackend(str(tiny_model), engine_cache_dir=tmp_path)
    frame = model_inputs(tiny_model, 1)[0]
    too_many = dict(frame, pillar_features=np.zeros((1, 65, 8, 10), np.float32),
                    pillar_coords=np.zeros((1, 65, 2), np.int32))
    with pytest.raises(ModelLoadError, match=r"pillar_features has shape \(1, 65, 8, 10\)"):
        backend.infer(too_many)
    with pytest.raises(ModelLoadError, match="num_pillars is missing"):
        backend.infer({k: v for k, v in frame.items() if k != "num_pillars"})


def test_parser_errors_are_reported_with_the_node(fake_tensorrt, tiny_model):
    model = onnx.load(str(tiny_model))
    model.graph.node.append(helper.make_node("Mystery", ["num_pillars"], ["unused"],
                                             name="odd", domain="com.example"))
    onnx.save(model, str(tiny_model))
    with pytest.raises(ModelLoadError, match=r"parser rejected .*tiny.onnx(.|\n)*Mystery"):
        build_engine(tiny_model, "fp32")


def test_a_failed_build_is_a_clear_error(fake_tensorrt, tiny_model, monkeypatch):
    monkeypatch.setattr(fake_tensorrt.trt.Builder, "build_serialized_network", lambda *args: None)
    with pytest.raises(ModelLoadError, match="could not build a fp32 engine .*TensorRT log"):
        build_engine(tiny_model, "fp32")


# --- engine cache and engine files -----------------------------------------------------------

@pytest.mark.parametrize("change,field", [
    ("model", "model_sha256"), ("precision", "precision"),
    ("version", "tensorrt_version"), ("name", "device_name"),
    ("capability", "compute_capability")])
def test_engine_cache_loads_a_matching_engine_and_rebuilds_on_any_key_change(
        change, field, install_fake_tensorrt, tiny_model, tmp_path):
    fake_tensorrt = install_fake_tensorrt()
    first = TensorRTBackend(str(tiny_model), engine_cache_dir=tmp_path / "engines")
    again = TensorRTBackend(str(tiny_model), engine_cache_dir=tmp_path / "engines")
    assert fake_tensorrt.gpu.builds == 1 and again.engine_path == first.engine_path
    precision = "fp16" if change == "precision" else "fp32"
    if change == "model":
        fired_anchor_model(tiny_model, pillar_axis="pillars", logit=3.0)
    elif change in ("version", "name", "capability"):
        fake_tensorrt = install_fake_tensorrt(**{change: {
            "version": "10.3.0", "name": "NVIDIA H100", "capability": (9, 0)}[change]})
    changed = TensorRTBackend(str(tiny_model), precision=precision,
                              engine_cache_dir=tmp_path / "engines")
    assert fake_tensorrt.gpu.builds == (2 if change in ("model", "precision") else 1)
    assert changed.engine_path != first.engine_path
    differences = read_key(first.engine_path).differences(read_key(changed.engine_path))
    assert [d.split(":")[0] for d in differences] == [field]
    frame = model_inputs(tiny_model, 1)[0]
    assert_same_outputs(changed.infer(frame), OnnxRuntimeBackend(str(tiny_model)).infer(frame))


def test_a_cached_engine_that_does_not_load_is_rebuilt(fake_tensorrt, tiny_model, tmp_path):
    first = TensorRTBackend(str(tiny_model), engine_cache_dir=tmp_path)
    first.engine_path.write_bytes(b"truncated")
    again = TensorRTBackend(str(tiny_model), engine_cache_dir=tmp_path)
    assert fake_tensorrt.gpu.builds == 2 and again.engine_path == first.engine_path
    frame = model_inputs(tiny_model, 1)[0]
    assert_same_outputs(again.infer(frame), OnnxRuntimeBackend(str(tiny_model)).infer(frame))


def test_an_unwritable_cache_directory_is_named(fake_tensorrt, tiny_model, tmp_path):
    (tmp_path / "a-file").write_text("not a directory")
    folder = tmp_path / "a-file" / "engines"
    with pytest.raises(ConfigError, match=f"engine cache directory {folder} is not writable"):
        TensorRTBackend(str(tiny_model), engine_cache_dir=folder)


def test_an_engine_file_loads_directly_and_is_refused_elsewhere(install_fake_tensorrt, tiny_model,
                                                                tmp_path):
    install_fake_tensorrt()
    engine = tmp_path / "tiny.engine"
    key = build_engine_file(tiny_model, engine, "fp16")
    assert read_key(engine) == key and key.precision == "fp16"
    frame = model_inputs(tiny_model, 1)[0]
    assert_same_outputs(TensorRTBackend(str(engine)).infer(frame),
                        OnnxRuntimeBackend(str(tiny_model)).infer(frame))
    install_fake_tensorrt(version="10.3.0")
    with pytest.raises(ConfigError) as error:
        TensorRTBackend(str(engine))
    message = str(error.value)
    assert str(engine) in message and "'8.6.1' != '10.3.0'" in message
    assert "tao-pointpillars build-engine" in message
    install_fake_tensorrt(name="Jetson AGX Thor")
    with pytest.raises(ConfigError, match="device_name: 'Orin' != 'Jetson AGX Thor'"):
        TensorRTBackend(str(engine))


def test_an_unloadable_engine_file_without_sidecar_is_a_clear_error(install_fake_tensorrt,
                                                                    tiny_model, tmp_path):
    install_fake_tensorrt()
    engine = tmp_path / "tiny.plan"
    build_engine_file(tiny_model, engine, "fp32")
    Path(str(engine) + ".json").unlink()
    install_fake_tensorrt(version="10.3.0")
    with pytest.raises(ModelLoadError, match=f"cannot load {engine}"):
        TensorRTBackend(str(engine))
    with pytest.raises(ModelLoadError, match="does not exist"):
        TensorRTBackend(str(tmp_path / "missing.engine"))


def test_timing_cache_is_reused_and_a_foreign_one_replaced(install_fake_tensorrt, tiny_model,
                                                           tmp_path):
    install_fake_tensorrt()
    cache = tmp_path / "timing.cache"
    build_engine(tiny_model, "fp32", timing_cache_path=cache)
    build_engine(tiny_model, "fp32", timing_cache_path=cache)
    assert json.loads(cache.read_bytes())["entries"] == 2
    install_fake_tensorrt(name="NVIDIA H100")
    build_engine(tiny_model, "fp32", timing_cache_path=cache)
    assert json.loads(cache.read_bytes()) == {"magic": "fake-timing-cache",
                                              "device": "NVIDIA H100", "entries": 1}
    cache.write_bytes(b"garbage")
    build_engine(tiny_model, "fp32", timing_cache_path=cache)
    assert json.loads(cache.read_bytes())["entries"] == 1


# --- int8 ------------------------------------------------------------------------------------

def test_explicit_int8_needs_no_calibrator(fake_tensorrt, qdq, tmp_path):
    backend = TensorRTBackend(str(qdq), precision="int8", engine_cache_dir=tmp_path)
    assert fake_tensorrt.gpu.last_flags == {"INT8"} and fake_tensorrt.gpu.calibration_batches == []
    assert read_key(backend.engine_path).calibration_sha256 == ""
    frame = model_inputs(qdq, 1)[0]
    assert_same_outputs(backend.infer(frame), OnnxRuntimeBackend(str(qdq)).infer(frame))
    with pytest.raises(ConfigError, match="QuantizeLinear/DequantizeLinear"):
        TensorRTBackend(str(qdq), precision="fp16", engine_cache_dir=tmp_path)


def test_calibrator_callbacks_hand_tensorrt_the_padded_frames(fake_tensorrt, tiny_model, tmp_path):
    frames = model_inputs(tiny_model, 3)
    shapes = calibration_shapes(load_model_info(str(tiny_model)))
    cache = tmp_path / "calib" / "tiny.calib"
    calibrator = make_calibrator(frames, cache, shapes)
    names = ["num_pillars", "pillar_coords", "pillar_features"]  # TensorRT's order
    assert calibrator.get_batch_size() == 1
    assert calibrator.read_calibration_cache() is None
    with cuda_context():
        for frame in frames:
            pointers = calibrator.get_batch(names)
            for name, pointer in zip(names, pointers):
                on_device = fake_tensorrt.gpu.read(pointer, shapes[name], frame[name].dtype)
                np.testing.assert_array_equal(on_device, pad_to_shape(frame[name],
                                                                      shapes[name]))
        assert calibrator.get_batch(names) is None
    calibrator.write_calibration_cache(memoryview(b"TRT-8601-EntropyCalibration2\nscales\n"))
    assert calibrator.errors == []
    reader = make_calibrator([], cache, shapes)
    assert reader.read_calibration_cache() == b"TRT-8601-EntropyCalibration2\nscales\n"
    assert reader.get_batch(names) is None and reader.errors == []


def test_calibrator_exceptions_are_counted_not_raised(fake_tensorrt, tiny_model, tmp_path):
    frames = model_inputs(tiny_model, 1)
    shapes = calibration_shapes(load_model_info(str(tiny_model)))
    broken = make_calibrator([{"pillar_features": frames[0]["pillar_features"]}], None, shapes)
    with cuda_context():
        assert broken.get_batch(["pillar_features", "num_pillars"]) is None
    no_context = make_calibrator(frames, None, shapes)
    assert no_context.get_batch(["pillar_features"]) is None
    (tmp_path / "a-directory").mkdir()
    unwritable = make_calibrator(frames, tmp_path / "a-directory", shapes)
    unwritable.write_calibration_cache(b"scales")
    assert not list(tmp_path.glob("*.partial"))
    assert "no input 'num_pillars'" in broken.errors[0]
    assert "invalid device context" in no_context.errors[0]
    assert unwritable.errors[0].startswith("write_calibration_cache: ")


def test_implicit_int8_calibrates_once_then_builds_from_the_cache(fake_tensorrt, tiny_model,
                                                                  tmp_path):
    frames = model_inputs(tiny_model, 3)
    shapes = calibration_shapes(load_model_info(str(tiny_model)))
    cache = tmp_path / "tiny.calib"
    key = build_engine_file(tiny_model, tmp_path / "tiny.engine", "int8",
                            calibrator=make_calibrator(frames, cache, shapes))
    assert fake_tensorrt.gpu.last_flags == {"INT8"}
    assert key.calibration_sha256 == file_sha256(cache)
    assert len(fake_tensorrt.gpu.calibration_batches) == 3
    for batch, frame in zip(fake_tensorrt.gpu.calibration_batches, frames):
        for name in frame:
            np.testing.assert_array_equal(batch[name], pad_to_shape(frame[name], shapes[name]))
    amax = max(float(np.abs(f["pillar_features"]).max()) for f in frames)
    assert f"pillar_features: {amax:.6g}" in cache.read_text()
    fake_tensorrt.gpu.calibration_batches = []
    backend = TensorRTBackend(str(tiny_model), precision="int8", calibration_cache=str(cache),
                              engine_cache_dir=tmp_path / "engines")
    assert fake_tensorrt.gpu.builds == 2 and fake_tensorrt.gpu.calibration_batches == []
    assert read_key(backend.engine_path).calibration_sha256 == file_sha256(cache)
    frame = model_inputs(tiny_model, 1, seed=5)[0]
    assert_same_outputs(backend.infer(frame), OnnxRuntimeBackend(str(tiny_model)).infer(frame))
    with pytest.raises(ConfigError, match="needs an existing calibration cache"):
        TensorRTBackend(str(tiny_model), precision="int8", engine_cache_dir=tmp_path / "engines")


def test_a_calibrator_failure_fails_the_build(fake_tensorrt, tiny_model, tmp_path):
    frames = model_inputs(tiny_model, 2)
    shapes = calibration_shapes(load_model_info(str(tiny_model)))
    partial = [{"pillar_features": f["pillar_features"]} for f in frames]
    with pytest.raises(ModelLoadError, match="int8 calibrator: get_batch: .*no input"):
        build_engine(tiny_model, "int8", calibrator=make_calibrator(partial, None, shapes))
    (tmp_path / "a-directory").mkdir()
    unwritable = make_calibrator(frames, tmp_path / "a-directory", shapes)
    with pytest.raises(ModelLoadError, match="write_calibration_cache"):
        build_engine(tiny_model, "int8", calibrator=unwritable)
    with pytest.raises(ConfigError, match="needs a calibrator"):
        build_engine(tiny_model, "int8")


def test_tensorrt_11_builds_fp32_and_qdq_int8_without_flags_and_refuses_the_rest(
        install_fake_tensorrt, tiny_model, qdq, tmp_path):
    fake_tensorrt = install_fake_tensorrt(version="11.0.0")
    for model, precision in ((tiny_model, "fp32"), (qdq, "int8")):
        backend = TensorRTBackend(str(model), precision=precision, engine_cache_dir=tmp_path)
        assert fake_tensorrt.gpu.last_flags == set()
        frame = model_inputs(model, 1)[0]
        assert_same_outputs(backend.infer(frame), OnnxRuntimeBackend(str(model)).infer(frame))
    with pytest.raises(ConfigError, match="TensorRT 11.0.0 .*fp16 .*tensorrt<11"):
        TensorRTBackend(str(tiny_model), precision="fp16", engine_cache_dir=tmp_path)
    cache = tmp_path / "tiny.calib"
    cache.write_bytes(b"TRT-8601-EntropyCalibration2\n")
    with pytest.raises(ConfigError, match="removed implicit int8 calibration"):
        TensorRTBackend(str(tiny_model), precision="int8", calibration_cache=str(cache),
                        engine_cache_dir=tmp_path)
    assert fake_tensorrt.gpu.builds == 2


# --- tao-pointpillars build-engine -----------------------------------------------------------

def test_cli_builds_an_engine_with_its_key(fake_tensorrt, tiny_model, tmp_path):
    out = tmp_path / "tiny.fp16.engine"
    assert cli.main(["build-engine", str(tiny_model), "--precision", "fp16", "--out", str(out),
                     "--timing-cache", str(tmp_path / "timing.cache")]) == 0
    assert read_key(out).precision == "fp16" and (tmp_path / "timing.cache").is_file()
    frame = model_inputs(tiny_model, 1)[0]
    assert_same_outputs(TensorRTBackend(str(out)).infer(frame),
                        OnnxRuntimeBackend(str(tiny_model)).infer(frame))


def test_cli_implicit_int8_draws_frames_from_bags_then_reuses_the_cache(fake_tensorrt, tiny_model,
                                                                        tmp_path):
    frames = [(10**18 + i * 100_000_000, c) for i, c in enumerate(clouds(6, seed=3))]
    write_cloud_bag(tmp_path / "bag", frames)
    out, cache = tmp_path / "tiny.int8.engine", tmp_path / "tiny.calib"
    assert cli.main(["build-engine", str(tiny_model), "--precision", "int8", "--out", str(out),
                     "--calib-bag", str(tmp_path / "bag"), "--calib-frames", "4",
                     "--calib-cache", str(cache)]) == 0
    detector = Detector.from_model(str(tiny_model))
    shapes = calibration_shapes(load_model_info(str(tiny_model)))
    chosen = [frames[i][1] for i in (0, 2, 3, 5)]  # spread_indices(6, 4)
    assert len(fake_tensorrt.gpu.calibration_batches) == 4
    for batch, points in zip(fake_tensorrt.gpu.calibration_batches, chosen):
        expected = detector.model_inputs(points)
        for name in expected:
            np.testing.assert_array_equal(batch[name], pad_to_shape(expected[name],
                                                                    shapes[name]))
    assert read_key(out).calibration_sha256 == file_sha256(cache)
    fake_tensorrt.gpu.calibration_batches = []
    assert cli.main(["build-engine", str(tiny_model), "--precision", "int8", "--out", str(out),
                     "--calib-cache", str(cache)]) == 0
    assert fake_tensorrt.gpu.calibration_batches == [] and fake_tensorrt.gpu.builds == 2


def test_cli_explicit_int8_needs_no_calibration(fake_tensorrt, qdq, tmp_path):
    out = tmp_path / "tiny.int8.plan"
    assert cli.main(["build-engine", str(qdq), "--precision", "int8", "--out", str(out)]) == 0
    assert fake_tensorrt.gpu.last_flags == {"INT8"} and fake_tensorrt.gpu.calibration_batches == []


@pytest.mark.parametrize("args,out_name,message", [
    (["--precision", "int8"], "tiny.engine", "needs calibration: pass --calib-bag"),
    ([], "tiny.trt", "must end in .engine or .plan"),
    (["--workspace-mb", "0"], "tiny.engine", "--workspace-mb"),
    (["--precision", "fp16", "--calib-frames", "0"], "tiny.engine", "--calib-frames"),
])
def test_cli_says_what_is_wrong(fake_tensorrt, tiny_model, tmp_path, capsys, args, out_name,
                                message):
    assert cli.main(["build-engine", str(tiny_model), *args, "--out",
                     str(tmp_path / out_name)]) == 2
    assert message in capsys.readouterr().err
    assert fake_tensorrt.gpu.builds == 0


def test_cli_on_tensorrt_11_refuses_implicit_int8_first(
        install_fake_tensorrt, tiny_model, tmp_path, capsys):
    install_fake_tensorrt(version="11.0.0")
    assert cli.main(["build-engine", str(tiny_model), "--precision", "int8", "--out",
                     str(tmp_path / "tiny.engine"), "--calib-bag", str(tmp_path / "none")]) == 2
    assert "removed implicit int8 calibration" in capsys.readouterr().err


def test_without_tensorrt_build_engine_says_what_it_needs(monkeypatch, install_fake_tensorrt,
                                                          tiny_model,
                                                          tmp_path, capsys):
    install_fake_tensorrt(count=0)
    assert not tensorrt_available()
    install_fake_tensorrt()
    assert tensorrt_available()
    remove_gpu_stack(monkeypatch)
    assert not tensorrt_available()
    assert cli.main(["build-engine", str(tiny_model), "--out", str(tmp_path / "tiny.engine")]) == 2
    assert "build-engine needs TensorRT and pycuda" in capsys.readouterr().err
    assert not (tmp_path / "tiny.engine").exists()
