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
Trainable weights from a model written by ``tao-pointpillars export`` (fine-tuning an ONNX).

The export folds each backbone convolution's BatchNorm into the convolution (one fused weight and
bias), so the BatchNorm's own scale cannot be recovered.  The fused convolution is loaded as is
and its BatchNorm is rebuilt from the statistics of the fused outputs on real inputs: with running
mean ``m`` and variance ``v`` measured, scale ``sqrt(v + eps)`` and shift ``bias + m``, the layer
computes exactly the fused affine map in eval mode, and nearly the same in train mode on data like
the measured inputs (batch statistics close to ``m``, ``v``), so fine-tuning starts from the
exported model's behaviour instead of a jump.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np
import onnx
from onnx import numpy_helper
import torch
from torch import nn

from .network import PointPillarsNet
from ..core.config import ModelConfig
from ..errors import ModelLoadError
from ..inference.model_file import read_onnx


def is_onnx_file(path: str | Path) -> bool:
    """Whether ``--init-from`` names an exported model rather than a training checkpoint."""
    return Path(path).suffix.lower() == ".onnx"


def exported_model_config(path: str | Path) -> ModelConfig:
    """Read the geometry an exported model carries in its metadata."""
    proto = read_onnx(str(path))
    return ModelConfig.from_metadata({p.key: p.value for p in proto.metadata_props},
                                     source=str(path))


def _fused_backbone_pairs(model: PointPillarsNet) -> list[tuple[nn.Conv2d, nn.BatchNorm2d]]:
    """List the backbone's (Conv2d, BatchNorm2d) pairs in forward order (the export fuses them)."""
    pairs = []
    for block in model.backbone.blocks:
        layers = list(block)
        pairs += [(conv, bn) for conv, bn in zip(layers, layers[1:])
                  if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d)]
    return pairs


def _fused_conv_initializers(proto: onnx.ModelProto, arrays: dict[str, np.ndarray],
                             named: set[str]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(weight, bias) of the Conv nodes whose weights lost their module name, in graph order."""
    fused = []
    for node in proto.graph.node:
        if node.op_type == "Conv" and node.input[1] not in named and len(node.input) > 2:
            fused.append((arrays[node.input[1]], arrays[node.input[2]]))
    return fused


def model_from_exported_onnx(path: str | Path,
                             calibration_inputs: Iterable[tuple[np.ndarray, ...]]
                             ) -> tuple[PointPillarsNet, ModelConfig]:
    """
    Rebuild a trainable :class:`PointPillarsNet` (eval mode) from an exported ONNX model.

    ``calibration_inputs`` are model inputs (``frame_inputs`` tuples) on which the rebuilt
    BatchNorms of the fused convolutions measure their statistics; a few frames of the
    fine-tuning data are enough.  Raises ModelLoadError when the file is not an export of this
    package's network.
    """
    path = Path(path)
    proto = read_onnx(str(path))
    metadata = {p.key: p.value for p in proto.metadata_props}
    cfg = ModelConfig.from_metadata(metadata, source=str(path))
    model = PointPillarsNet(cfg)
    state = model.state_dict()
    arrays = {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}
    named = {k for k in arrays if k in state}
    matmuls = [n for n in proto.graph.node if n.op_type == "MatMul" and n.input[1] in arrays]
    pairs = _fused_backbone_pairs(model)
    fused = _fused_conv_initializers(proto, arrays, named)
    if len(matmuls) != 1 or len(fused) != len(pairs):
        raise ModelLoadError(
            f"{path} is not an export of this package's PointPillars network ({len(matmuls)} "
            f"weight MatMul, {len(fused)} fused convolutions, expected 1 and {len(pairs)}); "
            "fine-tune from a training checkpoint instead")
    new_state = {k: torch.from_numpy(arrays[k].copy()) for k in named}
    new_state["pfn.linear.weight"] = torch.from_numpy(arrays[matmuls[0].input[1]].T.copy())
    missing = [k for k in state if k not in new_state and not k.startswith("backbone.blocks")
               and not k.endswith("num_batches_tracked")]
    if missing:
        raise ModelLoadError(f"{path} lacks the weights {missing[:4]}; export it with "
                             "`tao-pointpillars export`")
    for k, v in new_state.items():
        if tuple(v.shape) != tuple(state[k].shape):
            raise ModelLoadError(f"{path}: {k} has shape {tuple(v.shape)}, the network "
                                 f"{tuple(state[k].shape)}")
    model.load_state_dict(new_state, strict=False)
    biases = []
    with torch.no_grad():
        for (conv, bn), (weight, bias) in zip(pairs, fused):
            if tuple(weight.shape) != tuple(conv.weight.shape):
                raise ModelLoadError(f"{path}: a fused convolution has shape {weight.shape}, "
                                     f"the network {tuple(conv.weight.shape)}")
            conv.weight.copy_(torch.from_numpy(weight.copy()))
            # an identity BatchNorm plus the fused bias: the exported map exactly, in eval mode
            bn.weight.fill_(1.0)
            bn.bias.copy_(torch.from_numpy(bias.copy()))
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)
            biases.append(torch.from_numpy(bias.copy()))
    _calibrate_fused_batchnorms(model, pairs, biases, calibration_inputs)
    model.eval()
    return model, cfg


def _calibrate_fused_batchnorms(model: PointPillarsNet,
                                pairs: list[tuple[nn.Conv2d, nn.BatchNorm2d]],
                                biases: list[torch.Tensor],
                                inputs: Iterable[tuple[np.ndarray, ...]]) -> None:
    sums = [torch.zeros(bn.num_features, dtype=torch.float64) for _, bn in pairs]
    squares = [torch.zeros_like(s) for s in sums]
    counts = [0] * len(pairs)

    def recorder(i: int):
        def hook(_module: nn.Module, _args: tuple, out: torch.Tensor) -> None:
            x = out.detach().double().transpose(0, 1).reshape(out.shape[1], -1)
            sums[i] += x.sum(1)
            squares[i] += (x * x).sum(1)
            counts[i] += x.shape[1]
        return hook

    handles = [conv.register_forward_hook(recorder(i)) for i, (conv, _) in enumerate(pairs)]
    model.eval()
    try:
        with torch.no_grad():
            for arrays in inputs:
                model(*(torch.from_numpy(a) for a in arrays))
    finally:
        for handle in handles:
            handle.remove()
    if not counts[0]:
        raise ModelLoadError("no calibration input: the fused BatchNorms need a few frames")
    with torch.no_grad():
        for (_, bn), bias, total, sq, n in zip(pairs, biases, sums, squares, counts):
            mean = total / n
            var = (sq / n - mean * mean).clamp(min=0.0)
            bn.running_mean.copy_(mean.float())
            bn.running_var.copy_(var.float())
            bn.weight.copy_(torch.sqrt(var + bn.eps).float())
            bn.bias.copy_(bias + mean.float())
