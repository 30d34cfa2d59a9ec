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

"""``tao-pointpillars export``: training checkpoint -> ONNX model with metadata."""

from __future__ import annotations

import argparse

from ..errors import ConfigError

#: Largest ONNX Runtime vs PyTorch difference accepted by ``--verify-data``.
TOLERANCE = 1e-3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the export options."""
    parser.add_argument("checkpoint", metavar="CKPT", help="RUN_DIR/last.ckpt or epoch_XX.ckpt")
    parser.add_argument("--out", required=True, metavar="MODEL.onnx", help="ONNX file to write")
    parser.add_argument("--verify-data", metavar="DIR",
                        help="dataset directory whose frames check ONNX Runtime vs PyTorch")
    parser.add_argument("--verify-frames", type=int, default=10,
                        help="frames of --verify-data to check (default 10)")


def run(args: argparse.Namespace) -> int:
    """Export CKPT to ONNX; with --verify-data, exit 1 if ONNX Runtime and torch disagree."""
    try:
        import torch  # noqa: F401
    except ImportError as exc:
        raise ConfigError("export needs PyTorch: pip install 'tao_pointpillars_py[train]'"
                          ) from exc
    from ..training.export import (export_checkpoint, max_abs_differences,
                                   verification_inputs)

    model, proto = export_checkpoint(args.checkpoint, args.out)
    print(f"wrote {args.out} (opset {proto.opset_import[0].version}, "
          f"{len(proto.graph.node)} nodes)")
    if not args.verify_data:
        return 0
    inputs = verification_inputs(args.verify_data, model.cfg, args.verify_frames)
    if not inputs:
        raise ConfigError(f"{args.verify_data} has no frames to verify with")
    worst = max_abs_differences(model, args.out, inputs)
    for name, value in worst.items():
        print(f"max |onnxruntime - torch| {name}: {value:.3g}")
    if max(worst.values()) > TOLERANCE:
        print(f"FAILED: difference above {TOLERANCE} on {len(inputs)} frames")
        return 1
    print(f"OK: within {TOLERANCE} on {len(inputs)} frames")
    return 0
