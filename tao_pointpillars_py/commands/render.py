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
``tao-pointpillars render``: bird's-eye-view pictures of a bag with its detections.

Writes ``DIR/frames/frame_000000.png`` ... (one picture per rendered cloud), the animation
``DIR/frames.gif`` (and ``DIR/frames.mp4`` with ``--format mp4`` where ffmpeg is installed) and
``DIR/summary.png`` (detections per class over time, latency histogram). Detections are the
bag's own Detection3DArray messages on the cloud topic's detections topic where the bag has
them (as the offline ``detect`` writes them), else the model's, run frame by frame.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
import shutil
import subprocess
import sys
import time
from types import ModuleType
from typing import Iterator, Optional, Sequence, TYPE_CHECKING

import numpy as np

from ..core.config import ModelConfig
from ..core.detections import Detections
from ..core.pointcloud2 import DRIVER_INTENSITY_RANGE
from ..data.bags import CloudFrame
from ..data.labels import FrameLabels, LabelsFile
from ..errors import CloudFormatError, ConfigError

if TYPE_CHECKING:
    from ..inference.detector import Detector
    from ..tools.render import FrameRecord

#: field of view drawn by default: the Zvision ML30S's 140 degrees about +x
DEFAULT_FOV_DEG = 140.0
DEFAULT_FPS = 10.0
UNMEASURED_NOTE = "latency: not measured, detections read from the bag"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the render options."""
    parser.add_argument("bag", type=Path, metavar="BAG",
                        help="rosbag2 folder (sqlite3 or mcap) with sensor_msgs/PointCloud2")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="output folder (DIR/frames is cleared of earlier frame_*.png)")
    parser.add_argument("--topic", action="append", default=[], metavar="T",
                        help="PointCloud2 topic (repeatable; default: every PointCloud2 topic)")
    parser.add_argument("--every", type=int, default=1, metavar="N",
                        help="render every Nth cloud (default 1: all)")
    parser.add_argument("--max-frames", type=int, default=None, metavar="N",
                        help="stop after N rendered frames (default: no limit)")
    parser.add_argument("--color-by", choices=("intensity", "height"), default="intensity",
                        help="shade points by intensity (driver units) or by height z "
                             "(default intensity)")
    parser.add_argument("--range", type=float, default=None, metavar="METRES",
                        help="half-width of the view; it reaches as far ahead (default: the "
                             "model's point_cloud_range)")
    parser.add_argument("--fov-deg", type=float, default=DEFAULT_FOV_DEG, metavar="DEG",
                        help="lidar field of view drawn as a wedge about +x (default "
                             f"{DEFAULT_FOV_DEG:g}; 360 for none)")
    parser.add_argument("--fps", type=float, default=DEFAULT_FPS,
                        help=f"frames per second of the animation (default {DEFAULT_FPS:g})")
    parser.add_argument("--format", choices=("gif", "mp4"), default="gif",
                        help="animation: frames.gif always, with mp4 also frames.mp4 (needs "
                             "ffmpeg)")
    parser.add_argument("--labels", type=Path, default=None, metavar="LABELS.jsonl",
                        help="ground truth drawn as dashed outlines, matched by timestamp_ns")
    parser.add_argument("--model", type=Path, default=None, metavar="MODEL.onnx",
                        help="model run where the bag holds no detections; its class names "
                             "and range are used in any case (default: the reference model)")
    parser.add_argument("--score-threshold", type=float, default=None, metavar="S",
                        help="draw detections scoring at least S (default: the detector's "
                             "own threshold; every detection read from the bag)")


def run(args: argparse.Namespace) -> int:
    render = _drawing_module()
    _check_options(args)
    started = time.perf_counter()
    from ..data.labels import read_labels
    from ..inference.model_file import load_model_info
    from ..ros.parameters import default_model_path

    model_path = args.model or default_model_path()
    config = load_model_info(str(model_path)).config
    total = _count_clouds(args.bag, args.topic or None)
    labels = read_labels(args.labels) if args.labels is not None else None
    finder = DetectionFinder(args.bag, config.class_names, model_path, args.score_threshold)
    records = _render_frames(render, args, config, finder, labels, total)
    summary = args.out / "summary.png"
    render.draw_summary(summary, records, config.class_names,
                        f"{args.bag}: {counted(len(records), 'frame')} rendered of "
                        f"{counted(total, 'cloud')}",
                        UNMEASURED_NOTE)
    if args.format == "mp4":
        _write_mp4(args.out / "frames", args.out / "frames.mp4", args.fps)
    print(f"render: wrote {summary}")
    print(summary_line(records, total, config.class_names, finder, labels is not None,
                       time.perf_counter() - started))
    return 0


def _render_frames(render: ModuleType, args: argparse.Namespace, config: ModelConfig,
                   finder: DetectionFinder, labels: Optional[LabelsFile],
                   total: int) -> list[FrameRecord]:
    """Draw, save and animate the chosen clouds one at a time; give what each showed."""
    view = render.BevView.around_lidar(args.range or default_range(config), args.fov_deg)
    pcr = config.pillars.point_cloud_range
    value_range = DRIVER_INTENSITY_RANGE if args.color_by == "intensity" else (pcr[2], pcr[5])
    shading = render.PointShading(args.color_by, value_range)
    frames_dir = args.out / "frames"
    _clear_frames(frames_dir)
    records: list[FrameRecord] = []
    with render.BevRenderer(view, config.class_names, shading, args.fov_deg, pcr) as renderer, \
            render.GifWriter(args.out / "frames.gif", args.fps) as gif:
        for index, cloud, first_ns in _chosen_clouds(args.bag, args.topic or None, args.every,
                                                     args.max_frames, total):
            found, latency_ms = finder.find(cloud)
            truth = labels.frames.get(cloud.timestamp_ns) if labels is not None else None
            record = render.FrameRecord(
                (cloud.timestamp_ns - first_ns) / 1e9, cloud.topic,
                np.bincount(found.labels, minlength=len(config.class_names)),
                None if labels is None else truth_counts(truth, labels, config.class_names),
                latency_ms)
            title = frame_title(len(records), index, total, cloud, record, config.class_names,
                                finder.describe(cloud.topic))
            picture = renderer.draw(cloud.points, found,
                                    None if truth is None else truth.boxes, title)
            render.save_png(frames_dir / f"frame_{len(records):06d}.png", picture)
            gif.add(picture)
            records.append(record)
    width, height = view.picture_size
    print(f"render: wrote {counted(len(records), 'frame')} to {frames_dir} (frame_000000.png "
          f".. frame_{len(records) - 1:06d}.png, {width}x{height} pixels)")
    print(f"render: wrote {args.out / 'frames.gif'} ({counted(gif.frames, 'frame')}, "
          f"{args.fps:g} fps)")
    return records


def _drawing_module() -> ModuleType:
    """Import the drawing module, or say which extra brings matplotlib."""
    try:
        from ..tools import render
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] in ("matplotlib", "PIL"):
            raise ConfigError(f"render needs matplotlib ({exc}); install it with "
                              "`pip install tao_pointpillars_py[viz]`") from None
        raise
    return render


def _check_options(args: argparse.Namespace) -> None:
    if not args.bag.exists():
        raise ConfigError(f"bag {args.bag} does not exist; pass a rosbag2 folder")
    for option, path in (("--labels", args.labels), ("--model", args.model)):
        if path is not None and not path.is_file():
            raise ConfigError(f"{option} {path} is not a file")
    if args.every < 1 or (args.max_frames is not None and args.max_frames < 1):
        raise ConfigError("--every and --max-frames must be >= 1")
    if not args.fps > 0 or (args.range is not None and not args.range > 0):
        raise ConfigError("--fps and --range must be > 0")
    if not 0 < args.fov_deg <= 360:
        raise ConfigError(f"--fov-deg must be in (0, 360], got {args.fov_deg}")
    if args.score_threshold is not None and not 0 <= args.score_threshold <= 1:
        raise ConfigError(f"--score-threshold must be in [0, 1], got {args.score_threshold}")


def default_range(config: ModelConfig) -> float:
    """Give the view's half-width that shows the model's whole range: whole metres."""
    x_min, y_min, _, x_max, y_max, _ = config.pillars.point_cloud_range
    return float(math.ceil(max(abs(x_min), abs(y_min), x_max, y_max)))


def _count_clouds(bag: Path, topics: Optional[Sequence[str]]) -> int:
    from rosbags.highlevel import AnyReaderError

    from ..data.bags import count_clouds

    try:
        total = count_clouds(bag, topics)
    except AnyReaderError as exc:
        raise ConfigError(f"{bag} is not a readable bag: {exc}") from None
    if total == 0:
        raise CloudFormatError(f"{bag} holds no sensor_msgs/PointCloud2 messages; its topics "
                               f"are {sorted(bag_topics(bag))}")
    return total


def bag_topics(bag: Path) -> dict[str, str]:
    """Give the bag's topics and their message types."""
    from rosbags.highlevel import AnyReader

    from ..data.detection_messages import vision_typestore

    with AnyReader([bag], default_typestore=vision_typestore()) as reader:
        return {c.topic: c.msgtype for c in reader.connections}


def _clear_frames(frames_dir: Path) -> None:
    """Make an empty frames folder: earlier, longer renders must not leave frames behind."""
    frames_dir.mkdir(parents=True, exist_ok=True)
    for stale in frames_dir.glob("frame_*.png"):
        stale.unlink()


def _chosen_clouds(bag: Path, topics: Optional[Sequence[str]], every: int,
                   max_frames: Optional[int], total: int
                   ) -> Iterator[tuple[int, CloudFrame, int]]:
    """Yield (index in the bag, cloud, first cloud's timestamp) of each cloud to render."""
    from tqdm import tqdm

    from ..data.bags import read_clouds

    wanted = math.ceil(total / every)
    if max_frames is not None:
        wanted = min(wanted, max_frames)
    first_ns: Optional[int] = None
    with tqdm(total=wanted, desc="render", unit="frame") as bar:
        for index, cloud in enumerate(read_clouds(bag, topics)):
            first_ns = cloud.timestamp_ns if first_ns is None else first_ns
            if index % every:
                continue
            if bar.n >= wanted:
                break
            yield index, cloud, first_ns
            bar.update()


def truth_counts(truth: Optional[FrameLabels], labels: LabelsFile,
                 class_names: Sequence[str]) -> np.ndarray:
    """Give ground-truth objects per model class (the labels' classes matched by name)."""
    if truth is None:
        return np.zeros(len(class_names), dtype=np.int64)
    names = np.array(labels.class_names)[truth.labels]
    return np.array([np.count_nonzero(names == name) for name in class_names], dtype=np.int64)


class BagDetections:
    """
    One topic's Detection3DArray messages of a bag, looked up by cloud timestamp.

    A cloud's timestamp in the bag is its receive time, the detections' the cloud's header
    stamp; they agree in bags written offline and differ by the transport delay in recordings,
    so the nearest stamp within half the message period counts as the cloud's.
    """

    def __init__(self, frames: dict[int, Detections]) -> None:
        self.frames = frames
        self.stamps = np.array(sorted(frames), dtype=np.int64)
        gaps = np.diff(self.stamps)
        self.tolerance_ns = int(np.median(gaps) // 2) if gaps.size else 0
        self.unmatched = 0

    def at(self, timestamp_ns: int) -> Optional[Detections]:
        """Give the detections stamped nearest ``timestamp_ns``, None when none is near."""
        if timestamp_ns in self.frames:
            return self.frames[timestamp_ns]
        if self.stamps.size:
            after = int(np.searchsorted(self.stamps, timestamp_ns))
            near = self.stamps[max(after - 1, 0):after + 1]
            nearest = int(near[np.argmin(np.abs(near - timestamp_ns))])
            if abs(nearest - timestamp_ns) <= self.tolerance_ns:
                return self.frames[nearest]
        self.unmatched += 1
        return None


class DetectionFinder:
    """Detections of each cloud: the bag's own where it has them, else the model's."""

    def __init__(self, bag: Path, class_names: Sequence[str], model_path: Path,
                 score_threshold: Optional[float]) -> None:
        from ..data.detection_messages import DETECTION3D_ARRAY

        self.bag, self.class_names = bag, tuple(class_names)
        self.model_path, self.score_threshold = model_path, score_threshold
        self._detection_topics = {t for t, kind in bag_topics(bag).items()
                                  if kind == DETECTION3D_ARRAY}
        self._from_bag: dict[str, Optional[BagDetections]] = {}
        self._detector: Optional[Detector] = None
        self._warm = False

    def bag_detections(self, cloud_topic: str) -> Optional[BagDetections]:
        """Give the bag's detections answering ``cloud_topic``, None where it has none."""
        from ..data.detection_messages import read_detection_bag
        from ..ros.topics import output_topics

        if cloud_topic not in self._from_bag:
            topic = output_topics(cloud_topic).detections
            self._from_bag[cloud_topic] = (
                BagDetections(read_detection_bag(self.bag, topic, self.class_names))
                if topic in self._detection_topics else None)
        return self._from_bag[cloud_topic]

    def describe(self, cloud_topic: str) -> str:
        """Say where the detections of ``cloud_topic`` come from."""
        from ..ros.topics import output_topics

        if self.bag_detections(cloud_topic) is not None:
            return f"detections from the bag's {output_topics(cloud_topic).detections}"
        threshold = (self.score_threshold if self.score_threshold is not None
                     else self._detector_for(None).post.score_threshold)
        return f"detections of {self.model_path.name}, score ≥ {threshold:.2f}"

    def find(self, cloud: CloudFrame) -> tuple[Detections, Optional[float]]:
        """Give the cloud's detections and the detector's latency [ms] (None: from the bag)."""
        from_bag = self.bag_detections(cloud.topic)
        if from_bag is not None:
            found = from_bag.at(cloud.timestamp_ns) or Detections.empty()
            if self.score_threshold is not None:
                found = found.select(found.scores >= self.score_threshold)
            return found, None
        detector = self._detector_for(cloud.points)
        found = detector.detect(cloud.points)
        return found, detector.last_timings.total_ms

    def _detector_for(self, first_points: Optional[np.ndarray]) -> Detector:
        """Load the detector once; a first, untimed frame keeps warm-up out of the latency."""
        from ..inference.detector import Detector

        if self._detector is None:
            self._detector = (
                Detector.from_model(str(self.model_path)) if self.score_threshold is None
                else Detector.from_model(str(self.model_path),
                                         score_threshold=self.score_threshold))
        if first_points is not None and not self._warm:
            self._detector.detect(first_points)
            self._warm = True
        return self._detector

    @property
    def unmatched(self) -> int:
        """Count clouds for which the bag held detections elsewhere but none for them."""
        return sum(d.unmatched for d in self._from_bag.values() if d is not None)


def counted(count: int, noun: str) -> str:
    """Give ``count`` and ``noun``, plural unless one: "1 frame", "4 frames"."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _class_counts(counts: np.ndarray, class_names: Sequence[str]) -> str:
    return ", ".join(f"{name} {int(n)}" for name, n in zip(class_names, counts))


def frame_title(number: int, index: int, total: int, cloud: CloudFrame,
                record: FrameRecord, class_names: Sequence[str], source: str) -> str:
    """Give a picture's two title lines: which cloud, when, and what was found."""
    seconds, nanoseconds = divmod(cloud.timestamp_ns, 1_000_000_000)
    first = (f"{cloud.topic} ({cloud.frame_id})   t = {record.time_s:.2f} s   stamp "
             f"{seconds}.{nanoseconds:09d}   cloud {index + 1}/{total}   frame_{number:06d}")
    second = (f"{int(record.detections_per_class.sum())} detections: "
              f"{_class_counts(record.detections_per_class, class_names)}   ({source}")
    second += ")" if record.latency_ms is None else f", {record.latency_ms:.1f} ms)"
    if record.ground_truth_per_class is not None:
        second += f"   ground truth: {int(record.ground_truth_per_class.sum())}"
    return f"{first}\n{second}"


def summary_line(chosen: Sequence[FrameRecord], total: int, class_names: Sequence[str],
                 finder: DetectionFinder, with_truth: bool, seconds: float) -> str:
    """Give the one-line summary of a render."""
    counts = np.sum([r.detections_per_class for r in chosen], axis=0)
    topics = sorted({r.topic for r in chosen})
    line = (f"render: {counted(len(chosen), 'frame')} of {counted(total, 'cloud')} on "
            f"{', '.join(topics)}; {int(counts.sum())} detections "
            f"({_class_counts(counts, class_names)})")
    if with_truth:
        truth = np.sum([r.ground_truth_per_class for r in chosen
                        if r.ground_truth_per_class is not None], axis=0)
        line += f", ground truth {int(np.sum(truth))}"
    latencies = [r.latency_ms for r in chosen if r.latency_ms is not None]
    if latencies:
        p50, p99 = np.percentile(latencies, [50, 99])
        line += f"; latency p50 {p50:.1f} ms, p99 {p99:.1f} ms"
    else:
        line += "; " + UNMEASURED_NOTE
    if finder.unmatched:
        line += (f"; {counted(finder.unmatched, 'cloud')} without a detections message in "
                 "the bag")
    return line + f"; {seconds:.1f} s"


def _write_mp4(frames_dir: Path, path: Path, fps: float) -> None:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        print("render: frames.mp4 not written: ffmpeg is not installed (e.g. `apt-get install "
              "ffmpeg`); frames.gif has the animation", file=sys.stderr)
        return
    command = [ffmpeg, "-y", "-loglevel", "error", "-framerate", f"{fps:g}",
               "-i", str(frames_dir / "frame_%06d.png"), "-c:v", "libx264",
               "-pix_fmt", "yuv420p", str(path)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        print(f"render: frames.mp4 not written: ffmpeg failed ({result.stderr.strip()[-500:]}); "
              "frames.gif has the animation", file=sys.stderr)
        return
    print(f"render: wrote {path}")
