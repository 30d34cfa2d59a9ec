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

"""Tests of the precision report (module and ``tao-pointpillars precision-report``)."""

import json
from pathlib import Path

import numpy as np

from tao_pointpillars_py.cli import main
from tao_pointpillars_py.inference.detector import Detector
from tao_pointpillars_py.tools.evaluation import EvalFrame, evaluate, SAMPLING_NOTE
from tao_pointpillars_py.tools.precision_report import (BEGIN, END, interleaved_forward_ms,
                                                        replace_section, report_markdown,
                                                        VariantResult)
from tao_pointpillars_py.tools.variants import Variant

MODELS = Path(__file__).resolve().parents[2] / "models"
FP32, INT8 = MODELS / "pointpillars_zvision.onnx", MODELS / "pointpillars_zvision.int8.onnx"
CAR = [10.0, 0.0, -1.0, 4.0, 2.0, 1.5, 0.0]


def _evaluation(found: bool, sampling: str = "exact"):
    boxes = np.array([CAR], np.float32)
    det = boxes if found else np.zeros((0, 7), np.float32)
    frame = EvalFrame(boxes, np.array([0]), np.array([500], np.int32), det,
                      np.ones(len(det), np.float32), np.zeros(len(det), np.int64))
    return evaluate([frame], ("Vehicle",), sampling=sampling)


def test_report_shows_each_variant_with_its_change_and_speed_up():
    # One box found: 100 with exact sampling; the devkit's caps N boxes at (N - 1)/40: 0.
    results = [VariantResult(Variant("fp32", None, "a.onnx"), _evaluation(True), [10.0] * 5,
                             _evaluation(True, "kitti")),
               VariantResult(Variant("int8", None, "a.int8.onnx"), _evaluation(False), [4.0] * 5,
                             _evaluation(False, "kitti")),
               VariantResult(Variant("TensorRT fp16", None, "a.onnx", "not measured: no GPU"))]
    text = report_markdown(results, ("Vehicle",), "context line")
    assert text.startswith(BEGIN) and text.endswith(END) and "context line" in text
    fp16_rows = [line for line in text.splitlines() if line.startswith("| TensorRT fp16 |")]
    assert text.count("| fp32 | 100.00 | 100.00 | 100.00 |") == 2            # 3D, BEV exact
    assert text.count("| int8 | 0.00 (-100.00) | 0.00 (-100.00) | 0.00 (-100.00) |") == 2
    assert text.count("| fp32 | 0.00 | 0.00 | 0.00 |") == 2                  # 3D, BEV kitti
    assert text.count("| int8 | 0.00 (+0.00) | 0.00 (+0.00) | 0.00 (+0.00) |") == 2
    assert "| int8 | 4.0 | 4.0 | 2.50x |" in text
    assert len(fp16_rows) == 5 and fp16_rows[0].count("not measured |") == 3
    assert fp16_rows[4] == "| TensorRT fp16 | – | – | – | not measured: no GPU |"
    kitti_part = text[text.index("`kitti` sampling"):]
    assert kitti_part.index(SAMPLING_NOTE) < kitti_part.index("| fp32 | 0.00 |")
    assert text.index("| fp32 | 100.00 |") < text.index("`kitti` sampling")


def test_section_is_replaced_between_its_markers_or_appended():
    old = f"# Card\n\nintro\n\n{BEGIN}\nold figures\n{END}\n\n## After\n"
    updated = replace_section(old, f"{BEGIN}\nnew\n{END}")
    assert "old figures" not in updated and "new" in updated
    assert updated.startswith("# Card\n\nintro\n\n") and updated.endswith("\n\n## After\n")
    assert replace_section("# Card\n", f"{BEGIN}\nx\n{END}") == f"# Card\n\n{BEGIN}\nx\n{END}\n"


def test_forward_times_are_taken_per_frame_for_every_model_after_a_warm_up():
    detectors = [Detector.from_model(str(FP32), backend_options={"threads": 1}),
                 Detector.from_model(str(INT8), backend_options={"threads": 1})]
    rng = np.random.default_rng(0)
    cloud = np.c_[rng.uniform(0, 40, (2000, 1)), rng.uniform(-20, 20, (2000, 1)),
                  rng.uniform(-2, 1, (2000, 1)), rng.uniform(0, 255, (2000, 1))]
    inputs = [{k: v.copy() for k, v in detectors[0].model_inputs(
        cloud.astype(np.float32)).items()}] * 2
    ticks = iter(range(1000))
    times = interleaved_forward_ms(detectors, inputs, rounds=2, clock=lambda: next(ticks))
    # a warm-up round (2 frames x 2 models, timed and dropped), then 2 rounds of one tick each
    assert times == [[1000.0] * 4, [1000.0] * 4]
    assert next(ticks) == 3 * 4 * 2


def test_command_writes_the_readme_section_and_json(tmp_path, capsys):
    data = tmp_path / "val"
    assert main(["sim", "--frames", "3", "--seed", "9", "--out", str(data),
                 "--workers", "1"]) == 0
    readme = tmp_path / "README.md"
    readme.write_text(f"# Card\n\n{BEGIN}\nstale\n{END}\n", encoding="utf-8")
    out = tmp_path / "report.json"
    assert main(["precision-report", "--model", str(FP32), "--labels",
                 str(data / "labels.jsonl"), "--bag", str(data / "bag"), "--latency-frames", "2",
                 "--rounds", "1", "--readme", str(readme), "--json", str(out)]) == 0
    text = readme.read_text(encoding="utf-8")
    assert "stale" not in text and "3 labeled frames" in text
    assert "| ONNX Runtime int8 (CPU) |" in text and "| TensorRT fp16 |" in text
    assert "what the node runs: 15 ReLUs folded into uint8" in text
    report = json.loads(out.read_text())
    assert [r["variant"] for r in report][:3] == ["ONNX Runtime fp32 (CPU)",
                                                  "ONNX Runtime int8 (CPU)",
                                                  "ONNX Runtime int8, Q/DQ as stored (CPU)"]
    assert len(report[0]["forward_ms"]) == len(report[2]["forward_ms"]) == 2
    assert report[0]["evaluation"]["num_frames"] == 3 and report[3]["evaluation"] is None
    assert report[0]["evaluation"]["sampling"] == "exact"
    assert report[0]["evaluation_kitti"]["sampling"] == "kitti"
    assert report[0]["evaluation_kitti"]["num_gt"] == report[0]["evaluation"]["num_gt"]
    assert "`kitti` sampling" in text and SAMPLING_NOTE in text
    assert "precision-report: updated" in capsys.readouterr().out
