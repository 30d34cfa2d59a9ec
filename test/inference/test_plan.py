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

"""Tests of inference.backends.tensorrt.plan: planning a TensorRT build without TensorRT."""

import dataclasses
import os
from pathlib import Path

import numpy as np
import onnx
from onnx_fixtures import fired_anchor_model, REFERENCE_MODEL
import pytest

from tao_pointpillars_py.errors import ConfigError, ModelLoadError
from tao_pointpillars_py.inference.backends.tensorrt.plan import (calibration_shapes,
                                                                  check_cache_dir, check_route,
                                                                  default_cache_dir,
                                                                  has_qdq_nodes, is_engine_file,
                                                                  pad_to_shape, profile_shapes,
                                                                  write_atomic)
from tao_pointpillars_py.inference.backends.tensorrt.plan import (converted_model_path,
                                                                  describe_parser_errors,
                                                                  write_converted_tao)
from tao_pointpillars_py.inference.model_file import file_sha256, load_model_info, ModelContract
from tao_pointpillars_py.inference.tao_layout import (DEFAULT_MAX_POINTS, export_tao,
                                                      has_tao_plugins)
from tensorrt_models import qdq_model


def with_dims(path: Path, name: str, dims: dict[int, str]) -> Path:
    """Rewrite ``path`` so that input ``name`` has named (dynamic) dimensions ``dims``."""
    model = onnx.load(str(path))
    tensor, = [i for i in model.graph.input if i.name == name]
    for axis, param in dims.items():
        tensor.type.tensor_type.shape.dim[axis].dim_param = param
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize("name,engine", [
    ("m.engine", True), ("m.plan", True), ("M.ENGINE", True), ("dir/m.int8.plan", True),
    ("m.onnx", False), ("m.trt", False), ("engine", False), ("m.engine.onnx", False)])
def test_engine_files_are_told_by_their_suffix(name, engine):
    assert is_engine_file(name) is engine
    assert is_engine_file(Path(name)) is engine


def test_qdq_models_are_recognised(tiny_model, tmp_path):
    assert not has_qdq_nodes(tiny_model)
    assert has_qdq_nodes(qdq_model(tmp_path / "tiny.int8.onnx"))


def test_dynamic_pillar_axis_gets_a_profile_up_to_max_pillars(tiny_model, tmp_path):
    info = load_model_info(str(tiny_model))
    assert profile_shapes(info) == {
        "pillar_features": ((1, 1, 8, 10), (1, 64, 8, 10), (1, 64, 8, 10)),
        "pillar_coords": ((1, 1, 2), (1, 64, 2), (1, 64, 2))}
    assert calibration_shapes(info) == {"pillar_features": (1, 64, 8, 10),
                                        "pillar_coords": (1, 64, 2), "num_pillars": (1,)}
    fixed = tmp_path / "fixed.onnx"
    fired_anchor_model(fixed)
    assert profile_shapes(load_model_info(str(fixed))) == {}
    assert calibration_shapes(load_model_info(str(fixed))) == calibration_shapes(info)


def test_reference_model_profile_spans_its_max_pillars():
    info = load_model_info(str(REFERENCE_MODEL))
    low, opt, high = profile_shapes(info)["pillar_features"]
    assert low == (1, 1, 32, 10) and opt == high == (1, 12000, 32, 10)


def test_a_dynamic_batch_axis_is_fixed_to_one(tmp_path):
    path = tmp_path / "batch.onnx"
    fired_anchor_model(path, pillar_axis="pillars")
    info = load_model_info(str(with_dims(path, "num_pillars", {0: "batch"})))
    assert profile_shapes(info)["num_pillars"] == ((1,), (1,), (1,))
    assert calibration_shapes(info)["num_pillars"] == (1,)


def test_another_dynamic_dimension_is_refused_with_the_fix(tiny_model):
    info = load_model_info(str(tiny_model))
    points = dataclasses.replace(info, input_shapes={
        **info.input_shapes, "pillar_features": (1, "pillars", "points", 10)})
    with pytest.raises(ModelLoadError, match=r"input pillar_features has a dynamic dimension 2 "
                                             r"\('points'\) with no known bound; .*re-export"):
        profile_shapes(points)
    tao = dataclasses.replace(info, contract=ModelContract.TAO)  # its pillar axis has no bound
    with pytest.raises(ModelLoadError, match="dynamic dimension 1 \\('pillars'\\)"):
        profile_shapes(tao)


def test_pad_to_shape_zero_pads_and_refuses_to_truncate():
    padded = pad_to_shape(np.arange(6, dtype=np.int32).reshape(1, 3, 2), (1, 5, 2))
    assert padded.dtype == np.int32 and padded[0, :3].ravel().tolist() == list(range(6))
    assert not padded[0, 3:].any()
    with pytest.raises(ConfigError, match="cannot pad"):
        pad_to_shape(np.zeros((1, 6, 2)), (1, 5, 2))
    with pytest.raises(ConfigError, match="cannot pad"):
        pad_to_shape(np.zeros((1, 2)), (1, 2, 1))


def test_pad_to_its_own_shape_gives_a_contiguous_copy_of_the_same_values():
    strided = np.arange(12, dtype=np.float32).reshape(3, 4)[:, ::2]
    same = pad_to_shape(strided, (3, 2))
    assert same.flags.c_contiguous and same.dtype == np.float32
    np.testing.assert_array_equal(same, strided)


@pytest.mark.parametrize("precision,explicit,strongly_typed,message", [
    ("fp32", False, False, None), ("fp16", False, False, None), ("int8", False, False, None),
    ("int8", True, False, None), ("fp32", False, True, None), ("int8", True, True, None),
    ("fp16", False, True, "BuilderFlag.FP16 was removed"),
    ("int8", False, True, "removed implicit int8 calibration"),
    ("fp16", True, False, "QuantizeLinear/DequantizeLinear"),
    ("int4", False, False, "precision must be one of")])
def test_routes_that_cannot_build_are_refused_with_what_to_do(precision, explicit,
                                                              strongly_typed, message):
    def check():
        check_route(precision, explicit_int8=explicit, strongly_typed=strongly_typed,
                    tensorrt_version="11.0.0")
    if message is None:
        check()
    else:
        with pytest.raises(ConfigError, match=message) as error:
            check()
        if strongly_typed:
            assert "tao-pointpillars calibrate" in str(error.value)
            assert "tensorrt<11" in str(error.value)


def test_the_default_cache_dir_follows_xdg_cache_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "tao_pointpillars" / "engines"
    for unset in ("", None):
        if unset is None:
            monkeypatch.delenv("XDG_CACHE_HOME")
        else:
            monkeypatch.setenv("XDG_CACHE_HOME", unset)
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
        assert default_cache_dir() == tmp_path / "home" / ".cache" / "tao_pointpillars" / "engines"


def test_a_missing_cache_dir_is_created_and_left_empty(tmp_path):
    folder = tmp_path / "a" / "b" / "engines"
    check_cache_dir(folder, explicit=True)
    assert folder.is_dir() and list(folder.iterdir()) == []
    check_cache_dir(folder, explicit=False)  # again: it exists now
    assert list(folder.iterdir()) == []


def test_an_engine_cache_dir_under_a_file_names_the_parameter(tmp_path):
    (tmp_path / "a-file").write_text("not a directory")
    folder = tmp_path / "a-file" / "engines"
    with pytest.raises(ConfigError) as raised:
        check_cache_dir(folder, explicit=True)
    message = str(raised.value)
    assert message.startswith(f"engine cache directory {folder} is not writable (")
    assert ("so no TensorRT engine can be built into it: set engine_cache_dir to a writable "
            "directory, or load an engine prebuilt with `tao-pointpillars build-engine "
            "MODEL.onnx --out ENGINE` (node: engine_path)") in message


def test_the_default_cache_dir_under_a_file_names_xdg_cache_home(tmp_path, monkeypatch):
    (tmp_path / "a-file").write_text("not a directory")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    with pytest.raises(ConfigError, match=r"set the environment variable XDG_CACHE_HOME \(now "
                                          r"unset, so ~/.cache\) to a writable directory"):
        check_cache_dir(tmp_path / "a-file" / "engines", explicit=False)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a 0o500 directory anyway")
def test_a_read_only_engine_cache_dir_is_named(tmp_path):
    folder = tmp_path / "engines"
    folder.mkdir(mode=0o500)
    try:
        with pytest.raises(ConfigError, match=f"engine cache directory {folder} is not "
                                              "writable \\(PermissionError"):
            check_cache_dir(folder, explicit=True)
    finally:
        folder.chmod(0o700)


def test_write_atomic_replaces_the_file_whole_and_leaves_nothing_behind(tmp_path):
    target = tmp_path / "new" / "m.engine"
    write_atomic(target, b"first")
    write_atomic(target, b"second, longer")
    assert target.read_bytes() == b"second, longer"
    assert [p.name for p in target.parent.iterdir()] == ["m.engine"]


def test_write_atomic_that_fails_keeps_the_old_file_and_no_partial(tmp_path):
    target = tmp_path / "m.engine"
    target.mkdir()  # os.replace cannot put a file over a directory
    with pytest.raises(OSError):
        write_atomic(target, b"data")
    assert target.is_dir() and [p.name for p in tmp_path.iterdir()] == ["m.engine"]


# --- TAO-layout models ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tao_model(tmp_path_factory) -> Path:
    """Write the reference model in TAO's layout (points [1, 204800, 4], num_points [1])."""
    path = tmp_path_factory.mktemp("tao") / "zv.tao.onnx"
    onnx.save(export_tao(onnx.load(str(REFERENCE_MODEL))), str(path))
    return path


@pytest.mark.parametrize("points, num_points, expected", [
    ((1, DEFAULT_MAX_POINTS, 4), (1,), {}),
    (("batch", DEFAULT_MAX_POINTS, 4), ("batch",), {
        "points": ((1, DEFAULT_MAX_POINTS, 4),) * 3, "num_points": ((1,),) * 3}),
    (("batch", "n", 4), ("batch",), {
        "points": ((1, 1, 4), (1, DEFAULT_MAX_POINTS, 4), (1, DEFAULT_MAX_POINTS, 4)),
        "num_points": ((1,),) * 3}),
    ((1, 5000, 4), ("batch",), {"num_points": ((1,),) * 3})])
def test_a_tao_point_axis_gets_a_profile_up_to_the_default_max_points(tao_model, points,
                                                                      num_points, expected):
    info = load_model_info(str(tao_model))
    assert info.contract is ModelContract.TAO
    assert info.input_shapes == {"points": (1, DEFAULT_MAX_POINTS, 4), "num_points": (1,)}
    shaped = dataclasses.replace(info, input_shapes={"points": points, "num_points": num_points})
    assert profile_shapes(shaped) == expected
    wrong = dataclasses.replace(info, input_shapes={"points": (1, DEFAULT_MAX_POINTS, "c")})
    with pytest.raises(ModelLoadError, match="dynamic dimension 2 .*point axis of a TAO model"):
        profile_shapes(wrong)


@pytest.mark.parametrize("precision, explicit, strongly_typed", [
    ("int8", False, False), ("int8", False, True)])
def test_implicit_int8_of_a_tao_model_is_refused_with_import_tao_then_calibrate(
        precision, explicit, strongly_typed):
    with pytest.raises(ConfigError) as refused:
        check_route(precision, explicit_int8=explicit, strongly_typed=strongly_typed,
                    tensorrt_version="10.3.0", tao_plugins=True)
    message = str(refused.value)
    assert message.index("tao-pointpillars import-tao TAO.onnx --out MODEL.onnx") < message.index(
        "tao-pointpillars calibrate --model MODEL.onnx")
    for fine in ("fp32", "fp16"):
        check_route(fine, explicit_int8=False, strongly_typed=False, tensorrt_version="10.3.0",
                    tao_plugins=True)


def test_a_converted_tao_model_is_named_by_the_tao_file_and_written_once(tao_model, tmp_path):
    proto = onnx.load(str(tao_model))
    sha = file_sha256(tao_model)
    target = write_converted_tao(proto, tao_model, tmp_path)
    assert target == converted_model_path(tmp_path, tao_model, sha)
    assert target.name == f"zv.tao.import-tao.{sha[:16]}.onnx"
    converted = onnx.load(str(target))
    assert not has_tao_plugins(converted)
    assert [i.name for i in converted.graph.input] == ["pillar_features", "pillar_coords",
                                                       "num_pillars"]
    assert load_model_info(str(target)).config.class_names == ("Vehicle", "Pedestrian",
                                                               "Cyclist")
    stamp = target.stat().st_mtime_ns
    assert write_converted_tao(proto, tao_model, tmp_path) == target
    assert target.stat().st_mtime_ns == stamp  # same bytes: not rewritten
    target.write_bytes(b"stale")
    write_converted_tao(proto, tao_model, tmp_path)
    assert target.read_bytes() == converted.SerializeToString()


def test_a_tao_model_without_class_names_converts_with_placeholders(tao_model, tmp_path):
    proto = onnx.load(str(tao_model))
    del proto.metadata_props[:]  # as TAO exports it
    bare = tmp_path / "bare.onnx"
    onnx.save(proto, str(bare))
    target = write_converted_tao(proto, bare, tmp_path)
    assert load_model_info(str(target)).config.class_names == ("class_0", "class_1", "class_2")


def test_parser_errors_that_give_only_the_index_name_the_node(tiny_model):
    model = onnx.load(str(tiny_model))
    errors = ["In node 2 (importFallbackPluginImporter): UNSUPPORTED_NODE: Assertion failed",
              "In node 2 with name: x and operator: Mul (checkFallbackPluginImporter): INVALID",
              "In node 99 (parseGraph): out of range", "ModelImporter.cpp: no node"]
    described = describe_parser_errors(errors, model)
    node = model.graph.node[2]
    assert described[0] == f"{errors[0]} [node 2: {node.op_type} {node.name!r}]"
    assert described[1:] == errors[1:]
