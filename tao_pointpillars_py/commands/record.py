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
``tao-pointpillars record``: write ROS 2 topics to a bag, without rosbag2.

Each topic is subscribed with a QoS that all its publishers match (best effort unless all offer
reliable, transient local if all offer it), as ``ros2 bag record`` does.
"""

from __future__ import annotations

import argparse
from pathlib import Path
import time

from ..data.bags import STORAGES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the record options."""
    parser.add_argument("--out", type=Path, required=True, help="rosbag2 folder to create")
    parser.add_argument("--topic", action="append", required=True, metavar="T",
                        help="topic to record (repeatable)")
    # sqlite3: every distribution's rosbag2 reads it; mcap needs rosbag2_storage_mcap on Humble
    parser.add_argument("--storage", choices=STORAGES, default="sqlite3",
                        help="bag storage (default sqlite3; mcap needs "
                             "ros-humble-rosbag2-storage-mcap for `ros2 bag` on Humble)")
    parser.add_argument("--duration", type=float, default=None, metavar="S",
                        help="stop after S seconds (default: at Ctrl-C or SIGTERM)")
    parser.add_argument("--discovery-timeout", type=float, default=30.0, metavar="S",
                        help="wait this long for each topic's publisher (default 30)")


def run(args: argparse.Namespace) -> int:
    from ..ros.bag_io import describe_qos, TopicRecorder
    from ..ros.spin import spinning_node

    with spinning_node("tao_pointpillars_record") as node:
        recorder = TopicRecorder(node, args.out, args.topic, args.storage,
                                 args.discovery_timeout)
        for topic, qos in recorder.qos.items():
            print(f"record: {topic} subscribed {describe_qos(qos)}", flush=True)
        print(f"record: recording {', '.join(args.topic)} to {args.out}; Ctrl-C stops",
              flush=True)
        deadline = None if args.duration is None else time.monotonic() + args.duration
        try:
            # Ctrl-C and SIGTERM shut rclpy's context down (Ctrl-C may raise here as well)
            while node.context.ok() and (deadline is None or time.monotonic() < deadline):
                time.sleep(0.1)
        except KeyboardInterrupt:
            pass  # the end of the recording, as the end of --duration is
        finally:
            recorder.close()
            print("record: " + ", ".join(f"{t} {n}" for t, n in recorder.counts.items())
                  + f" messages -> {args.out}", flush=True)
    return 0
