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

"""Tests of ``tao-pointpillars calibrate`` on a tiny exported network and a real bag."""

import onnx
from onnx import numpy_helper
from onnx_fixtures import export_tiny_network, tiny_network_clouds, TINY_NETWORK_CONFIG
import pytest

pytest.importorskip("torch", reason="the tiny network is exported with the [train] extra")

from tao_pointpillars_py.cli import main  # noqa: E402
from tao_pointpillars_py.data.bags import write_cloud_bag  # noqa: E402
from tao_pointpillars_py.inference.detector import Detector  # noqa: E402
from tao_pointpillars_py.quantization.quantize import qdq_problems, quantize_model  # noqa: E402
from tensorrt_fake import Fakes  # noqa: E402

CONFIG = TINY_NETWORK_CONFIG
_clouds = tiny_network_clouds


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("calibrate")
    model = export_tiny_network(folder / "tiny.onnx")
    bag = folder / "calib_bag"
    write_cloud_bag(bag, [(10**18 + i * 100_000_000, c) for i, c in enumerate(_clouds(6))])
    return model, bag


def _activation_scales(path):
    model = onnx.load(str(path))
    constants = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    return {n.input[0]: float(constants[n.input[1]]) for n in model.graph.node
            if n.op_type == "QuantizeLinear" and constants[n.input[1]].size == 1}


def test_calibrate_writes_a_qdq_model_with_its_provenance(tiny, tmp_path, capsys):
    model, bag = tiny
    out = tmp_path / "tiny.int8.onnx"
    assert main(["calibrate", "--bag", str(bag), "--model", str(model), "--frames", "3",
                 "--out", str(out)]) == 0
    written = onnx.load(str(out))
    assert qdq_problems(written) == []
    props = {p.key: p.value for p in written.metadata_props}
    assert props["calibration.bags"] == "calib_bag" and props["calibration.frames"] == "3"
    assert props["calibration.method"] == "percentile"
    assert props["calibration.percentile"] == "99.99" and props["calibration.equalized"] == "true"
    output = capsys.readouterr().out
    assert "percentile 99.99, channels equalized" in output
    assert "no TensorRT / GPU here, so no TensorRT calibration cache" in output


def test_entropy_calibration_is_not_minmax(tiny, tmp_path):
    model, _ = tiny
    detector = Detector.from_model(str(model))
    feeds = [{k: v.copy() for k, v in detector.model_inputs(c).items()} for c in _clouds(4, 1)]
    scales = {}
    for method in ("minmax", "entropy"):
        quantize_model(model, tmp_path / f"{method}.onnx", feeds, method=method)
        scales[method] = _activation_scales(tmp_path / f"{method}.onnx")
    assert set(scales["minmax"]) == set(scales["entropy"])
    smaller = [t for t in scales["minmax"] if scales["entropy"][t] < 0.99 * scales["minmax"][t]]
    assert smaller, "entropy kept every full range: it degenerated to minmax"
    assert all(scales["entropy"][t] <= scales["minmax"][t] * 1.001 for t in scales["minmax"])


def test_with_tensorrt_the_same_frames_write_its_calibration_cache(
        tiny, tmp_path, capsys, monkeypatch):
    fakes = Fakes().install(monkeypatch)
    model, bag = tiny
    cache = tmp_path / "tiny.calib"
    assert main(["calibrate", "--bag", str(bag), "--model", str(model), "--frames", "3",
                 "--out", str(tmp_path / "tiny.int8.onnx"), "--calib-cache", str(cache)]) == 0
    assert cache.is_file() and cache.stat().st_size > 0
    assert len(fakes.gpu.calibration_batches) == 3
    assert f"wrote the TensorRT calibration cache {cache}" in capsys.readouterr().out


def test_on_tensorrt_11_calibrate_keeps_the_cache_and_says_why(tiny, tmp_path, capsys,
                                                               monkeypatch):
    fakes = Fakes(version="11.4.0.106").install(monkeypatch)  # no implicit int8 in 11
    model, bag = tiny
    cache, out = tmp_path / "tiny.calib", tmp_path / "tiny.int8.onnx"
    cache.write_bytes(b"TRT-8601-EntropyCalibration2\nkept: 1\n")
    assert main(["calibrate", "--bag", str(bag), "--model", str(model), "--frames", "3",
                 "--out", str(out), "--calib-cache", str(cache)]) == 0
    assert qdq_problems(onnx.load(str(out))) == []
    assert cache.read_bytes() == b"TRT-8601-EntropyCalibration2\nkept: 1\n"
    assert fakes.gpu.builds == 0
    output = capsys.readouterr().out
    assert "TensorRT 11.4.0.106 has no implicit int8 calibration" in output
    assert f"{cache} is left as it is" in output
    assert f"build-engine {out} --precision int8" in output
