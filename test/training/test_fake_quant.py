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

"""Tests of tao_pointpillars_py.training.fake_quant and the trainer's --qat-percentile."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tao_pointpillars_py.training.data import collate  # noqa: E402
from tao_pointpillars_py.training.fake_quant import (attach_fake_quant,  # noqa: E402
                                                     fake_quantize, input_ranges,
                                                     quantized_convolutions)
from tao_pointpillars_py.training.train import Trainer, TrainOptions  # noqa: E402


def test_fake_quantize_rounds_to_the_int8_grid_and_passes_gradients_straight():
    x = torch.tensor([-3.0, -0.04, 0.0, 0.06, 1.2345, 2.0], requires_grad=True)
    y = fake_quantize(x, amax=1.27)  # step 0.01, clipped at +-1.27
    np.testing.assert_allclose(y.detach().numpy(), [-1.27, -0.04, 0.0, 0.06, 1.23, 1.27],
                               atol=1e-6)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones(6))


def test_bf16_inputs_stay_bf16():
    x = torch.linspace(-2, 2, 11, dtype=torch.bfloat16)
    assert fake_quantize(x, 2.0).dtype == torch.bfloat16


def test_trainer_with_qat_simulates_int8_at_every_convolution(tmp_path, tiny_cfg, tiny_frame):
    options = {"data": ("tiny",), "out": str(tmp_path), "epochs": 1, "batch_size": 1,
               "seed": 5, "bf16": False, "num_workers": 0, "threads": 1, "progress": False}
    plain = Trainer(TrainOptions(**options), tiny_cfg, [tiny_frame])
    qat = Trainer(TrainOptions(qat_percentile=99.99, **options), tiny_cfg, [tiny_frame])
    qat.model.load_state_dict(plain.model.state_dict())
    assert set(qat.quant_ranges) == set(quantized_convolutions(qat.model))
    assert all(value > 0 for value in qat.quant_ranges.values())
    batch = collate([plain.dataset[0]])
    args = (batch.features, batch.coords, batch.num_pillars, batch.num_points)
    plain.model.eval()
    qat.model.eval()
    with torch.no_grad():
        float_out = plain.model(*args)
        int8_out = qat.model(*args)
    differences = [float((a - b).abs().max()) for a, b in zip(float_out, int8_out)]
    assert all(d > 0 for d in differences)  # the rounding is really applied
    assert all(d < 0.5 * float(a.abs().max()) + 0.05 for d, a in zip(differences, float_out))
    # hooks only: the checkpoint is a plain float model that exports as before
    assert set(qat.checkpoint_state()["model"]) == set(plain.model.state_dict())
    assert qat.checkpoint_state()["quant_ranges"] == qat.quant_ranges


def test_input_ranges_are_the_percentile_of_the_absolute_inputs(tiny_cfg, tiny_frame):
    trainer = Trainer(TrainOptions(data=("tiny",), out="unused", epochs=1, batch_size=1,
                                   bf16=False, num_workers=0, threads=1, progress=False),
                      tiny_cfg, [tiny_frame])
    batch = collate([trainer.dataset[0]])
    seen = {}
    first = next(iter(quantized_convolutions(trainer.model).items()))

    def record(module, inputs):
        seen["x"] = inputs[0].detach().abs().reshape(-1)

    handle = first[1].register_forward_pre_hook(record)
    ranges = input_ranges(trainer.model, [batch], percentile=100.0)
    handle.remove()
    assert ranges[first[0]] == pytest.approx(float(seen["x"].max()), rel=1e-6)
    handles = attach_fake_quant(trainer.model, ranges)
    assert len(handles) == len(ranges)
