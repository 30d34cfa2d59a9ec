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

"""Model files: metadata validation and contract detection."""

import json

import numpy as np
import onnx
from onnx_fixtures import fired_anchor_model, REFERENCE_MODEL, TINY_CONFIG
import pytest

from tao_pointpillars_py.core.config import ModelConfig
from tao_pointpillars_py.errors import ModelLoadError, ModelMetadataError
from tao_pointpillars_py.inference.model_file import (detect_contract, load_model_info,
                                                      model_info, ModelContract)
from tao_pointpillars_py.inference.tao_layout import DEFAULT_MAX_POINTS, export_tao


def test_load_model_info_reads_config_from_metadata(tmp_path):
    path = tmp_path / "m.onnx"
    fired_anchor_model(path)
    info = load_model_info(str(path))
    assert info.contract is ModelContract.NATIVE
    assert info.config == TINY_CONFIG and info.class_names_known
    assert info.input_shapes["pillar_features"] == (1, 64, 8, 10)


def test_missing_model_file_names_the_path(tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_model_info(str(tmp_path / "nope.onnx"))


def test_non_onnx_file_is_refused(tmp_path):
    path = tmp_path / "junk.onnx"
    path.write_bytes(b"\x00\x01 not a model at all" * 10)
    with pytest.raises(ModelLoadError, match="junk.onnx"):
        load_model_info(str(path))


def test_model_without_metadata_is_refused_naming_missing_keys(tmp_path):
    path = tmp_path / "bare.onnx"
    fired_anchor_model(path, with_metadata=False)
    with pytest.raises(ModelMetadataError) as info:
        load_model_info(str(path))
    for key in ("class_names", "point_cloud_range", "voxel_size", "anchors", "intensity_range"):
        assert key in str(info.value)


def test_partial_metadata_lists_only_what_is_missing(tmp_path):
    path = tmp_path / "partial.onnx"
    fired_anchor_model(path)
    model = onnx.load(str(path))
    kept = [p for p in model.metadata_props if p.key not in ("anchors", "box_coder")]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    onnx.save(model, str(path))
    with pytest.raises(ModelMetadataError, match="anchors, box_coder") as info:
        load_model_info(str(path))
    assert "class_names" not in str(info.value)


def test_inconsistent_metadata_is_refused(tmp_path):
    path = tmp_path / "bad.onnx"
    fired_anchor_model(path)
    model = onnx.load(str(path))
    for prop in model.metadata_props:
        if prop.key == "class_names":
            prop.value = json.dumps(["Vehicle", "Pedestrian"])
    onnx.save(model, str(path))
    with pytest.raises(ModelMetadataError, match="one anchor per class"):
        load_model_info(str(path))


def test_unknown_io_names_are_refused(tmp_path):
    path = tmp_path / "other.onnx"
    fired_anchor_model(path, output_names=("scores", "boxes", "directions"))
    with pytest.raises(ModelLoadError, match="expected either"):
        load_model_info(str(path))


@pytest.mark.parametrize("inputs,outputs,expected", [
    (["pillar_features", "pillar_coords", "num_pillars"],
     ["cls_preds", "box_preds", "dir_cls_preds"], ModelContract.NATIVE),
    (["points", "num_points"], ["output_boxes", "num_boxes"], ModelContract.TAO),
])
def test_contract_is_detected_from_tensor_names(inputs, outputs, expected):
    assert detect_contract(inputs, outputs) is expected


def test_config_metadata_round_trip():
    config = ModelConfig()
    assert ModelConfig.from_metadata(config.to_metadata()) == config


def test_tao_model_reads_its_config_and_class_names_from_package_metadata(tmp_path):
    native = load_model_info(str(REFERENCE_MODEL))
    path = tmp_path / "tao.onnx"
    onnx.save(export_tao(onnx.load(str(REFERENCE_MODEL))), str(path))
    info = load_model_info(str(path))
    assert info.contract is ModelContract.TAO and info.class_names_known
    assert info.config == native.config
    assert info.input_shapes == {"points": (1, DEFAULT_MAX_POINTS, 4), "num_points": (1,)}


def test_tao_model_without_package_metadata_has_placeholder_class_names():
    tao = export_tao(onnx.load(str(REFERENCE_MODEL)))
    del tao.metadata_props[:]  # as TAO writes it: the geometry is in the plugin attributes
    native = load_model_info(str(REFERENCE_MODEL)).config
    info = model_info(tao, "bare_tao.onnx")
    assert info.contract is ModelContract.TAO and not info.class_names_known
    assert info.config.class_names == ("class_0", "class_1", "class_2")
    pillars = info.config.pillars  # plugin attributes are float32
    np.testing.assert_allclose(pillars.point_cloud_range, native.pillars.point_cloud_range,
                               rtol=1e-6)
    np.testing.assert_allclose(pillars.voxel_size, native.pillars.voxel_size, rtol=1e-6)
    assert (pillars.max_points_per_pillar, pillars.max_pillars) == (
        native.pillars.max_points_per_pillar, native.pillars.max_pillars)
    np.testing.assert_allclose([a.size for a in info.config.anchors],
                               [a.size for a in native.anchors], rtol=1e-6)
