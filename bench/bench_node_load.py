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
The node under load, measured: overload (several lidars faster than inference) and soak.

Starts ``pointpillars_node`` in its own process (reference model, ONNX Runtime on CPU, 1
thread) and streams 51,200-point Zvision-layout clouds at it over Fast DDS on loopback:

* ``overload``: ``--lidars`` topics (default 4) at ``--rate`` Hz each (default 10) for
  ``--seconds``: more than one CPU inference thread answers. Prints answered rate, dropped
  clouds (from the node's /diagnostics totals), end-to-end latency p50 / p99 and the node's
  resident memory over time. The node must answer the newest clouds and drop the rest, never
  queue: latency stays bounded while the answered rate is whatever inference allows.
* ``soak``: ``--frames`` clouds (default 10,000) on one topic at a rate it sustains
  (default 12 Hz). Prints resident memory at the start (after ``--warmup`` frames), every
  1,000 frames and at the end, and the clouds left unanswered (target: growth under 20 MB
  after warm-up, none unanswered).

Run: ``.venv/bin/python bench/bench_node_load.py overload [--seconds 60]`` or
``.venv/bin/python bench/bench_node_load.py soak [--frames 10000]``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
import signal
import subprocess
import sys
import threading
import time

from bench_pipeline import full_frame  # bench/, the script's own folder
from diagnostic_msgs.msg import DiagnosticArray
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


def resident_mb(pid: int) -> float:
    """Give a process's resident memory (VmRSS) in MB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


class Rig(SpinningNode):
    """The node process plus a test-side node: cloud publishers, answer and diagnostics log."""

    def __init__(self, topics: list[str], model: str) -> None:
        env = isolated_environment()
        self.log = Path("/tmp") / f"bench_node_load_{env['ROS_DOMAIN_ID']}.log"
        topic_list = "[" + ", ".join(topics) + "]"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tao_pointpillars_py.node_main", "--ros-args", "-p",
             f"model_path:={model}", "-p", f"input_topics:={topic_list}", "-p", "threads:=1"],
            env=env, stdout=self.log.open("wb"), stderr=subprocess.STDOUT)
        os.environ.update(env)
        super().__init__("bench_node_load", rclpy.Context())
        self.lock = threading.Lock()
        self.answered: dict[int, float] = {}  # stamp -> latency ms
        self.totals: dict[str, dict[str, int]] = {}
        qos = QoSProfile(depth=10)
        qos.reliability = ReliabilityPolicy.RELIABLE
        self.publishers = {t: self.node.create_publisher(PointCloud2, t, qos) for t in topics}
        for topic in topics:
            answers = topic.rpartition("/")[0] + "/bbox"
            self.node.create_subscription(Detection3DArray, answers, self._on_boxes,
                                          QoSProfile(depth=100))
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics,
                                      QoSProfile(depth=10))
        self.spin()
        deadline = time.monotonic() + 60
        while any(p.get_subscription_count() == 0 for p in self.publishers.values()):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SystemExit("the node did not come up:\n" + self.log.read_text())
            time.sleep(0.2)
        time.sleep(2.0)

    def _on_boxes(self, msg: Detection3DArray) -> None:
        stamp = stamp_ns(msg.header.stamp)
        with self.lock:
            self.answered[stamp] = (time.time_ns() - stamp) / 1e6

    def _on_diagnostics(self, msg) -> None:
        with self.lock:
            for status in msg.status:
                values = {kv.key: kv.value for kv in status.values}
                self.totals[status.name] = {k: int(values[f"{k} total"]) for k in (
                    "received", "answered", "dropped", "skipped")}

    def close(self) -> int:
        self.process.send_signal(signal.SIGINT)
        status = self.process.wait(timeout=30)
        super().close()
        return status


def _cloud(points: np.ndarray, frame_id: str) -> PointCloud2:
    msg = PointCloud2(height=1, width=points.shape[0], is_bigendian=False, point_step=32,
                      row_step=32 * points.shape[0], is_dense=True,
                      fields=[PointField(name=n, offset=o, datatype=d, count=c)
                              for n, o, d, c in zvision_fields()])
    msg.header.frame_id = frame_id
    msg.data = encode_zvision_cloud_data(points)
    return msg


def _stream(rig: Rig, clouds: dict[str, PointCloud2], rate: float, count: int,
            on_tick=None) -> tuple[list[int], float]:
    """Publish every topic's cloud ``count`` times at ``rate`` Hz; return stamps, seconds."""
    sent: list[int] = []
    period = 1.0 / rate
    start = time.monotonic()
    for index in range(count):
        time.sleep(max(0.0, start + index * period - time.monotonic()))
        for topic, msg in clouds.items():
            now = time.time_ns()
            msg.header.stamp.sec, msg.header.stamp.nanosec = split_ns(now)
            rig.publishers[topic].publish(msg)
            sent.append(now)
        if on_tick is not None:
            on_tick(index + 1)
    return sent, time.monotonic() - start


def overload(args: argparse.Namespace) -> int:
    topics = [f"/ns{k}/zvision_lidar_points" for k in range(1, args.lidars + 1)]
    clouds = {t: _cloud(full_frame(7 + k), f"lidar_{k}") for k, t in enumerate(topics)}
    rig = Rig(topics, args.model)
    memory = [(0.0, resident_mb(rig.process.pid))]
    every = int(args.rate * 10)
    sent, elapsed = _stream(rig, clouds, args.rate, int(args.seconds * args.rate),
                            lambda i: memory.append((i / args.rate, resident_mb(
                                rig.process.pid))) if i % every == 0 else None)
    time.sleep(3.0)
    with rig.lock:
        latencies = [rig.answered[s] for s in sent if s in rig.answered]
        totals = dict(rig.totals)
    status = rig.close()
    print(f"overload: {args.lidars} lidars x {args.rate:g} Hz of {clouds[topics[0]].width}-point "
          f"clouds for {elapsed:.0f} s into one node (ONNX Runtime, 1 thread, CPU)")
    print(f"clouds sent {len(sent)}, answered {len(latencies)} "
          f"({len(latencies) / elapsed:.1f} Hz), not answered {len(sent) - len(latencies)}")
    for name, counts in sorted(totals.items()):
        print(f"  {name}: {counts}")
    p50, p99, most = percentiles(latencies, (50, 99, 100))
    print(f"latency (stamp -> answer) p50 {p50:.0f} ms, p99 {p99:.0f} ms, max {most:.0f} ms")
    print("node resident memory [MB] over time: " + ", ".join(
        f"{t:.0f} s {mb:.0f}" for t, mb in memory))
    print(f"node exit status after SIGINT: {status}")
    return 0


def soak(args: argparse.Namespace) -> int:
    topic = "/ns1/zvision_lidar_points"
    rig = Rig([topic], args.model)
    clouds = {topic: _cloud(full_frame(7), "lidar_front")}
    memory: list[tuple[int, float]] = []

    def tick(frames: int) -> None:
        if frames == args.warmup or frames % 1000 == 0 or frames == args.frames:
            memory.append((frames, resident_mb(rig.process.pid)))
            if frames % 1000 == 0:
                with rig.lock:
                    answered = len(rig.answered)
                print(f"  {frames} frames sent, {answered} answered, node RSS "
                      f"{memory[-1][1]:.1f} MB", flush=True)

    sent, elapsed = _stream(rig, clouds, args.rate, args.frames, tick)
    time.sleep(3.0)
    with rig.lock:
        latencies = [rig.answered[s] for s in sent if s in rig.answered]
        totals = dict(rig.totals)
    status = rig.close()
    start = next(mb for frames, mb in memory if frames == args.warmup)
    end = memory[-1][1]
    print(f"soak: {len(sent)} clouds of {clouds[topic].width} points at {args.rate:g} Hz "
          f"({elapsed:.0f} s) into one node (ONNX Runtime, 1 thread, CPU)")
    print(f"answered {len(latencies)}, unanswered {len(sent) - len(latencies)}; node totals "
          f"{totals}")
    p50, p99 = percentiles(latencies, (50, 99))
    print(f"latency p50 {p50:.0f} ms, p99 {p99:.0f} ms")
    print(f"node RSS after {args.warmup} warm-up frames {start:.1f} MB, at the end {end:.1f} MB: "
          f"growth {end - start:+.1f} MB (target < 20 MB)")
    print(f"node exit status after SIGINT: {status}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    sub = parser.add_subparsers(dest="mode", required=True)
    over = sub.add_parser("overload")
    over.add_argument("--lidars", type=int, default=4)
    over.add_argument("--rate", type=float, default=10.0)
    over.add_argument("--seconds", type=float, default=60.0)
    long = sub.add_parser("soak")
    long.add_argument("--frames", type=int, default=10_000)
    long.add_argument("--rate", type=float, default=12.0)
    long.add_argument("--warmup", type=int, default=500)
    for mode in (over, long):
        mode.add_argument("--model",
                          default=str(REPO / "models" / "pointpillars_zvision.onnx"))
    args = parser.parse_args()
    return overload(args) if args.mode == "overload" else soak(args)


if __name__ == "__main__":
    sys.exit(main())
