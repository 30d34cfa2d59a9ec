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
The TensorRT backend with TAO-layout models, on the fake TensorRT of 8.6, 10.x and 11.

The TAO-layout model is the reference model put in TAO's layout by ``export_tao`` (the three
TensorRT OSS plugins around its network). On 8.6 / 10.x the fake registers the plugins'
creators in ``init_libnvinfer_plugins``, its parser imports the plugin nodes only through them,
and its engines run them with the numpy references of test/tao_plugins.py; on 11, or where a
creator is missing, the backend must convert the model as ``import-tao`` does and build that.
Each step is asserted on what the fake saw; the detections through the fake are compared with
the native model's on ONNX Runtime. What a real GPU does is not checked here.
"""

import logging
from pathlib import Path

import numpy as np
import onnx
from onnx_fixtures import REFERENCE_MODEL
import pytest

from tao_pointpillars_py.errors import ConfigError, ModelLoadError
from tao_pointpillars_py.inference.backends.tensorrt.backend import (build_engine,
                                                                     build_engine_file,
                                                                     build_route,
                                                                     TensorRTBackend)
from tao_pointpillars_py.inference.backends.tensorrt.engine_cache import read_key
from tao_pointpillars_py.inference.backends.tensorrt.plan import TAO_PLUGINS_DEPRECATION
from tao_pointpillars_py.inference.detector import Detector
from tao_pointpillars_py.inference.model_file import file_sha256, ModelContract
from tao_pointpillars_py.inference.tao_layout import (DECODE_BBOX_3D, DEFAULT_MAX_POINTS,
                                                      export_tao, has_tao_plugins, PLUGIN_OPS,
                                                      VOXEL_GENERATOR)
from tao_pointpillars_py.sim.frame import simulate_frame

WITH_PLUGINS = ("8.6.1", "10.3.0", "10.13.0.35")
STRONGLY_TYPED = "11.4.0.106"
#: the registry call each version answers (8.x has no get_creator; 11 no get_plugin_creator)
LOOKUP = {"8.6.1": "get_plugin_creator", "10.3.0": "get_creator", "10.13.0.35": "get_creator"}
CLOUDS = 5
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def tao_model(tmp_path_factory) -> Path:
    """Write the reference model in TAO's layout (points [1, 204800, 4] in, plugins inside)."""
    path = tmp_path_factory.mktemp("tao") / "zvision.tao.onnx"
    onnx.save(export_tao(onnx.load(str(REFERENCE_MODEL))), str(path))
    return path


def with_point_axes(source: Path, target: Path, points_axis: int | str) -> Path:
    """Write ``source`` with a "batch" axis (as TAO exports) and the given points axis."""
    model = onnx.load(str(source))
    for tensor in model.graph.input:
        dims = tensor.type.tensor_type.shape.dim
        dims[0].dim_param = "batch"
        if tensor.name == "points":
            if isinstance(points_axis, str):
                dims[1].dim_param = points_axis
            else:
                dims[1].dim_value = points_axis
    onnx.save(model, str(target))
    return target


def calls(fakes, name):
    """List the uses of the fake named ``name`` (in first-use order)."""
    return [use for use in fakes.gpu.uses if use.name == name]


def position(fakes, owner, name):
    """Give the index of the first use of ``owner.name`` among all uses of the fake."""
    return next(i for i, use in enumerate(fakes.gpu.uses)
                if (use.owner, use.name) == (owner, name))


def converted_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.import-tao.*.onnx"))


# --- building with the plugins (8.6, 10.x) ---------------------------------------------------

@pytest.mark.parametrize("version", WITH_PLUGINS)
def test_tao_model_builds_with_its_plugins(version, install_fake_tensorrt, tao_model, tmp_path,
                                           caplog):
    fakes = install_fake_tensorrt(version=version)
    caplog.set_level(logging.WARNING)
    backend = TensorRTBackend(str(tao_model), engine_cache_dir=tmp_path)
    # the registry was asked for every creator with this version's call, after registering
    lookups = calls(fakes, LOOKUP[version])
    assert [use.args for use in lookups] == [
        (("str", name), ("str", "1"), ("str", "")) for name in PLUGIN_OPS]
    registered = position(fakes, "tensorrt", "init_libnvinfer_plugins")
    assert registered < position(fakes, "IPluginRegistry", LOOKUP[version])
    assert registered < position(fakes, "OnnxParser", "parse")
    # the parser imported the three plugin nodes through their creators
    assert fakes.gpu.plugin_layers == [(op, f"{op}_0") for op in PLUGIN_OPS]
    assert {key[0] for key in fakes.gpu.plugin_creators} == set(PLUGIN_OPS)
    # keyed as a native model: on the file's own bytes; nothing converted, nothing said
    assert read_key(backend.engine_path).model_sha256 == file_sha256(tao_model)
    assert converted_files(tmp_path) == [] and backend.describe() == ""
    assert "import-tao" not in caplog.text
    assert_bound_as_tao(fakes, backend)


def assert_bound_as_tao(fakes, backend):
    """Check points [1, 204800, 4] float32 and num_points [1] int32 at the engine and backend."""
    trt = fakes.trt
    engine = trt.Runtime(trt.Logger(trt.Logger.WARNING)).deserialize_cuda_engine(
        backend.engine_path.read_bytes())
    io = {engine.get_tensor_name(i): engine.get_tensor_mode(engine.get_tensor_name(i))
          for i in range(engine.num_io_tensors)}
    assert io == {"points": trt.TensorIOMode.INPUT, "num_points": trt.TensorIOMode.INPUT,
                  "output_boxes": trt.TensorIOMode.OUTPUT,
                  "num_boxes": trt.TensorIOMode.OUTPUT}
    assert tuple(engine.get_tensor_shape("points")) == (1, DEFAULT_MAX_POINTS, 4)
    assert tuple(engine.get_tensor_shape("num_points")) == (1,)
    assert engine.get_tensor_dtype("points") == trt.float32
    assert engine.get_tensor_dtype("num_points") == trt.int32
    assert engine.get_tensor_dtype("num_boxes") == trt.int32
    assert backend.input_names == ("points", "num_points")
    assert backend.input_shapes == {"points": (1, DEFAULT_MAX_POINTS, 4), "num_points": (1,)}


def test_the_parser_imports_plugin_nodes_only_after_init_libnvinfer_plugins(
        install_fake_tensorrt, tao_model):
    """The real parser's message of each version (8.6: no node name; 10.x: name and op)."""
    data = tao_model.read_bytes()
    for version, expected in (
            ("8.6.1", 'In node 0 (importFallbackPluginImporter): UNSUPPORTED_NODE: Assertion '
                      'failed: creator && "Plugin not found, are the plugin name, version, and '
                      'namespace correct?"'),
            ("10.13.0.35", "In node 0 with name: VoxelGeneratorPlugin_0 and operator: "
                           "VoxelGeneratorPlugin (checkFallbackPluginImporter): INVALID_NODE: "
                           'creator && "Plugin not found')):
        trt = install_fake_tensorrt(version=version).trt
        logger = trt.Logger(trt.Logger.WARNING)
        network = trt.Builder(logger).create_network(1 << 0)
        parser = trt.OnnxParser(network, logger)
        assert parser.parse(data) is False and parser.num_errors == 3  # one per plugin node
        assert str(parser.get_error(0)).startswith(expected)
        trt.init_libnvinfer_plugins(logger, "")
        assert parser.parse(data) is True and parser.num_errors == 0


def test_an_engine_with_plugin_layers_needs_their_creators_to_load(install_fake_tensorrt,
                                                                   tao_model, tmp_path):
    install_fake_tensorrt(version="10.3.0")
    data = build_engine(tao_model, "fp32")
    trt = install_fake_tensorrt(version="10.3.0").trt  # a new process: nothing registered yet
    logger = trt.Logger(trt.Logger.WARNING)
    assert trt.Runtime(logger).deserialize_cuda_engine(data) is None
    assert "IPluginCreator not found in Plugin Registry" in logger._messages[-1][1]
    trt.init_libnvinfer_plugins(logger, "")
    assert trt.Runtime(logger).deserialize_cuda_engine(data) is not None


# --- converted: TensorRT 11, or a creator missing ----------------------------------------------

def test_tao_model_is_converted_on_tensorrt_11(install_fake_tensorrt, tao_model, tmp_path,
                                               caplog):
    fakes = install_fake_tensorrt(version=STRONGLY_TYPED)
    caplog.set_level(logging.WARNING)
    backend = TensorRTBackend(str(tao_model), engine_cache_dir=tmp_path)
    assert f"TensorRT {STRONGLY_TYPED} is 11 or later" in caplog.text
    assert_converted(fakes, backend, tao_model, tmp_path, caplog)
    assert calls(fakes, "get_creator") == []  # on 11 the plugins are not looked for


@pytest.mark.parametrize("version, missing", [("8.6.1", (DECODE_BBOX_3D,)),
                                              ("10.13.0.35", (VOXEL_GENERATOR, DECODE_BBOX_3D))])
def test_tao_model_is_converted_where_a_plugin_creator_is_missing(
        version, missing, install_fake_tensorrt, tao_model, tmp_path, caplog):
    fakes = install_fake_tensorrt(version=version).remove_plugin_creators(*missing)
    caplog.set_level(logging.WARNING)
    backend = TensorRTBackend(str(tao_model), engine_cache_dir=tmp_path)
    assert len(calls(fakes, LOOKUP[version])) == len(PLUGIN_OPS)  # the registry was asked
    assert (f"TensorRT {version} has no plugin creator for {', '.join(missing)} (version 1, "
            'namespace "")') in caplog.text
    assert_converted(fakes, backend, tao_model, tmp_path, caplog)


def assert_converted(fakes, backend, tao_model, folder, caplog):
    """Check the warning, the converted file by the engine, an engine built from it (native)."""
    assert "converted to plain ONNX operators as `tao-pointpillars import-tao` does" in caplog.text
    assert TAO_PLUGINS_DEPRECATION in caplog.text
    converted, = converted_files(folder)
    assert str(converted) in caplog.text
    assert converted.name.startswith(f"zvision.tao.import-tao.{file_sha256(tao_model)[:16]}")
    model = onnx.load(str(converted))
    assert not has_tao_plugins(model)
    assert [i.name for i in model.graph.input] == ["pillar_features", "pillar_coords",
                                                   "num_pillars"]
    assert fakes.gpu.plugin_layers == []  # the parser saw no plugin node
    assert read_key(backend.engine_path).model_sha256 == file_sha256(converted)
    assert backend.engine_path.name.startswith(converted.name.removesuffix(".onnx") + ".fp32.")
    assert backend.input_names == ("pillar_features", "pillar_coords", "num_pillars")
    assert backend.input_shapes["pillar_features"] == (1, "1..12000", 32, 10)
    assert "import-tao" in backend.describe() and str(converted) in backend.describe()


def test_a_converted_model_and_its_engine_are_reused(install_fake_tensorrt, tao_model, tmp_path):
    fakes = install_fake_tensorrt(version=STRONGLY_TYPED)
    first = TensorRTBackend(str(tao_model), engine_cache_dir=tmp_path)
    converted, = converted_files(tmp_path)
    stamp = converted.stat().st_mtime_ns
    second = TensorRTBackend(str(tao_model), engine_cache_dir=tmp_path)
    assert fakes.gpu.builds == 1 and second.engine_path == first.engine_path
    assert converted_files(tmp_path) == [converted] and converted.stat().st_mtime_ns == stamp


def test_build_engine_file_converts_next_to_the_engine(install_fake_tensorrt, tao_model,
                                                       tmp_path):
    fakes = install_fake_tensorrt(version="10.3.0").remove_plugin_creators(VOXEL_GENERATOR)
    key = build_engine_file(tao_model, tmp_path / "out" / "zv.engine", "fp32")
    converted, = converted_files(tmp_path / "out")
    assert key.model_sha256 == file_sha256(converted) and fakes.gpu.plugin_layers == []
    with pytest.raises(ModelLoadError, match=r"no plugin creator for VoxelGeneratorPlugin"
                                             r"(.|\n)*tao-pointpillars import-tao"):
        build_engine(tao_model, "fp32")  # the bare build says how to convert


def test_implicit_int8_of_a_tao_model_is_refused(install_fake_tensorrt, tao_model, tmp_path):
    install_fake_tensorrt(version="10.3.0")
    cache = tmp_path / "zv.calib"
    cache.write_text("TRT-100300-EntropyCalibration2\n")
    for attempt in (lambda: build_route(tao_model, "int8"),
                    lambda: TensorRTBackend(str(tao_model), precision="int8",
                                            calibration_cache=cache, engine_cache_dir=tmp_path)):
        with pytest.raises(ConfigError, match="import-tao .*then `tao-pointpillars calibrate"):
            attempt()


# --- a dynamic point axis ----------------------------------------------------------------------

@pytest.mark.parametrize("points_axis, low", [("points", 1), (DEFAULT_MAX_POINTS, None)])
def test_a_dynamic_point_axis_gets_a_profile_up_to_the_default_max_points(
        points_axis, low, install_fake_tensorrt, tao_model, tmp_path):
    """TAO exports a "batch" axis; a symbolic point axis spans 1 .. DEFAULT_MAX_POINTS."""
    fakes = install_fake_tensorrt(version="10.13.0.35")
    model = with_point_axes(tao_model, tmp_path / "batch.onnx", points_axis)
    backend = TensorRTBackend(str(model), engine_cache_dir=tmp_path / "engines")
    engine = fakes.trt.Runtime(fakes.trt.Logger()).deserialize_cuda_engine(
        backend.engine_path.read_bytes())
    high = (1, DEFAULT_MAX_POINTS, 4)
    assert tuple(engine.get_tensor_shape("points")) == (-1, -1 if low else DEFAULT_MAX_POINTS, 4)
    assert [tuple(s) for s in engine.get_tensor_profile_shape("points", 0)] == [
        (1, low or DEFAULT_MAX_POINTS, 4), high, high]
    assert [tuple(s) for s in engine.get_tensor_profile_shape("num_points", 0)] == [(1,)] * 3
    points = backend.input_shapes["points"]
    assert points == ((1, f"1..{DEFAULT_MAX_POINTS}", 4) if low else high)
    if low:  # the detector then feeds a cloud as it is
        detector = Detector.from_model(str(model), backend="tensorrt",
                                       backend_options={"engine_cache_dir": tmp_path / "engines"})
        cloud = simulate_frame(3, 0).points
        detector.detect(cloud)
        assert fakes.gpu.executed_shapes[-1] == {"points": (1, len(cloud), 4),
                                                 "num_points": (1,)}


# --- end to end: the same detections as the native model on ONNX Runtime -------------------

@pytest.fixture(scope="module")
def native_detections():
    detector = Detector.from_model(str(REFERENCE_MODEL))
    return [detector.detect(simulate_frame(7, i).points) for i in range(CLOUDS)]


@pytest.mark.parametrize("version", ("8.6.1", "10.13.0.35", STRONGLY_TYPED))
def test_tao_model_on_tensorrt_detects_as_the_native_model(version, install_fake_tensorrt,
                                                           tao_model, native_detections,
                                                           tmp_path):
    """8.6 / 10.x: the plugins run (numpy references); 11: the converted model runs."""
    fakes = install_fake_tensorrt(version=version)
    detector = Detector.from_model(str(tao_model), backend="tensorrt",
                                   backend_options={"engine_cache_dir": tmp_path})
    plugins = version != STRONGLY_TYPED
    assert detector.contract is (ModelContract.TAO if plugins else ModelContract.NATIVE)
    worst = {"boxes": 0.0, "scores": 0.0}
    for index, expected in enumerate(native_detections):
        cloud = simulate_frame(7, index).points
        got = detector.detect(cloud)
        assert got.labels.tolist() == expected.labels.tolist() and len(got.labels) > 0
        for field in worst:
            difference = np.abs(getattr(got, field) - getattr(expected, field)).max()
            worst[field] = max(worst[field], float(difference))
        if plugins:
            assert fakes.gpu.executed_shapes[-1] == {"points": (1, DEFAULT_MAX_POINTS, 4),
                                                     "num_points": (1,)}
    assert worst["boxes"] <= TOLERANCE and worst["scores"] <= TOLERANCE, worst
    ran = [use.name for use in fakes.gpu.uses if use.name == "execute_async_v3"]
    assert ran and len(fakes.gpu.executed_shapes) == CLOUDS
    print(f"TensorRT {version} (fake) vs native on ONNX Runtime, {CLOUDS} clouds: {worst}")
