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

"""Tests of ``tao-pointpillars bench`` on the reference model and a simulated bag."""

import importlib.util
import json
import math
from pathlib import Path

import pytest

from tao_pointpillars_py.cli import main
from tao_pointpillars_py.data.bags import read_clouds
from tao_pointpillars_py.inference.backends import tensorrt_available
from tao_pointpillars_py.tools.benchmark import BenchReport, STAGES
from tao_pointpillars_py.tools.variants import NO_TENSORRT

MODELS = Path(__file__).resolve().parents[2] / "models"
FP32 = MODELS / "pointpillars_zvision.onnx"
ONNXRUNTIME_ROWS = ["ONNX Runtime fp32 (CPU)", "ONNX Runtime int8 (CPU)",
                    "ONNX Runtime int8, Q/DQ as stored (CPU)"]
TENSORRT_ROWS = ["TensorRT fp32", "TensorRT fp16", "TensorRT int8"]


def _table_rows(output: str) -> dict[str, list[str]]:
    rows = [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in output.splitlines() if line.startswith("| ")]
    assert rows[0][0] == "variant"
    return {row[0]: row[1:] for row in rows[1:]}


def test_bench_of_the_reference_model_prints_every_variant_and_writes_json(tmp_path, capsys):
    out = tmp_path / "bench" / "out.json"
    assert main(["bench", "--frames", "2", "--rounds", "1", "--json", str(out)]) == 0
    output = capsys.readouterr().out
    assert "2 simulated frames (seed 0), 1 round(s) after 1 warm-up pass" in output
    assert "1 thread(s)" in output and "pointpillars_zvision.onnx" in output
    rows = _table_rows(output)
    assert list(rows) == ONNXRUNTIME_ROWS + TENSORRT_ROWS + ["PyTorch eager fp32 (CPU)"]
    assert rows["ONNX Runtime fp32 (CPU)"][5] == "1.00x"
    if not tensorrt_available():
        for label in TENSORRT_ROWS:
            assert rows[label][:6] == ["–"] * 6 and rows[label][6] == NO_TENSORRT
    torch_note = rows["PyTorch eager fp32 (CPU)"][6]
    if importlib.util.find_spec("torch") is not None:
        assert "untrained weights: timing only" in torch_note
    else:
        assert torch_note.startswith("not available: torch does not import")
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["context"]["frames"] == 2 and data["context"]["rounds"] == 1
    assert data["context"]["threads"] == 1 and data["context"]["seed"] == 0
    for variant in data["variants"]:
        if not variant["available"]:
            assert variant["summary_ms"] is None and variant["frames_per_s"] is None
            continue
        median = {s: variant["summary_ms"][s]["median"] for s in STAGES}
        assert all(math.isfinite(v) and v > 0 for v in median.values())
        assert median["total"] >= median["inference"]
        assert len(variant["times_ms"]["inference"]) == 2
        assert rows[variant["variant"]][1].startswith(f"{median['inference']:.2f} / ")
        assert variant["frames_per_s"] == pytest.approx(1e3 / median["total"])
    assert f"bench: wrote {out}" in output
    assert BenchReport.from_json(data).table() in output


def test_bench_on_frames_spread_over_a_bag(tmp_path, capsys):
    data = tmp_path / "data"
    assert main(["sim", "--frames", "6", "--seed", "9", "--out", str(data),
                 "--workers", "1"]) == 0
    bag = data / "bag"
    topic = next(read_clouds(bag)).topic
    out = tmp_path / "bag.json"
    capsys.readouterr()
    assert main(["bench", str(FP32), "--bag", str(bag), "--topic", topic, "--frames", "3",
                 "--rounds", "1", "--json", str(out)]) == 0
    output = capsys.readouterr().out
    assert f"3 frames spread over {bag} ({topic})" in output
    context = json.loads(out.read_text(encoding="utf-8"))["context"]
    assert context["frame_indices"] == [0, 2, 5] and context["topic"] == topic
    assert context["frames"] == 3


@pytest.mark.parametrize("argv, message", [
    (["--frames", "0"], "--frames must be >= 1"),
    (["--threads", "0"], "--threads must be >= 1"),
    (["--topic", "/points"], "--topic needs --bag"),
    (["missing.onnx"], "MODEL missing.onnx is not a file"),
])
def test_bench_refuses_bad_options(argv, message, capsys):
    assert main(["bench", *argv]) == 2
    assert message in capsys.readouterr().err


def test_bench_with_a_params_file_records_it_and_refuses_a_bad_one(tmp_path, capsys):
    params = Path(__file__).resolve().parents[2] / "params" / "zvision_ml30s.yaml"
    out = tmp_path / "out.json"
    assert main(["bench", str(FP32), "--frames", "1", "--rounds", "1", "--params-file",
                 str(params), "--json", str(out)]) == 0
    context = json.loads(out.read_text(encoding="utf-8"))["context"]
    assert context["params_file"] == str(params) and context["frames"] == 1
    capsys.readouterr()
    bad = tmp_path / "bad.yaml"
    bad.write_text("/**:\n  ros__parameters:\n    cloud_to_model: [0, 0, 0, 0, 0, -90]\n")
    assert main(["bench", "--params-file", str(bad)]) == 2
    assert "cloud_to_model must be a string 'x y z roll pitch yaw'" in capsys.readouterr().err
    assert main(["bench", "--params-file", str(tmp_path / "none.yaml")]) == 2
    assert "none.yaml does not exist" in capsys.readouterr().err
