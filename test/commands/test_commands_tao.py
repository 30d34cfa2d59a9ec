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

"""Tests of ``tao-pointpillars export-tao`` and ``import-tao`` on the reference model."""

import json
from pathlib import Path

import numpy as np
import onnx
from onnx_fixtures import REFERENCE_MODEL
import pytest
from tao_pointpillars_py.cli import main
from tao_pointpillars_py.inference.detector import Detector
from tao_pointpillars_py.inference.tao_layout import PLUGIN_OPS
from tao_pointpillars_py.sim import simulate_frame


@pytest.fixture(scope="module")
def tao_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tao") / "reference.tao.onnx"
    assert main(["export-tao", str(REFERENCE_MODEL), "--out", str(out)]) == 0
    return out


def test_export_tao_writes_the_plugin_layout_and_says_so(tmp_path: Path, capsys) -> None:
    out = tmp_path / "small.tao.onnx"
    assert main(["export-tao", str(REFERENCE_MODEL), "--out", str(out), "--max-points",
                 "50000", "--score-thresh", "0.2"]) == 0
    printed = capsys.readouterr().out
    model = onnx.load(str(out))
    assert [i.name for i in model.graph.input] == ["points", "num_points"]
    assert [o.name for o in model.graph.output] == ["output_boxes", "num_boxes"]
    points = model.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in points] == [1, 50000, 4]
    assert sorted(n.op_type for n in model.graph.node if n.op_type in PLUGIN_OPS) == sorted(
        PLUGIN_OPS)
    for op in PLUGIN_OPS:
        assert op in printed
    assert "score_thresh=0.2" in printed and "point_cloud_range=[0.0, -25.6, -3.0" in printed


def test_import_tao_gives_back_the_native_model(tao_file: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "back.onnx"
    assert main(["import-tao", str(tao_file), "--out", str(out)]) == 0
    assert "standard operators only" in capsys.readouterr().out
    back = onnx.load(str(out))
    assert not [n for n in back.graph.node if n.op_type in PLUGIN_OPS]
    native, converted = Detector.from_model(str(REFERENCE_MODEL)), Detector.from_model(str(out))
    for index in range(3):
        points = simulate_frame(5, index).points
        a, b = native.detect(points), converted.detect(points)
        assert len(a) > 0
        np.testing.assert_array_equal(a.labels, b.labels)
        np.testing.assert_allclose(a.boxes, b.boxes, atol=1e-4)
        np.testing.assert_allclose(a.scores, b.scores, atol=1e-4)


def _without_metadata(tao_file: Path, folder: Path) -> Path:
    """Save the TAO file as TAO itself exports it: without metadata_props."""
    model = onnx.load(str(tao_file))
    del model.metadata_props[:]
    out = folder / "bare.tao.onnx"
    onnx.save(model, str(out))
    return out


def test_import_tao_asks_for_class_names_a_tao_export_lacks(tao_file: Path, tmp_path: Path,
                                                            capsys) -> None:
    bare = _without_metadata(tao_file, tmp_path)
    out = tmp_path / "named.onnx"
    assert main(["import-tao", str(bare), "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert "carries no class names and has 3 classes" in error and "--class-names" in error
    assert not out.exists()
    assert main(["import-tao", str(bare), "--out", str(out), "--class-names",
                 "Car,Walker,Bike", "--intensity-range", "0", "255"]) == 0
    metadata = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert json.loads(metadata["class_names"]) == ["Car", "Walker", "Bike"]
    assert json.loads(metadata["intensity_range"]) == [0.0, 255.0]
    assert main(["import-tao", str(bare), "--out", str(out), "--class-names", "Car,Walker"]) == 2
    assert "2 class names ['Car', 'Walker'] for a model with 3 classes" in capsys.readouterr().err


def test_export_tao_refuses_a_model_already_in_tao_layout(tao_file: Path, tmp_path: Path,
                                                          capsys) -> None:
    assert main(["export-tao", str(tao_file), "--out", str(tmp_path / "again.onnx")]) == 2
    assert "export-tao takes a `tao-pointpillars export` model" in capsys.readouterr().err


def test_import_tao_refuses_a_native_model(tmp_path: Path, capsys) -> None:
    assert main(["import-tao", str(REFERENCE_MODEL), "--out", str(tmp_path / "x.onnx")]) == 2
    assert "has 0 VoxelGeneratorPlugin nodes" in capsys.readouterr().err
