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

"""Tests of tao_pointpillars_py.training.export (tiny models)."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from tao_pointpillars_py.core.config import ModelConfig  # noqa: E402
from tao_pointpillars_py.core.input_health import (in_range_mask,  # noqa: E402
                                                   training_intensity_from_metadata)
from tao_pointpillars_py.inference.model_file import file_sha256  # noqa: E402
from tao_pointpillars_py.training.export import (example_inputs,  # noqa: E402
                                                 export_checkpoint, export_model,
                                                 frame_inputs, INPUT_NAMES,
                                                 max_abs_differences, non_standard_ops,
                                                 OUTPUT_NAMES)
from tao_pointpillars_py.training.train import train, TrainOptions  # noqa: E402


@pytest.fixture
def exported(tmp_path, tiny_cfg, trained_like_net):
    net = trained_like_net(tiny_cfg)
    path = tmp_path / "tiny.onnx"
    proto = export_model(net, path, {"training.seed": "3"})
    return net, path, proto


def test_onnx_matches_torch(exported, tiny_cfg, tiny_frame):
    net, path, _ = exported
    inputs = [example_inputs(tiny_cfg, seed=1), frame_inputs(tiny_frame.points, tiny_cfg)]
    worst = max_abs_differences(net, path, inputs)
    assert set(worst) == set(OUTPUT_NAMES)
    assert max(worst.values()) <= 1e-4


def test_onnx_has_a_pillar_axis_io_and_only_standard_ops(exported, tiny_cfg):
    _, path, proto = exported
    model = onnx.load(str(path))
    assert non_standard_ops(model) == []
    inputs = {i.name: [d.dim_value or d.dim_param for d in i.type.tensor_type.shape.dim]
              for i in model.graph.input}
    p = tiny_cfg.pillars
    assert inputs == {INPUT_NAMES[0]: [1, "pillars", p.max_points_per_pillar, 10],
                      INPUT_NAMES[1]: [1, "pillars", 2], INPUT_NAMES[2]: [1]}
    assert [o.name for o in model.graph.output] == list(OUTPUT_NAMES)
    assert model.graph.input[1].type.tensor_type.elem_type == onnx.TensorProto.INT32


def test_occupied_pillars_alone_give_the_padded_outputs(exported, tiny_cfg, tiny_frame):
    import onnxruntime as ort
    from tao_pointpillars_py.inference.detector import Detector
    _, path, _ = exported
    features, coords, count = frame_inputs(tiny_frame.points, tiny_cfg)
    count = int(count[0])
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    number = np.array([count], np.int32)
    padded = session.run(None, dict(zip(INPUT_NAMES, (features, coords, number))))
    occupied = session.run(None, dict(zip(INPUT_NAMES, (features[:, :count], coords[:, :count],
                                                        number))))
    for a, b in zip(padded, occupied):
        np.testing.assert_array_equal(a, b)
    detector = Detector.from_model(str(path))
    assert detector.dynamic_pillars
    assert detector.model_inputs(tiny_frame.points)["pillar_features"].shape[1] == count


def test_onnx_metadata_rebuilds_the_config(exported, tiny_cfg):
    _, path, _ = exported
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert ModelConfig.from_metadata(props) == tiny_cfg
    assert props["training.seed"] == "3"
    assert "exporter.version" in props


def test_export_checkpoint_writes_provenance(tmp_path, tiny_cfg, tiny_frame):
    opts = TrainOptions(data=("d1", "d2"), out=str(tmp_path / "run"), epochs=1, batch_size=1,
                        seed=11, bf16=False, num_workers=0, threads=1, progress=False)
    train(opts, tiny_cfg, [tiny_frame])
    ckpt = tmp_path / "run" / "last.ckpt"
    net, proto = export_checkpoint(ckpt, tmp_path / "m.onnx")
    props = {p.key: p.value for p in proto.metadata_props}
    assert props["training.checkpoint_sha256"] == file_sha256(ckpt)
    assert props["training.epochs"] == "1"
    assert props["training.seed"] == "11"
    assert json.loads(props["training.data"]) == ["d1", "d2"]
    # the training data's intensity percentiles (in range, model units) for input health
    inside = in_range_mask(tiny_frame.points, tiny_cfg.pillars.point_cloud_range)
    p50, p99 = np.percentile(tiny_frame.points[inside, 3], [50, 99])
    assert float(props["training.intensity_p50"]) == pytest.approx(p50, rel=1e-4)
    assert float(props["training.intensity_p99"]) == pytest.approx(p99, rel=1e-4)
    assert training_intensity_from_metadata(props) == pytest.approx((p50, p99), rel=1e-4)
    assert not net.training
    worst = max_abs_differences(net, tmp_path / "m.onnx",
                                [frame_inputs(tiny_frame.points, tiny_cfg)])
    assert max(worst.values()) <= 1e-4
    assert np.isfinite(list(worst.values())).all()
