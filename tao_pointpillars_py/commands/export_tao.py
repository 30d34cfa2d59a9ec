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
``tao-pointpillars export-tao``: one of this package's models in TAO's deployable layout.

The result takes ``points`` / ``num_points`` and returns ``output_boxes`` / ``num_boxes``
through TensorRT's VoxelGenerator, PillarScatter and DecodeBbox3D plugins, like a model
exported by TAO, so NVIDIA's ros2_tao_pointpillars node and TensorRT (8.6 / 10.x, with the
plugins) run it. See docs/tao.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..inference.model_file import read_onnx
from ..inference.tao_layout import (DEFAULT_MAX_POINTS, DEFAULT_SCORE_THRESH, export_tao,
                                    plugin_attributes, PLUGIN_OPS)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the export-tao options."""
    parser.add_argument("model", type=Path, metavar="MODEL.onnx",
                        help="a model from `tao-pointpillars export` (native contract)")
    parser.add_argument("--out", type=Path, required=True, metavar="TAO.onnx",
                        help="TAO-layout model to write")
    parser.add_argument("--max-points", type=int, default=DEFAULT_MAX_POINTS, metavar="N",
                        help=f"point capacity of the `points` input (default {DEFAULT_MAX_POINTS}"
                             ", TAO's max_points_num)")
    parser.add_argument("--score-thresh", type=float, default=DEFAULT_SCORE_THRESH, metavar="S",
                        help="DecodeBbox3D's score threshold; the node's score_threshold applies "
                             f"on top (default {DEFAULT_SCORE_THRESH}, TAO's)")


def run(args: argparse.Namespace) -> int:
    """Write MODEL in TAO's layout and say what the plugin nodes carry."""
    import onnx

    model = export_tao(read_onnx(str(args.model)), max_points=args.max_points,
                       score_thresh=args.score_thresh, source=str(args.model))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(args.out))
    graph = model.graph
    print(f"wrote {args.out}: inputs {[i.name for i in graph.input]} -> outputs "
          f"{[o.name for o in graph.output]}, {len(graph.node)} nodes")
    for node in graph.node:
        if node.op_type in PLUGIN_OPS:
            values = ", ".join(f"{k}={_short(v)}" for k, v in plugin_attributes(node).items())
            print(f"  {node.op_type} {list(node.input)} -> {list(node.output)}: {values}")
    return 0


def _short(value: object) -> str:
    if isinstance(value, float):
        value = float(f"{value:.6g}")  # float32 attributes, printed as written
    elif isinstance(value, list):
        value = [float(f"{v:.6g}") if isinstance(v, float) else v for v in value]
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
