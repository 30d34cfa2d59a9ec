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

"""Tests of tensorrt.engine_cache: keys that change with every input, sidecars."""

import dataclasses

import pytest

from tao_pointpillars_py.errors import ConfigError
from tao_pointpillars_py.inference.backends.tensorrt.engine_cache import (engine_path, EngineKey,
                                                                          read_key, write_key)
from tao_pointpillars_py.inference.model_file import file_sha256

KEY = EngineKey(model_sha256="ab" * 32, precision="fp16", tensorrt_version="10.3.0",
                device_name="Orin", compute_capability="8.7")


@pytest.mark.parametrize("field,value", [
    ("model_sha256", "cd" * 32), ("precision", "int8"), ("tensorrt_version", "8.6.2"),
    ("device_name", "NVIDIA H100"), ("compute_capability", "9.0"),
    ("calibration_sha256", "ef" * 32)])
def test_every_field_changes_the_key_and_the_file_name(field, value, tmp_path):
    other = dataclasses.replace(KEY, **{field: value})
    assert other.digest() != KEY.digest()
    assert engine_path(tmp_path, "m.onnx", other) != engine_path(tmp_path, "m.onnx", KEY)
    assert [d.split(":")[0] for d in KEY.differences(other)] == [field]


def test_key_is_stable_and_names_the_engine(tmp_path):
    again = EngineKey(**dataclasses.asdict(KEY))
    assert again.digest() == KEY.digest() and len(KEY.digest()) == 16
    path = engine_path(tmp_path / "cache", "/models/net.onnx", KEY)
    assert path == tmp_path / "cache" / f"net.fp16.{KEY.digest()}.engine"


def test_sidecar_round_trips_and_unreadable_ones_are_none(tmp_path):
    engine = tmp_path / "net.engine"
    write_key(engine, KEY)
    assert read_key(engine) == KEY
    assert read_key(tmp_path / "missing.engine") is None
    (tmp_path / "bad.engine.json").write_text("{not json")
    assert read_key(tmp_path / "bad.engine") is None


def test_unknown_precision_is_refused():
    with pytest.raises(ConfigError, match="precision"):
        dataclasses.replace(KEY, precision="int4")


def test_model_hash_is_the_files_sha256(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"abc")
    expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"  # sha256("abc")
    assert file_sha256(path) == expected
