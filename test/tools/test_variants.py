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

"""Tests of tao_pointpillars_py.tools.variants: the variants bench and precision-report compare."""

from pathlib import Path
import shutil

import pytest

from tao_pointpillars_py.errors import ConfigError
from tao_pointpillars_py.tools.variants import (AS_STORED, build_variants, interleaved,
                                                NO_TENSORRT, UNTRAINED)

MODELS = Path(__file__).resolve().parents[2] / "models"
FP32, INT8 = MODELS / "pointpillars_zvision.onnx", MODELS / "pointpillars_zvision.int8.onnx"
LABELS = ["ONNX Runtime fp32 (CPU)", "ONNX Runtime int8 (CPU)",
          "ONNX Runtime int8, Q/DQ as stored (CPU)", "TensorRT fp32", "TensorRT fp16",
          "TensorRT int8", "PyTorch eager fp32 (CPU)"]


def test_without_a_gpu_or_torch_every_row_is_listed_and_says_why():
    variants = build_variants(FP32, threads=1, score_threshold=0.4, tensorrt=False, torch=False)
    assert [v.label for v in variants] == LABELS
    assert [v.detector is not None for v in variants] == [True] * 3 + [False] * 4
    assert [v.model_name for v in variants] == [
        FP32.name, INT8.name, INT8.name, FP32.name, FP32.name, INT8.name, FP32.name]
    fp32, cpu_int8, as_stored = (v.detector for v in variants[:3])
    assert variants[0].note == ""
    # the node's CPU form of the Q/DQ model, and the model as stored
    assert variants[1].note == "what the node runs: " + cpu_int8.backend.describe()
    assert cpu_int8.backend.int8_lowering is not None
    assert variants[2].note == AS_STORED and as_stored.backend.int8_lowering is None
    assert all(d.post.score_threshold == 0.4 for d in (fp32, cpu_int8, as_stored))
    assert [v.note for v in variants[3:6]] == [NO_TENSORRT] * 3
    assert variants[6].note == "not available: torch does not import (the [train] extra)"


def test_the_eager_row_can_be_left_out():
    variants = build_variants(FP32, threads=1, tensorrt=False, eager_baseline=False)
    assert [v.label for v in variants] == LABELS[:6]


def test_missing_int8_model_gives_rows_that_say_so(tmp_path):
    alone = tmp_path / "alone.onnx"
    alone.write_bytes(FP32.read_bytes())
    variants = build_variants(alone, threads=1, tensorrt=False, torch=False)
    assert [v.detector is not None for v in variants] == [True] + [False] * 6
    assert "no Q/DQ model alone.int8.onnx" in variants[1].note
    assert variants[-1].note.startswith("not available: torch does not import")


def test_an_int8_model_given_by_path_is_used_for_the_int8_rows(tmp_path):
    int8 = shutil.copy(INT8, tmp_path / "renamed.onnx")
    variants = build_variants(FP32, threads=1, int8=int8, tensorrt=False, torch=False)
    assert [v.model_name for v in variants[1:3]] == ["renamed.onnx"] * 2
    assert variants[5].model_name == "renamed.onnx"  # TensorRT int8 would build from it
    assert variants[1].detector is not None and variants[2].detector is not None


def test_an_int8_model_as_the_model_is_refused():
    with pytest.raises(ConfigError, match="int8 model"):
        build_variants(INT8)


def test_the_eager_network_is_timed_with_untrained_weights():
    pytest.importorskip("torch")
    eager = build_variants(FP32, threads=1, tensorrt=False, torch=True)[-1]
    assert eager.label == LABELS[-1] and eager.model_name == FP32.name
    assert eager.note == UNTRAINED and eager.detector is not None


def test_tensorrt_rows_build_each_precision_or_say_why_not(install_fake_tensorrt, tmp_path,
                                                           monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the engines built
    fake = install_fake_tensorrt()  # TensorRT 8.6
    variants = build_variants(FP32, threads=1, tensorrt=True, eager_baseline=False)
    assert [(v.detector is not None, v.model_name, v.note) for v in variants[3:]] == [
        (True, FP32.name, ""), (True, FP32.name, ""), (True, INT8.name, "")]
    assert fake.gpu.builds == 3
    alone = tmp_path / "alone.onnx"  # no Q/DQ model: int8 would need a calibration cache
    alone.write_bytes(FP32.read_bytes())
    trt_int8 = build_variants(alone, threads=1, tensorrt=True, eager_baseline=False)[5]
    assert trt_int8.detector is None and trt_int8.model_name == "alone.onnx"
    assert trt_int8.note.startswith("not available: precision int8 of the float model ")
    assert "needs an existing calibration cache" in trt_int8.note
    install_fake_tensorrt(version="11.0.0")  # strongly typed only: no fp16 of a float model
    fp16 = build_variants(FP32, threads=1, tensorrt=True, eager_baseline=False)[4]
    assert fp16.detector is None and "precision fp16 of a float model is refused" in fp16.note


def test_interleaving_runs_each_frame_by_every_run_in_turn_after_a_warm_up():
    calls, ticks = [], []
    runs = [lambda f, n=n: calls.append((n, f)) or f * 10 + n for n in range(3)]
    results = interleaved(runs, [1, 2], rounds=2, progress=ticks.append)
    assert calls[:6] == [(0, 1), (1, 1), (2, 1), (0, 2), (1, 2), (2, 2)]
    assert len(calls) == 3 * 2 * 3  # warm-up + 2 rounds, 2 frames, 3 runs
    assert results == [[10, 20, 10, 20], [11, 21, 11, 21], [12, 22, 12, 22]]
    assert ticks == [1] * 6
    with pytest.raises(ConfigError):
        interleaved(runs, [1], rounds=0)


def test_interleaving_without_frames_or_progress():
    runs = [lambda f: f, lambda f: -f]
    assert interleaved(runs, [], rounds=3) == [[], []]
    assert interleaved(runs, [5], rounds=1) == [[5], [-5]]
    with pytest.raises(ConfigError, match="rounds must be >= 1, got -1"):
        interleaved(runs, [5], rounds=-1)
