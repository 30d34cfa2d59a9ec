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

"""
Quantization-aware fine-tuning: int8 simulated at the input of every convolution.

``tao-pointpillars calibrate`` quantizes each convolution's input per tensor, symmetric int8,
with its range at a percentile of ``|x|``. Training with the same rounding in the forward pass
(straight-through gradient) teaches the network to carry its information on that grid. Only
activations are simulated: per-channel int8 weights cost little accuracy here, and the
checkpoint stays a plain float model that exports and calibrates as before.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import torch
from torch import nn

#: values sampled per tensor and batch to estimate its percentile (torch.quantile's limit is
#: 16M elements; the pseudo-image of a batch of 4 alone has ~5M)
SAMPLES_PER_BATCH = 200_000


def fake_quantize(x: torch.Tensor, amax: float) -> torch.Tensor:
    """Round ``x`` to symmetric int8 with range ``amax``; the gradient passes straight through."""
    scale = amax / 127.0
    wide = x.float()
    quantized = torch.clamp(torch.round(wide / scale), -127.0, 127.0) * scale
    return (wide + (quantized - wide).detach()).to(x.dtype)


def quantized_convolutions(model: nn.Module) -> dict[str, nn.Module]:
    """Map names to the modules whose inputs calibrate quantizes (Conv2d, ConvTranspose2d)."""
    return {name: module for name, module in model.named_modules()
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d))}


@torch.no_grad()
def input_ranges(model: nn.Module, batches: Iterable[Any], percentile: float,
                 seed: int = 0) -> dict[str, float]:
    """``percentile`` of |input| of each convolution over ``batches`` (model in eval mode)."""
    generator = torch.Generator().manual_seed(seed)
    samples: dict[str, list[torch.Tensor]] = {}

    def record(name: str) -> Any:
        def hook(_module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
            flat = inputs[0].detach().float().abs().reshape(-1)
            if flat.numel() > SAMPLES_PER_BATCH:
                flat = flat[torch.randint(0, flat.numel(), (SAMPLES_PER_BATCH,),
                                          generator=generator)]
            samples.setdefault(name, []).append(flat)
        return hook

    handles = [module.register_forward_pre_hook(record(name))
               for name, module in quantized_convolutions(model).items()]
    was_training = model.training
    model.eval()
    try:
        for batch in batches:
            model(batch.features, batch.coords, batch.num_pillars, batch.num_points)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return {name: max(float(np.percentile(torch.cat(values).numpy(), percentile)), 1e-6)
            for name, values in samples.items()}


def attach_fake_quant(model: nn.Module, ranges: dict[str, float]) -> list[Any]:
    """Fake-quantize each convolution's input to its range; returns the hook handles."""
    def quantize_input(amax: float) -> Any:
        def hook(_module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> tuple[Any, ...]:
            return (fake_quantize(inputs[0], amax),) + tuple(inputs[1:])
        return hook

    modules = quantized_convolutions(model)
    return [modules[name].register_forward_pre_hook(quantize_input(amax))
            for name, amax in ranges.items()]
