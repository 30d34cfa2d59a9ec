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
``tao-pointpillars demo``: the node on a sample bag over ROS 2, end to end, on CPU.

Simulates a small labeled ML-30S-A1 bag (once, ``sim --sensor ml30s-a1``, x forward), starts
``pointpillars_node`` in its own process with params/pointpillars.yaml, plays the bag to it
over DDS (each cloud after the previous one was answered), records ``/bbox`` and
``/bbox_markers`` into a bag and prints a summary: clouds in and answered, detections per
class, round-trip latency, AP against the labels.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
import shutil
import signal
import subprocess
import sys
import time
from typing import Any

import numpy as np

from ..core.config import DEFAULT_CLASS_NAMES
from ..core.detections import Detections
from ..core.stats import percentiles
from ..data.dataset import dataset_paths, read_dataset_labels
from ..data.detection_messages import read_detection_bag
from ..errors import ConfigError
from ..package_files import package_file
from ..ros.dds_environment import loopback_environment
from ..sim.dataset_writer import SensorOptions, write_dataset
from ..tools.evaluation import EvalFrame, evaluate
from ..tools.processes import stop_process

DEFAULT_OUT = Path("out/demo")
SAMPLE_SEED = 1000
#: the sensor the reference model is trained for (the ML-30S-A1, in the model's x-forward frame)
SAMPLE_SENSOR = "ml30s-a1"
INPUT_TOPIC = "/ns1/zvision_lidar_points"
OUTPUT_TOPICS = ("/bbox", "/bbox_markers")
NODE_START_TIMEOUT_S = 60.0
#: how long the player's publisher may take to match the node's subscription [s]
MATCH_TIMEOUT_S = 10.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the demo options."""
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"working folder (default {DEFAULT_OUT})")
    parser.add_argument("--frames", type=int, default=40, help="frames of the sample bag")
    parser.add_argument("--model", type=Path, default=None,
                        help="ONNX model (default: the reference model)")
    parser.add_argument("--params-file", type=Path, default=None,
                        help="node parameters (default: params/pointpillars.yaml)")


def _sample_bag(out: Path, frames: int) -> Path:
    sample = out / "sample"
    stamp = sample / f".complete-{frames}-{SAMPLE_SEED}-{SAMPLE_SENSOR}"
    if not stamp.exists():
        shutil.rmtree(sample, ignore_errors=True)
        print(f"demo: simulating a {frames}-frame sample bag into {sample}", flush=True)
        summary = write_dataset(sample, frames, SAMPLE_SEED, force=True,
                                sensor=SensorOptions(SAMPLE_SENSOR))
        print(f"sim: {summary.describe(sample)}", flush=True)
        stamp.touch()
    return sample


def _ros_environment() -> dict[str, str]:
    # loopback only: the demo must not talk to (or disturb) ROS 2 graphs on the network; a
    # user's own ROS settings are kept
    return loopback_environment(os.environ, 50 + os.getpid() % 50,
                                package_file("params/fastdds_large_clouds.xml"),
                                keep_existing=True)


def _start_node(model: Path | None, params_file: Path, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "tao_pointpillars_py.node_main", "--ros-args",
               "--params-file", str(params_file), "-r", f"point_cloud:={INPUT_TOPIC}"]
    if model is not None:
        command += ["-p", f"model_path:={model}"]
    print(f"demo: starting {' '.join(command[1:])}", flush=True)
    return subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def run(args: argparse.Namespace) -> int:
    if args.frames < 1:
        raise ConfigError(f"--frames must be >= 1, got {args.frames}")
    os.environ.update(_ros_environment())
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    sample = _sample_bag(out, args.frames)
    params_file = args.params_file or package_file("params/pointpillars.yaml")
    recording = out / "detections"
    shutil.rmtree(recording, ignore_errors=True)
    node_log = out / "node.log"
    node_process = _start_node(args.model, params_file, node_log)
    try:
        report, counts, wall_s = _play_and_record(sample, recording, node_process, node_log)
    finally:
        stop_process(node_process)
    print(node_log.read_text(errors="replace").rstrip(), flush=True)
    return _summarize(sample, recording, report, counts, wall_s, node_process.returncode)


def _play_and_record(sample: Path, recording: Path, node_process: subprocess.Popen[bytes],
                     node_log: Path) -> tuple[Any, dict[str, int], float]:
    from ..ros.bag_io import AnswerWatch, BagPlayer, TopicRecorder
    from ..ros.spin import spinning_node

    with spinning_node("tao_pointpillars_demo") as node:
        _wait_for_node(node, node_process, node_log)
        recorder = TopicRecorder(node, recording, OUTPUT_TOPICS, storage="sqlite3")
        answers = AnswerWatch(node, OUTPUT_TOPICS[0], "vision_msgs/msg/Detection3DArray")
        player = BagPlayer(node, dataset_paths(sample)[0], [INPUT_TOPIC])
        # the node subscribed already (_wait_for_node); this waits for DDS to match the new
        # publisher to it, and the recorder's subscriptions, made first, match meanwhile
        matching = player.wait_for_subscriptions(MATCH_TIMEOUT_S)
        if not matching.complete:
            print(f"demo: the node's subscription did not match within {MATCH_TIMEOUT_S:.0f} s;"
                  " playing anyway", flush=True)
        started = time.monotonic()
        report = player.play(answers=answers, answer_timeout_s=60.0)
        wall_s = time.monotonic() - started
        time.sleep(0.5)  # the last markers
        player.close()
        recorder.close()
        return report, dict(recorder.counts), wall_s


def _wait_for_node(node: Any, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + NODE_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ConfigError(f"the node exited with status {process.returncode} at start-up:\n"
                              + log.read_text(errors="replace"))
        if node.count_subscribers(INPUT_TOPIC) > 0 and node.count_publishers("/bbox") > 0:
            return
        time.sleep(0.1)
    raise ConfigError(f"the node did not subscribe to {INPUT_TOPIC} within "
                      f"{NODE_START_TIMEOUT_S:.0f} s; see {log}")


def _summarize(sample: Path, recording: Path, report: Any, counts: dict[str, int],
               wall_s: float, node_status: int) -> int:
    labels = read_dataset_labels(sample)
    detections = read_detection_bag(recording, OUTPUT_TOPICS[0], DEFAULT_CLASS_NAMES)
    per_class = np.zeros(len(DEFAULT_CLASS_NAMES), dtype=np.int64)
    for found in detections.values():
        per_class += np.bincount(found.labels, minlength=len(DEFAULT_CLASS_NAMES))
    p50, p99 = percentiles(report.round_trip_ms, (50, 99))
    print(f"\ndemo summary ({recording}):")
    print(f"  clouds published     {report.published} on {INPUT_TOPIC} ({report.resent} sent "
          "again after no answer)")
    print(f"  clouds answered      {report.answered} (Detection3DArray on /bbox: "
          f"{counts.get('/bbox', 0)}, MarkerArray on /bbox_markers: "
          f"{counts.get('/bbox_markers', 0)})")
    print("  detections           " + ", ".join(
        f"{name} {n}" for name, n in zip(DEFAULT_CLASS_NAMES, per_class.tolist())))
    print(f"  round trip (cloud published -> Detection3DArray received): p50 "
          f"{p50:.1f} ms, p99 {p99:.1f} ms; "
          f"{report.published / max(wall_s, 1e-9):.1f} frames/s")
    frames = []
    for timestamp, gt in labels.frames.items():
        answer = detections.get(timestamp, Detections.empty())
        frames.append(EvalFrame(gt.boxes, gt.labels, gt.num_points, answer.boxes, answer.scores,
                                answer.labels))
    print("  AP against the sample's labels (detections above the node's score_threshold):")
    print(evaluate(frames, labels.class_names).to_table())
    complete = report.answered == report.published == len(labels.frames)
    if not complete:
        print(f"demo: {report.published - report.answered} clouds were not answered",
              file=sys.stderr)
    if node_status not in (0, -signal.SIGINT):
        print(f"demo: the node exited with status {node_status}", file=sys.stderr)
    return 0 if complete else 1
