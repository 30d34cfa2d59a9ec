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

"""``tao-pointpillars`` command line: one subcommand per module in :mod:`.commands`."""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from .errors import PointPillarsError

#: subcommand name -> module under tao_pointpillars_py.commands (imported only when used,
#: so `tao-pointpillars sim` never imports torch).
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "sim": ("sim", "generate simulated Zvision-like labeled bags"),
    "train": ("train", "train a PointPillars model (needs the [train] extra)"),
    "export": ("export", "export a checkpoint to ONNX with metadata (needs [train])"),
    "eval": ("evaluate", "KITTI-style AP of detections or of a model against labels"),
    "calibrate": ("calibrate", "int8 Q/DQ model calibrated on frames spread over bags"),
    "precision-report": ("precision_report", "fp32 vs int8 (vs TensorRT) AP and speed, side "
                         "by side, into models/README.md"),
    "bench": ("bench", "side-by-side speed of every backend and precision on this machine"),
    "export-tao": ("export_tao", "one of this package's models in TAO's deployable layout "
                   "(TensorRT plugins)"),
    "import-tao": ("import_tao", "a TAO-exported model as a plain-operator native model (runs "
                   "on ONNX Runtime, calibrates, builds without plugins)"),
    "build-engine": ("build_engine", "TensorRT engine from an ONNX model (needs a GPU)"),
    "detect": ("detect", "the node's answers to every cloud of a bag, written to a new bag "
               "(no DDS)"),
    "demo": ("demo", "the node on a simulated sample bag over ROS 2, with a summary"),
    "play": ("play", "publish a bag's messages over ROS 2 (rosbags + rclpy)"),
    "record": ("record", "record ROS 2 topics into a bag (rosbags + rclpy)"),
    "render": ("render", "bird's-eye-view pictures, an animation and a summary figure of a bag"),
    "import-pcap": ("import_pcap", "a Zvision ML-30S-A1 pcap capture into a bag of the vendor "
                    "driver's clouds"),
    "import-bin": ("import_bin", "KITTI-style float32 (x, y, z, r) .bin scans into a bag"),
}


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tao-pointpillars", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            module = importlib.import_module(f"{__package__}.commands.{module_name}")
            module.add_arguments(sub_parser)
            sub_parser.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except PointPillarsError as exc:
        print(f"tao-pointpillars {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
