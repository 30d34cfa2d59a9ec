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
ONNX model files of the tests: tiny real models built with onnx.helper, and broken ones.

The tiny models have this package's native contract; :func:`broken_model` writes the bad model
files a user may point the package at (truncated, text, no metadata, ...).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

from tao_pointpillars_py.core.anchors import generate_anchors
from tao_pointpillars_py.core.config import ModelConfig, PillarConfig

REFERENCE_MODEL = Path(__file__).resolve().parents[1] / "models" / "pointpillars_zvision.onnx"
TINY_CONFIG = ModelConfig(pillars=PillarConfig(point_cloud_range=(0.0, -4.0, -3.0, 8.0, 4.0, 3.0),
                                               voxel_size=(0.5, 0.5, 6.0),
                                               max_points_per_pillar=8, max_pillars=64))
#: geometry of the tiny trainable network (PointPillarsNet) that quantization tests export
TINY_NETWORK_CONFIG = ModelConfig(pillars=PillarConfig((0.0, -5.12, -3.0, 10.24, 5.12, 3.0),
                                                       (0.32, 0.32, 6.0), 8, 256))


def tiny_network_clouds(count: int, seed: int = 0) -> list[np.ndarray]:
    """Clouds of 400 random points inside TINY_NETWORK_CONFIG's range, driver intensity."""
    rng = np.random.default_rng(seed)
    return [np.c_[rng.uniform(0, 10, (400, 1)), rng.uniform(-5, 5, (400, 1)),
                  rng.uniform(-2, 1, (400, 1)), rng.uniform(0, 255, (400, 1))].astype(np.float32)
            for _ in range(count)]


def export_tiny_network(path: Path, metadata: dict[str, str] | None = None) -> Path:
    """Export the tiny PointPillarsNet (seeded weights) to ``path``; needs the train extra."""
    import torch

    from tao_pointpillars_py.training.export import export_model
    from tao_pointpillars_py.training.network import PointPillarsNet

    torch.manual_seed(0)
    export_model(PointPillarsNet(TINY_NETWORK_CONFIG).eval(), path, metadata)
    return path


def fired_anchor_model(path, config: ModelConfig = TINY_CONFIG, anchor_index: int = 100,
                       class_index: int = 1, logit: float = 2.0, with_metadata: bool = True,
                       input_names=("pillar_features", "pillar_coords", "num_pillars"),
                       output_names=("cls_preds", "box_preds", "dir_cls_preds"),
                       pillar_axis=None) -> np.ndarray:
    """
    Write a model whose only confident output is ``anchor_index`` when the cloud has pillars.

    cls_preds = -10 everywhere, plus (logit + 10) at (anchor_index, class_index) times
    min(num_pillars, 1); box residuals are zero, so the detection is the anchor itself.
    Returns that anchor (7,).
    """
    p = config.pillars
    anchors = generate_anchors(config).reshape(-1, 7)
    k, c = anchors.shape[0], config.num_classes
    base = np.full((1, k, c), -10.0, np.float32)
    bump = np.zeros((1, k, c), np.float32)
    bump[0, anchor_index, class_index] = logit + 10.0
    dirs = np.zeros((1, k, 2), np.float32)
    dirs[0, :, 0] = 1.0  # direction bin 0
    inits = [numpy_helper.from_array(base, "base"), numpy_helper.from_array(bump, "bump"),
             numpy_helper.from_array(np.zeros((1, k, 7), np.float32), "zeros"),
             numpy_helper.from_array(dirs, "dirs"),
             numpy_helper.from_array(np.ones((1,), np.float32), "one")]
    nodes = [
        helper.make_node("Cast", [input_names[2]], ["count"], to=TensorProto.FLOAT),
        helper.make_node("Min", ["count", "one"], ["gate"]),
        helper.make_node("Mul", ["bump", "gate"], ["gated"]),
        helper.make_node("Add", ["base", "gated"], [output_names[0]]),
        helper.make_node("Identity", ["zeros"], [output_names[1]]),
        helper.make_node("Identity", ["dirs"], [output_names[2]]),
    ]
    pillars = p.max_pillars if pillar_axis is None else pillar_axis  # e.g. "pillars": dynamic
    inputs = [
        helper.make_tensor_value_info(input_names[0], TensorProto.FLOAT,
                                      [1, pillars, p.max_points_per_pillar, 10]),
        helper.make_tensor_value_info(input_names[1], TensorProto.INT32, [1, pillars, 2]),
        helper.make_tensor_value_info(input_names[2], TensorProto.INT32, [1]),
    ]
    outputs = [helper.make_tensor_value_info(output_names[0], TensorProto.FLOAT, [1, k, c]),
               helper.make_tensor_value_info(output_names[1], TensorProto.FLOAT, [1, k, 7]),
               helper.make_tensor_value_info(output_names[2], TensorProto.FLOAT, [1, k, 2])]
    graph = helper.make_graph(nodes, "fired_anchor", inputs, outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if with_metadata:
        helper.set_model_props(model, config.to_metadata())
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return anchors[anchor_index]


def broken_model(kind: str, folder: Path) -> Path:
    """Write one kind of bad model file into ``folder``; return its path."""
    path = folder / f"{kind}.onnx"
    if kind == "truncated":  # the first half of the reference model
        data = REFERENCE_MODEL.read_bytes()
        path.write_bytes(data[:len(data) // 2])
    elif kind == "text":
        path.write_text("model: pointpillars\nthis is a text file, not an ONNX model\n")
    elif kind == "lfs-pointer":
        path.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:4d7a0c\n"
                        "size 19358244\n")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "directory":
        path.mkdir()
    elif kind == "no-metadata":  # the reference model with its metadata_props stripped
        model = onnx.load(str(REFERENCE_MODEL))
        del model.metadata_props[:]
        onnx.save(model, str(path))
    return path
