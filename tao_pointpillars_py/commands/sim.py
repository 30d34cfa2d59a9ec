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
from ..errors import ConfigError
from ..sim.dataset_writer import DEFAULT_START_TIME_NS, SensorOptions, write_dataset
from ..sim.ml30s import DEFAULT_MOUNT_HEIGHT_RANGE, DEFAULT_SENSOR, SENSORS


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
    low, high = DEFAULT_MOUNT_HEIGHT_RANGE
    parser.add_argument("--sensor", choices=SENSORS, default=DEFAULT_SENSOR,
                        help="default: the 320 x 160 grid the previous reference model was "
                             "trained on; ml30s-a1: the real ML-30S-A1's angle table and "
                             "intensity, what the reference model is trained on "
                             "(docs/simulator_vs_real.md)")
    parser.add_argument("--mount-height-range", type=float, nargs=2, metavar=("LOW", "HIGH"),
                        default=None,
                        help=f"sensor height above the ground in metres, drawn per frame "
                             f"(default: 0.97 1.03 for the default sensor, {low} {high} for "
                             f"ml30s-a1); clouds and labels are in the sensor's frame")
    parser.add_argument("--distractors", type=int, nargs=2, metavar=("LOW", "HIGH"),
                        default=None,
                        help="unlabeled clutter items per frame (poles, sign posts, trees, "
                             "bushes, bins, crates, pedestrian-sized decoys), drawn uniformly "
                             "(default 8 22): more make harder negatives")
    parser.add_argument("--driver-frame", action="store_true",
                        help="write what the Zvision driver publishes (ml30s-a1 only): +y "
                             "forward, 51,200 points with (0, 0, 0) where no return came, "
                             "is_dense false, topic /zvision_lidar_points, frame zvision_lidar; "
                             "labels in the same frame")


def run(args: argparse.Namespace) -> int:
    """Generate ``--frames`` frames and write DIR/bag and DIR/labels.jsonl."""
    heights = None if args.mount_height_range is None else tuple(args.mount_height_range)
    distractors = None
    if args.distractors is not None:
        distractors = (args.distractors[0], args.distractors[1])
        if not 0 <= distractors[0] <= distractors[1]:
            raise ConfigError(f"--distractors {distractors[0]} {distractors[1]}: need "
                              "0 <= LOW <= HIGH items per frame")
    sensor = SensorOptions(args.sensor, heights, args.driver_frame, distractors)
    summary = write_dataset(args.out, args.frames, args.seed, args.storage, args.workers,
                            args.start_time_ns, args.force, sensor)
    print(f"sim: {summary.describe(args.out)}")
    return 0
