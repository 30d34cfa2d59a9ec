#!/usr/bin/env python3

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
The node under a live lidar stream: 51,200-point clouds at 10 Hz over Fast DDS (loopback).

Starts ``pointpillars_node`` in its own process (reference model, ONNX Runtime on CPU),
publishes Zvision-layout clouds stamped with the current time at --rate Hz for --seconds, and
prints clouds sent, answered, dropped (the node answers the newest cloud and drops older ones
by design), answered rate and end-to-end latency (cloud header stamp -> Detection3DArray
received), p50 / p99 / max.
Run: ``.venv/bin/python bench/bench_node_dds.py [--seconds 30] [--rate 10]``.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import signal
import subprocess
import sys
import threading
import time

from bench_pipeline import full_frame  # bench/, the script's own folder
import numpy as np
import rclpy
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import PointCloud2, PointField
from tao_pointpillars_py.core.pointcloud2 import encode_zvision_cloud_data, zvision_fields
from tao_pointpillars_py.core.stamps import split_ns, stamp_ns
from tao_pointpillars_py.core.stats import percentiles
from tao_pointpillars_py.ros.dds_environment import isolated_environment
from tao_pointpillars_py.ros.spin import SpinningNode
from vision_msgs.msg import Detection3DArray

REPO = Path(__file__).resolve().parents[1]


def measure(args: argparse.Namespace, env: dict[str, str], points: np.ndarray) -> dict:
    """Run the node with ``env`` and stream clouds at it; return the counts and latencies."""
    log = Path("/tmp") / f"bench_node_dds_{env['ROS_DOMAIN_ID']}.log"
    node_process = subprocess.Popen(
        [sys.executable, "-m", "tao_pointpillars_py.node_main", "--ros-args", "-p",
         f"model_path:={args.model}", "-r", "point_cloud:=/bench/points"],
        env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    os.environ.clear()
    os.environ.update(env)
    spinning = SpinningNode("bench_node_dds", rclpy.Context())
    node = spinning.node
    latencies: dict[int, float] = {}
    lock = threading.Lock()

    def on_boxes(msg: Detection3DArray) -> None:
        stamp = stamp_ns(msg.header.stamp)
        with lock:
            latencies[stamp] = (time.time_ns() - stamp) / 1e6

    qos = QoSProfile(depth=10)
    qos.reliability = ReliabilityPolicy.RELIABLE
    publisher = node.create_publisher(PointCloud2, "/bench/points", qos)
    node.create_subscription(Detection3DArray, "/bbox", on_boxes, QoSProfile(depth=100))
    spinning.spin()

    msg = PointCloud2(height=1, width=points.shape[0], is_bigendian=False, point_step=32,
                      row_step=32 * points.shape[0], is_dense=True,
                      fields=[PointField(name=n, offset=o, datatype=d, count=c)
                              for n, o, d, c in zvision_fields()])
    msg.header.frame_id = "lidar_front"
    msg.data = encode_zvision_cloud_data(points)
    deadline = time.monotonic() + 60
    while publisher.get_subscription_count() == 0 or node.count_publishers("/bbox") == 0:
        if time.monotonic() > deadline or node_process.poll() is not None:
            print(log.read_text(), file=sys.stderr)
            raise SystemExit("the node did not come up")
        time.sleep(0.2)
    time.sleep(2.0)

    sent: list[int] = []
    period = 1.0 / args.rate
    start = time.monotonic()
    for i in range(int(args.seconds * args.rate)):
        time.sleep(max(0.0, start + i * period - time.monotonic()))
        now = time.time_ns()
        msg.header.stamp.sec, msg.header.stamp.nanosec = split_ns(now)
        publisher.publish(msg)
        sent.append(now)
    elapsed = time.monotonic() - start
    time.sleep(3.0)  # answers in flight
    node_process.send_signal(signal.SIGINT)
    node_process.wait(timeout=30)
    spinning.close()
    with lock:
        answered = [latencies[s] for s in sent if s in latencies]
    return {"sent": len(sent), "answered": answered, "elapsed": elapsed}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--model", default=str(REPO / "models" / "pointpillars_zvision.onnx"))
    parser.add_argument("--one-run", choices=("defaults", "profile"),
                        help=argparse.SUPPRESS)  # internal: one configuration, JSON to stdout
    args = parser.parse_args()
    points = full_frame(7)
    base = isolated_environment()
    if args.one_run:
        env = base if args.one_run == "profile" else {
            k: v for k, v in base.items() if not k.endswith("_DEFAULT_PROFILES_FILE")}
        print(json.dumps(measure(args, env, points)))
        return 0
    # Fast DDS reads its profile once per process: each configuration runs in its own
    runs = {}
    for name, mode in (("Fast DDS defaults", "defaults"), ("large-cloud profile", "profile")):
        result = subprocess.run(
            [sys.executable, __file__, "--one-run", mode, "--seconds", str(args.seconds),
             "--rate", str(args.rate), "--model", args.model],
            capture_output=True, text=True, check=True)
        runs[name] = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"node: {Path(args.model).name}, ONNX Runtime on CPU; {points.shape[0]} points per "
          f"cloud ({32 * points.shape[0] / 1e6:.2f} MB), {args.rate:g} Hz for {args.seconds:g} s "
          "over Fast DDS (loopback), both sides with the same transport settings")
    print(f"{'':<28}" + "".join(f"{name:>22}" for name in runs))

    def row(label: str, values: list[str]) -> None:
        print(f"{label:<28}" + "".join(f"{v:>22}" for v in values))

    row("clouds sent", [str(r["sent"]) for r in runs.values()])
    row("answered", [str(len(r["answered"])) for r in runs.values()])
    row("not answered", [str(r["sent"] - len(r["answered"])) for r in runs.values()])
    row("answered rate [Hz]", [f"{len(r['answered']) / r['elapsed']:.2f}" for r in runs.values()])
    for label, q in (("latency p50 [ms]", 50), ("latency p99 [ms]", 99),
                     ("latency max [ms]", 100)):
        row(label, [f"{percentiles(r['answered'], (q,))[0]:.1f}" if r["answered"] else "-"
                    for r in runs.values()])
    print("latency: cloud header stamp (set at publish) -> Detection3DArray received; "
          "not answered = lost in transport or replaced while the node was busy (newest kept)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
