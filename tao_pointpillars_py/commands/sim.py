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

"""``tao-pointpillars sim``: write a simulated, labeled Zvision-like dataset directory."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..data.bags import STORAGES
from ..sim.dataset_writer import DEFAULT_START_TIME_NS, write_dataset


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the sim options."""
    parser.add_argument("--frames", type=int, required=True, help="number of frames")
    parser.add_argument("--seed", type=int, default=0, help="scene seed (default 0)")
    parser.add_argument("--out", type=Path, required=True, help="dataset directory to write")
    parser.add_argument("--storage", choices=STORAGES, default="sqlite3",
                        help="rosbag2 storage (default sqlite3)")
    parser.add_argument("--workers", type=int, default=None,
                        help="generator processes (default: CPU count)")
    parser.add_argument("--start-time-ns", type=int, default=DEFAULT_START_TIME_NS,
                        help="timestamp of frame 0 in ns; frames are 100 ms apart")
    parser.add_argument("--force", action="store_true",
                        help="replace bag/ and labels.jsonl of a non-empty --out")


def run(args: argparse.Namespace) -> int:
    """Generate ``--frames`` frames and write DIR/bag and DIR/labels.jsonl."""
    summary = write_dataset(args.out, args.frames, args.seed, args.storage, args.workers,
                            args.start_time_ns, args.force)
    print(f"sim: {summary.describe(args.out)}")
    return 0
