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
from contextlib import ExitStack
import multiprocessing
import os
from pathlib import Path
import shutil
import time
from typing import Iterator, TYPE_CHECKING

import numpy as np

from ..core.config import DEFAULT_CLASS_NAMES
from ..data.bags import CloudBagWriter, DEFAULT_FRAME_ID, DEFAULT_TOPIC, STORAGES
from ..data.dataset import dataset_paths
from ..data.labels import FrameLabels, LabelsWriter
from ..errors import ConfigError

if TYPE_CHECKING:  # the simulator is imported lazily at run time
    from ..sim.frame import SimFrame

DEFAULT_START_TIME_NS = 1_700_000_000 * 1_000_000_000
FRAME_PERIOD_NS = 100_000_000  # 10 Hz, the Zvision ML-30S frame rate


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


def _simulate(job: tuple[int, int]) -> SimFrame:
    from ..sim import simulate_frame
    seed, index = job
    return simulate_frame(seed, index)


def _frames(seed: int, count: int, workers: int, stack: ExitStack) -> Iterator[SimFrame]:
    """Yield SimFrames 0..count-1 in order; a pool (if any) lives as long as ``stack``."""
    jobs = [(seed, i) for i in range(count)]
    if workers == 1:
        return map(_simulate, jobs)
    pool = stack.enter_context(multiprocessing.Pool(workers))
    return pool.imap(_simulate, jobs, chunksize=max(1, min(8, count // (workers * 4))))


def _prepare_out(out: Path, force: bool) -> tuple[Path, Path]:
    bag_dir, labels_path = dataset_paths(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; give a directory")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise ConfigError(f"--out {out} is not empty; choose another directory or pass "
                              f"--force to replace its bag/ and labels.jsonl")
        if bag_dir.is_dir():
            shutil.rmtree(bag_dir)
        elif bag_dir.exists():
            bag_dir.unlink()
        if labels_path.exists():
            labels_path.unlink()
    out.mkdir(parents=True, exist_ok=True)
    return bag_dir, labels_path


def run(args: argparse.Namespace) -> int:
    """Generate ``--frames`` frames and write DIR/bag and DIR/labels.jsonl."""
    from tqdm import tqdm

    if args.frames < 1:
        raise ConfigError(f"--frames must be >= 1, got {args.frames}")
    workers = (os.cpu_count() or 1) if args.workers is None else args.workers
    if workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {args.workers}")
    if args.start_time_ns < 0:
        raise ConfigError("--start-time-ns must be >= 0")
    workers = min(workers, args.frames)
    bag_dir, labels_path = _prepare_out(args.out, args.force)

    start = time.perf_counter()
    n_points = 0
    per_class = np.zeros(len(DEFAULT_CLASS_NAMES), dtype=np.int64)
    with ExitStack() as stack:
        # The pool forks before anything else (tqdm's monitor thread, open bag) exists.
        frames = _frames(args.seed, args.frames, workers, stack)
        bag = stack.enter_context(
            CloudBagWriter(bag_dir, DEFAULT_TOPIC, DEFAULT_FRAME_ID, args.storage))
        labels = stack.enter_context(
            LabelsWriter(labels_path, DEFAULT_CLASS_NAMES, DEFAULT_TOPIC, DEFAULT_FRAME_ID))
        for index, frame in enumerate(tqdm(frames, total=args.frames, unit="frame",
                                           desc="sim")):
            timestamp = args.start_time_ns + index * FRAME_PERIOD_NS
            bag.write(timestamp, frame.points)
            labels.write(timestamp, FrameLabels(frame.boxes, frame.labels, frame.num_points))
            n_points += int(frame.points.shape[0])
            per_class += np.bincount(frame.labels, minlength=per_class.size)[:per_class.size]
    seconds = time.perf_counter() - start
    objects = ", ".join(f"{name} {count}" for name, count in zip(DEFAULT_CLASS_NAMES, per_class))
    print(f"sim: {args.frames} frames, {n_points} points, objects: {objects}; "
          f"{seconds:.1f} s ({seconds / args.frames:.3f} s/frame) -> {args.out}")
    return 0
