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
Simulated, labeled datasets on disk: ``DIR/bag`` (rosbag2) and ``DIR/labels.jsonl``.

Frames are simulated in a process pool where more than one worker is asked for, in order, and
written as they come: the clouds as sensor_msgs/PointCloud2 on the Zvision driver's topic, their
boxes as the labels file (docs/dataset.md), both stamped 100 ms apart. :class:`SensorOptions`
picks the sensor (the default grid or the ML-30S-A1's angle table), its mounting heights and the
driver's frame and cloud layout. Here and not in data/: data/ reads and writes datasets but may
not import the simulator.
"""

from __future__ import annotations

from contextlib import ExitStack
import multiprocessing
import os
from pathlib import Path
import shutil
import time
from typing import Iterator, NamedTuple, Optional

import numpy as np
from tqdm import tqdm

from . import ml30s
from .config import SimConfig
from .frame import Sensor, SimFrame, simulate_frame
from ..core.config import DEFAULT_CLASS_NAMES
from ..core.pointcloud2 import ZVISION_OFFSETS, ZVISION_POINT_STEP
from ..data.bags import CloudBagWriter, DEFAULT_FRAME_ID, DEFAULT_TOPIC
from ..data.dataset import dataset_paths
from ..data.labels import FrameLabels, LabelsWriter
from ..errors import ConfigError

__all__ = ["DEFAULT_START_TIME_NS", "DRIVER_FRAME_ID", "DRIVER_TOPIC", "DatasetSummary",
           "FRAME_PERIOD_NS", "SensorOptions", "write_dataset"]

DEFAULT_START_TIME_NS = 1_700_000_000 * 1_000_000_000
FRAME_PERIOD_NS = 100_000_000  # 10 Hz, the Zvision ML-30S frame rate
#: the vendor driver's default topic and frame (its clouds are +y forward)
DRIVER_TOPIC = "/zvision_lidar_points"
DRIVER_FRAME_ID = "zvision_lidar"
_ZVISION_RECORD = np.dtype({"names": list(ZVISION_OFFSETS), "formats": ["<f4"] * 4,
                            "offsets": list(ZVISION_OFFSETS.values()),
                            "itemsize": ZVISION_POINT_STEP})


class SensorOptions(NamedTuple):
    """
    Which lidar ``sim`` simulates and how it writes it.

    ``sensor``: one of :data:`~tao_pointpillars_py.sim.ml30s.SENSORS`. ``mount_height_range``:
    (low, high) metres drawn uniformly per frame (None: the default sensor's 1.0 +- 0.03 m,
    the ML-30S-A1's :data:`~tao_pointpillars_py.sim.ml30s.DEFAULT_MOUNT_HEIGHT_RANGE`).
    ``driver_frame``: write clouds and labels as the Zvision driver publishes them (+y forward,
    51,200 points with (0, 0, 0) where no return came, ``is_dense`` false, driver topic and
    frame id); needs the ML-30S-A1. ``num_distractors``: (low, high) unlabeled clutter items per
    frame (None: :class:`SimConfig`'s), e.g. more of them for hard negatives.
    """

    sensor: str = ml30s.DEFAULT_SENSOR
    mount_height_range: Optional[tuple[float, float]] = None
    driver_frame: bool = False
    num_distractors: Optional[tuple[int, int]] = None

    def frame_job(self) -> tuple[Optional[SimConfig], Optional[Sensor], bool]:
        """(config, sensor, driver frame) of :func:`simulate_frame`; None, None: the default."""
        sensor = ml30s.sensor_named(self.sensor)
        if self.driver_frame and sensor is None:
            raise ConfigError("--driver-frame needs --sensor ml30s-a1 (the driver's point order "
                              "and layout are the ML-30S-A1's)")
        heights = self.mount_height_range
        if heights is None and sensor is not None:
            heights = ml30s.DEFAULT_MOUNT_HEIGHT_RANGE
        base = SimConfig() if self.num_distractors is None else SimConfig(
            num_distractors=self.num_distractors)
        config = None if heights is None else ml30s.mounted_config(base, heights)
        if config is None and self.num_distractors is not None:
            config = base
        return config, sensor, self.driver_frame

    def topic_and_frame(self) -> tuple[str, str]:
        """Give the clouds' topic and frame id."""
        if self.driver_frame:
            return DRIVER_TOPIC, DRIVER_FRAME_ID
        return DEFAULT_TOPIC, DEFAULT_FRAME_ID


class DatasetSummary(NamedTuple):
    """What :func:`write_dataset` wrote: frames, points, labeled objects per class, seconds."""

    frames: int
    points: int
    objects_per_class: np.ndarray
    seconds: float

    def describe(self, out: Path) -> str:
        """Say what was written where, and how fast, in one line."""
        objects = ", ".join(f"{name} {count}" for name, count in
                            zip(DEFAULT_CLASS_NAMES, self.objects_per_class))
        return (f"{self.frames} frames, {self.points} points, objects: {objects}; "
                f"{self.seconds:.1f} s ({self.seconds / self.frames:.3f} s/frame) -> {out}")


def write_dataset(out: Path, frames: int, seed: int = 0, storage: str = "sqlite3",
                  workers: Optional[int] = None,
                  start_time_ns: int = DEFAULT_START_TIME_NS,
                  force: bool = False,
                  sensor: SensorOptions = SensorOptions()) -> DatasetSummary:
    """
    Simulate frames 0..``frames``-1 of scene ``seed`` into ``out``/bag and ``out``/labels.jsonl.

    ``workers``: simulating processes (default: the CPU count). ``force``: replace the bag and
    labels of a non-empty ``out`` (else that is an error). ``sensor``: see
    :class:`SensorOptions`.
    """
    if frames < 1:
        raise ConfigError(f"--frames must be >= 1, got {frames}")
    processes = (os.cpu_count() or 1) if workers is None else workers
    if processes < 1:
        raise ConfigError(f"--workers must be >= 1, got {workers}")
    if start_time_ns < 0:
        raise ConfigError("--start-time-ns must be >= 0")
    processes = min(processes, frames)
    job = sensor.frame_job()
    topic, frame_id = sensor.topic_and_frame()
    bag_dir, labels_path = _prepare_out(out, force)

    start = time.perf_counter()
    points = 0
    per_class = np.zeros(len(DEFAULT_CLASS_NAMES), dtype=np.int64)
    with ExitStack() as stack:
        # The pool forks before anything else (tqdm's monitor thread, open bag) exists.
        simulated = _frames(seed, frames, processes, stack, job)
        bag = stack.enter_context(CloudBagWriter(bag_dir, topic, frame_id, storage))
        labels = stack.enter_context(
            LabelsWriter(labels_path, DEFAULT_CLASS_NAMES, topic, frame_id))
        for index, frame in enumerate(tqdm(simulated, total=frames, unit="frame", desc="sim")):
            timestamp = start_time_ns + index * FRAME_PERIOD_NS
            if sensor.driver_frame:
                bag.write_records(timestamp, _driver_records(frame.points), is_dense=False)
            else:
                bag.write(timestamp, frame.points)
            labels.write(timestamp, FrameLabels(frame.boxes, frame.labels, frame.num_points))
            points += _returns(frame, sensor.driver_frame)
            per_class += np.bincount(frame.labels, minlength=per_class.size)[:per_class.size]
    return DatasetSummary(frames, points, per_class, time.perf_counter() - start)


_Job = tuple[Optional[SimConfig], Optional[Sensor], bool]


def _simulate(job: tuple[int, int, _Job]) -> SimFrame:
    seed, index, (config, sensor, driver_frame) = job
    frame = simulate_frame(seed, index, config, sensor)
    return ml30s.to_driver_frame(frame) if driver_frame else frame


def _returns(frame: SimFrame, driver_frame: bool) -> int:
    """Points with a return: all of them, or the driver layout's slots that are not (0, 0, 0)."""
    if driver_frame:
        return int(np.count_nonzero(frame.points[:, :3].any(axis=1)))
    return int(frame.points.shape[0])


def _driver_records(points: np.ndarray) -> np.ndarray:
    """(N, 4) float32 points as Zvision PointXYZI records (32 bytes, zero padding)."""
    records = np.zeros(len(points), dtype=_ZVISION_RECORD)
    for column, name in enumerate(ZVISION_OFFSETS):
        records[name] = points[:, column]
    return records


def _frames(seed: int, count: int, workers: int, stack: ExitStack,
            job: _Job) -> Iterator[SimFrame]:
    """Yield SimFrames 0..count-1 in order; a pool (if any) lives as long as ``stack``."""
    jobs = [(seed, i, job) for i in range(count)]
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
