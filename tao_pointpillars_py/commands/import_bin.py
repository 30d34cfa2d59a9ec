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
``tao-pointpillars import-bin SCANS... --out BAG``: KITTI-style scans into a bag.

KITTI-style float32 (x, y, z, r) scans become Zvision-layout clouds (x, y, z, intensity
FLOAT32 at 0, 4, 8, 16; point_step 32).

Scans are taken in file-name order, one cloud each, stamped ``1 / --rate`` apart; the values
are written as they are (KITTI's reflectance is 0..1: give the node an intensity range that
says so).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tqdm import tqdm

from ..core.stamps import seconds_to_ns
from ..data.bags import CloudBagWriter, STORAGES
from ..data.scan_files import (check_scan_file, CloudSummary, read_scan_file,
                               sorted_scan_files)
from ..data.zvision_pcap import DRIVER_FRAME_ID, DRIVER_TOPIC
from ..errors import ConfigError

#: first stamp of an imported bag: 2020-01-01T00:00:00Z
FIRST_STAMP_NS = 1_577_836_800_000_000_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the import-bin options."""
    parser.add_argument("scans", type=Path, nargs="+", metavar="SCANS",
                        help=".bin files (N x 4 little-endian float32) or folders of them")
    parser.add_argument("--out", type=Path, required=True, metavar="BAG",
                        help="rosbag2 folder to write (must not exist)")
    parser.add_argument("--topic", default=DRIVER_TOPIC, help="cloud topic")
    parser.add_argument("--frame-id", default=DRIVER_FRAME_ID, help="header.frame_id")
    parser.add_argument("--rate", type=float, default=10.0, metavar="HZ",
                        help="clouds per second: the stamps' spacing")
    parser.add_argument("--storage", choices=STORAGES, default="sqlite3")


def run(args: argparse.Namespace) -> int:
    """Write every scan as one cloud and print what the bag holds."""
    if not args.rate > 0:
        raise ConfigError(f"--rate must be > 0 clouds per second, got {args.rate}")
    files = sorted_scan_files(args.scans)
    for path in files:  # every file checked before the bag is created
        check_scan_file(path)
    step_ns = seconds_to_ns(1.0 / args.rate)
    summary = CloudSummary()
    with CloudBagWriter(args.out, args.topic, args.frame_id, args.storage) as writer:
        for index, path in enumerate(tqdm(files, desc="scans", unit="scan")):
            points = read_scan_file(path)
            writer.write(FIRST_STAMP_NS + index * step_ns, points)
            summary.add(points)
    print(f"wrote {args.out} ({args.storage}): {len(files)} clouds on {args.topic} in "
          f"{args.frame_id}, {args.rate:g} Hz from {files[0].name} to {files[-1].name}")
    for line in summary.lines():
        print(f"  {line}")
    return 0
