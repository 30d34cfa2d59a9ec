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
``tao-pointpillars import-tao``: a TAO-exported model as a plain-operator native model.

The result runs on ONNX Runtime (CPU), can be int8-calibrated with ``tao-pointpillars
calibrate`` and builds on TensorRT 10.12+ / 11 without the deprecated plugins. See docs/tao.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..inference.model_file import read_onnx
from ..inference.tao_layout import import_tao, SCORE_THRESH_KEY, TAO_INTENSITY_RANGE


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the import-tao options."""
    parser.add_argument("model", type=Path, metavar="TAO.onnx",
                        help="a TAO PointPillars export (points -> output_boxes, plugins)")
    parser.add_argument("--out", type=Path, required=True, metavar="MODEL.onnx",
                        help="native model to write")
    parser.add_argument("--class-names", default=None, metavar="A,B,C",
                        help="class names in training order (needed when the model carries "
                             "none, as TAO's exports do)")
    parser.add_argument("--intensity-range", type=float, nargs=2, default=None,
                        metavar=("MIN", "MAX"),
                        help="intensity range the model was trained on (default: its metadata, "
                             f"else {list(TAO_INTENSITY_RANGE)})")


def run(args: argparse.Namespace) -> int:
    """Write the native form of TAO.onnx and say what it holds."""
    import onnx

    names = None if args.class_names is None else [
        n.strip() for n in args.class_names.split(",") if n.strip()]
    model = import_tao(read_onnx(str(args.model)), class_names=names, source=str(args.model),
                       intensity_range=args.intensity_range)
    onnx.checker.check_model(model)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(args.out))
    metadata = {p.key: p.value for p in model.metadata_props}
    graph = model.graph
    print(f"wrote {args.out}: inputs {[i.name for i in graph.input]} -> outputs "
          f"{[o.name for o in graph.output]}, {len(graph.node)} nodes, standard operators only")
    for key in ("class_names", "point_cloud_range", "voxel_size", "max_pillars",
                "max_points_per_pillar", "anchors", "box_coder", "intensity_range",
                SCORE_THRESH_KEY):
        print(f"  {key}: {metadata.get(key, '')}")
    return 0
