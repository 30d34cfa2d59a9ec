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

"""Tests of the side-by-side speed measurement (:mod:`tao_pointpillars_py.tools.benchmark`)."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from tao_pointpillars_py.cli import main
from tao_pointpillars_py.data.bags import read_clouds
from tao_pointpillars_py.errors import ConfigError
from tao_pointpillars_py.inference.detector import Detector
from tao_pointpillars_py.ros.parameters import settings_from_file
from tao_pointpillars_py.tools.benchmark import (bag_frames, BenchReport, BenchResult,
                                                 configure_variants, machine_context, measure,
                                                 percentile, simulated_frames, STAGES, Summary)
from tao_pointpillars_py.tools.torch_baseline import torch_detector
from tao_pointpillars_py.tools.variants import build_variants, NO_TENSORRT

MODELS = Path(__file__).resolve().parents[2] / "models"
FP32 = MODELS / "pointpillars_zvision.onnx"
ZVISION_PARAMS = MODELS.parent / "params" / "zvision_ml30s.yaml"


def test_median_and_p99_of_known_values():
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 50) == 50.5
    assert percentile(values, 99) == pytest.approx(99.01)  # 99 + 0.01 * (100 - 99)
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert Summary.of([7.0]) == Summary(7.0, 7.0)
    assert Summary.of([10.0, 20.0]) == Summary(15.0, pytest.approx(19.9))
    empty = Summary.of([])
    assert math.isnan(empty.median) and math.isnan(empty.p99)


def _report(results):
    return BenchReport(results, machine_context(FP32, "simulated frames (seed 0)", 1, 2, 1))


def test_table_has_a_row_per_variant_with_speed_up_and_frames_per_second():
    fast = BenchResult("fast", "m.int8.onnx", "note here", {
        "preprocess": [1.0, 1.0], "inference": [5.0, 5.0], "postprocess": [1.0, 3.0],
        "total": [7.0, 9.0]})
    base = BenchResult("base", "m.onnx", "", {
        "preprocess": [1.0, 1.0], "inference": [10.0, 20.0], "postprocess": [1.0, 1.0],
        "total": [12.0, 22.0]})
    missing = BenchResult("TensorRT fp16", "m.onnx", NO_TENSORRT)
    lines = _report([base, fast, missing]).table().splitlines()
    assert len(lines) == 2 + 3
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
    assert cells[0][0] == "variant" and cells[0][-1] == "note"
    assert cells[2][0] == "base" and cells[2][2] == "15.00 / 19.90"
    assert cells[2][4] == "17.00 / 21.90" and cells[2][5] == "58.8" and cells[2][6] == "1.00x"
    assert cells[3][3] == "2.00 / 2.98" and cells[3][6] == "3.00x" and cells[3][5] == "125.0"
    assert cells[3][7] == "note here"
    assert cells[4][1:7] == ["–"] * 6 and cells[4][7] == NO_TENSORRT
    widths = {tuple(len(c) for c in line.split("|")[1:-2]) for line in lines}
    assert len(widths) == 1, "columns are not aligned"


def test_variants_on_this_machine_give_positive_finite_times(tmp_path):
    variants = build_variants(FP32, threads=1)
    labels = [v.label for v in variants]
    results = measure(variants, simulated_frames(2, seed=3), rounds=1)
    assert [r.label for r in results] == labels
    for variant, result in zip(variants, results):
        assert result.available == (variant.detector is not None)
        if not result.available:
            if result.label.startswith("PyTorch"):  # a venv without the [train] extra
                assert result.note.endswith("(the [train] extra)")
                continue
            assert result.note == NO_TENSORRT and result.label.startswith("TensorRT")
            continue
        for stage in STAGES:
            times = np.asarray(result.times[stage])
            assert times.shape == (2,) and np.all(np.isfinite(times)) and np.all(times > 0)
        assert np.all(np.asarray(result.times["total"]) >= result.times["inference"])
        assert np.allclose(result.times["total"], np.sum(
            [result.times[s] for s in STAGES[:3]], axis=0))
    report = _report(results)
    assert [line.split("|")[1].strip() for line in report.table().splitlines()[2:]] == labels
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(report.to_json()), encoding="utf-8")
    again = BenchReport.from_json(json.loads(path.read_text(encoding="utf-8")))
    assert again.table() == report.table() and again.context == report.context


def test_empty_cloud_and_no_frames():
    variants = build_variants(FP32, threads=1, tensorrt=False, torch=False)[:1]
    result, = measure(variants, [np.zeros((0, 4), np.float32)], rounds=1)
    assert result.available and result.times["inference"][0] > 0
    with pytest.raises(ConfigError, match="no frames"):
        measure(variants, [], rounds=1)


def test_torch_outputs_have_the_names_and_shapes_of_onnxruntime_ones():
    pytest.importorskip("torch")
    reference = Detector.from_model(str(FP32), backend_options={"threads": 1})
    eager = torch_detector(FP32, threads=1)
    assert eager.dynamic_pillars == reference.dynamic_pillars
    points = simulated_frames(1, seed=5)[0]
    inputs = {k: v.copy() for k, v in reference.model_inputs(points).items()}
    assert 0 < inputs["pillar_features"].shape[1] < reference.config.pillars.max_pillars
    expected = reference.backend.infer(inputs)
    got = eager.backend.infer(inputs)
    assert list(got) == list(expected)
    for name, value in expected.items():
        assert got[name].shape == value.shape and got[name].dtype == value.dtype
        assert np.all(np.isfinite(got[name]))
    eager.detect(points)
    assert eager.last_timings.inference_ms > 0


def test_bag_frames_are_spread_over_the_recording(tmp_path):
    data = tmp_path / "data"
    assert main(["sim", "--frames", "6", "--seed", "9", "--out", str(data),
                 "--workers", "1"]) == 0
    bag = data / "bag"
    clouds = [c.points for c in read_clouds(bag)]
    assert len(clouds) == 6
    frames, indices = bag_frames(bag, None, 3)
    assert indices == [0, 2, 5]
    assert len(frames) == 3
    for frame, index in zip(frames, indices):
        np.testing.assert_array_equal(frame, clouds[index])
    everything, all_indices = bag_frames(bag, None, 10)
    assert all_indices == list(range(6)) and len(everything) == 6


def test_configured_variants_read_simulated_clouds_put_in_the_params_frame():
    settings = settings_from_file(ZVISION_PARAMS)
    turned = simulated_frames(2, seed=5, cloud_to_model=settings.cloud_to_model)
    plain = simulated_frames(2, seed=5)
    # the Zvision driver's +y forward: the simulated x-forward scene turned by +90 degrees
    np.testing.assert_array_equal(turned[0][:, [1, 0, 2, 3]] * [1, -1, 1, 1], plain[0])
    variants = build_variants(FP32, threads=1, tensorrt=False, torch=False)[:1]
    configure_variants(variants, settings)
    detector = variants[0].detector
    assert detector.cloud_to_model is settings.cloud_to_model
    assert detector.intensity_range == settings.intensity_range
    assert detector.post == settings.post
    expected = Detector.from_model(str(FP32), backend_options={"threads": 1}).detect(plain[1])
    found = detector.detect(turned[1])
    assert len(expected) > 0 and np.array_equal(found.labels, expected.labels)
    np.testing.assert_allclose(found.boxes[:, :2], expected.boxes[:, [1, 0]] * [-1, 1],
                               atol=1e-4)
