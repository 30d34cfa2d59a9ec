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
The clouds of a render, drawn one at a time, and the words around them.

:func:`render_frames` draws the chosen clouds (with :mod:`.drawing`, imported there, so that
this module imports without matplotlib), saves each picture and adds it to the GIF;
:func:`frame_title` and :func:`summary_line` say what each picture and the whole render show.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
from pathlib import Path
import shutil
import subprocess
from typing import Iterator, Literal, NamedTuple, Optional, Sequence

import numpy as np
from rosbags.highlevel import AnyReaderError
from tqdm import tqdm

from .bag_detections import bag_topics, DetectionFinder
from ...core.boxes import Extrinsic, transform_boxes, transform_points
from ...core.config import ModelConfig
from ...core.detections import Detections
from ...core.fusion import to_base_frame
from ...core.pointcloud2 import DRIVER_INTENSITY_RANGE, points_from_cloud
from ...core.stats import percentiles
from ...data.bags import cloud_connections, CloudFrame, count_clouds, open_reader, read_clouds
from ...data.labels import FrameLabels, LabelsFile
from ...errors import CloudFormatError, ConfigError

__all__ = ["FrameRecord", "INTENSITY_PERCENTILES", "MODEL_FRAME", "RenderJob", "RenderedFrames",
           "UNMEASURED_NOTE", "checked_cloud_count", "counted", "default_range", "frame_title",
           "in_model_frame", "intensity_scale", "render_frames", "sampled_intensities",
           "summary_line", "truth_counts", "write_mp4"]

UNMEASURED_NOTE = "latency: not measured, detections read from the bag"
#: the percentiles of a bag's intensities that the grey scale spans: robust to a few glints
INTENSITY_PERCENTILES = (1.0, 99.0)
#: the intensity sample: this many of the rendered clouds, spread over them, and at most this
#: many points of each, drawn at random (a stride would follow the lasers' interleaving)
SAMPLED_CLOUDS, SAMPLED_POINTS = 16, 8192
MODEL_FRAME = "model frame"


@dataclass(frozen=True)
class FrameRecord:
    """What the summary figure needs of one rendered frame."""

    time_s: float
    topic: str
    detections_per_class: np.ndarray
    ground_truth_per_class: np.ndarray | None = None
    latency_ms: float | None = None


@dataclass(frozen=True)
class RenderJob:
    """Which clouds of a bag to render, and how the pictures look."""

    bag: Path
    out: Path
    topics: Optional[Sequence[str]]
    every: int
    max_frames: Optional[int]
    color_by: Literal["intensity", "height"]
    range_m: float
    fov_deg: float
    fps: float

    @property
    def frames_dir(self) -> Path:
        """Give the folder of the frame pictures."""
        return self.out / "frames"


class RenderedFrames(NamedTuple):
    """What :func:`render_frames` drew: a record per frame, picture size, GIF frames, scale."""

    records: list[FrameRecord]
    picture_size: tuple[int, int]
    gif_frames: int
    #: the points' colour scale (intensity: the bag's percentiles; height: the model's z range)
    value_range: tuple[float, float]


def render_frames(job: RenderJob, config: ModelConfig, finder: DetectionFinder,
                  labels: Optional[LabelsFile], total: int) -> RenderedFrames:
    """Draw, save and animate the chosen clouds one at a time; give what each showed."""
    from .drawing import BevRenderer, BevView, GifWriter, PointShading, save_png

    view = BevView.around_lidar(job.range_m, job.fov_deg)
    pcr = config.pillars.point_cloud_range
    if job.color_by == "intensity":
        low, high = intensity_scale(sampled_intensities(job, total))
        shading = PointShading("intensity", (low, high), "p{:g}..p{:g} of this bag".format(
            *INTENSITY_PERCENTILES))
    else:
        shading = PointShading("height", (pcr[2], pcr[5]))
    drawn_frame = MODEL_FRAME if finder.cloud_to_model is not None else ""
    _clear_frames(job.frames_dir)
    records: list[FrameRecord] = []
    with BevRenderer(view, config.class_names, shading, job.fov_deg, pcr,
                     with_ground_truth=labels is not None,
                     drawn_frame=drawn_frame) as renderer, \
            GifWriter(job.out / "frames.gif", job.fps) as gif:
        for index, cloud, first_ns in _chosen_clouds(job, total):
            found, latency_ms = finder.find(cloud)
            truth = labels.frames.get(cloud.timestamp_ns) if labels is not None else None
            record = FrameRecord(
                (cloud.timestamp_ns - first_ns) / 1e9, cloud.topic,
                np.bincount(found.labels, minlength=len(config.class_names)),
                None if labels is None else truth_counts(truth, labels, config.class_names),
                latency_ms)
            title = frame_title(len(records), index, total, cloud, record, config.class_names,
                                finder.describe(cloud.topic), drawn_frame)
            picture = renderer.draw(*in_model_frame(
                finder.cloud_to_model, cloud.points, found,
                None if truth is None else truth.boxes), title)
            save_png(job.frames_dir / f"frame_{len(records):06d}.png", picture)
            gif.add(picture)
            records.append(record)
    return RenderedFrames(records, view.picture_size, gif.frames, shading.value_range)


def intensity_scale(intensities: np.ndarray) -> tuple[float, float]:
    """
    Give the grey scale's (low, high) intensity: the :data:`INTENSITY_PERCENTILES` of a sample.

    A scale fixed at the driver's 0..255 draws a real Zvision cloud (median 2, p99 45) nearly
    black; the bag's own percentiles spread its greys. The scale is at least one unit wide (a
    flat cloud still has one); no finite intensity at all gives the driver's 0..255.
    """
    values = np.asarray(intensities, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        return DRIVER_INTENSITY_RANGE
    low, high = (float(v) for v in np.percentile(values, INTENSITY_PERCENTILES))
    return low, max(high, low + 1.0)


def _rendered_indices(job: RenderJob, total: int) -> np.ndarray:
    """Give the bag indices of the clouds :func:`_chosen_clouds` yields."""
    wanted = math.ceil(total / job.every)
    if job.max_frames is not None:
        wanted = min(wanted, job.max_frames)
    return np.arange(wanted, dtype=np.int64) * job.every


def sampled_intensities(job: RenderJob, total: int) -> np.ndarray:
    """
    Give a sample of the intensities of the points the render draws, read once before it.

    Up to :data:`SAMPLED_CLOUDS` of the rendered clouds, spread evenly over them (only these
    are decoded), :data:`SAMPLED_POINTS` points of each drawn at random (fixed seed: a render
    is repeatable). Slots without a return (x = y = z = 0, as the Zvision driver writes them)
    are left out.
    """
    rendered = _rendered_indices(job, total)
    if rendered.size == 0:
        return np.zeros(0, dtype=np.float32)
    picks = np.linspace(0, rendered.size - 1, min(rendered.size, SAMPLED_CLOUDS))
    sampled = set(rendered[np.round(picks).astype(np.int64)].tolist())
    samples = []
    rng = np.random.default_rng(0)
    with open_reader(job.bag) as reader:
        connections = cloud_connections(reader, job.topics)
        for index, (connection, _, raw) in enumerate(reader.messages(connections=connections)):
            if index > rendered[-1]:
                break
            if index in sampled:
                points = points_from_cloud(reader.deserialize(raw, connection.msgtype))
                if len(points) > SAMPLED_POINTS:
                    points = points[rng.choice(len(points), SAMPLED_POINTS, replace=False)]
                samples.append(points[np.any(points[:, :3] != 0.0, axis=1), 3])
    return np.concatenate(samples) if samples else np.zeros(0, dtype=np.float32)


def in_model_frame(cloud_to_model: Optional[Extrinsic], points: np.ndarray,
                   found: Detections, truth: Optional[np.ndarray]
                   ) -> tuple[np.ndarray, Detections, Optional[np.ndarray]]:
    """
    Give a cloud, its detections and ground truth in the model's frame, as the model sees them.

    The view (field of view about +x, range ahead) is the model's; a cloud with another
    forward axis (``cloud_to_model``, e.g. a +y-forward Zvision) is drawn turned into it.
    """
    if cloud_to_model is None:
        return points, found, truth
    return (transform_points(points, cloud_to_model), to_base_frame(found, cloud_to_model),
            None if truth is None else transform_boxes(truth, cloud_to_model))


def default_range(config: ModelConfig) -> float:
    """Give the view's half-width that shows the model's whole range: whole metres."""
    x_min, y_min, _, x_max, y_max, _ = config.pillars.point_cloud_range
    return float(math.ceil(max(abs(x_min), abs(y_min), x_max, y_max)))


def checked_cloud_count(bag: Path, topics: Optional[Sequence[str]]) -> int:
    """Count the bag's clouds; say what the bag holds where it is unreadable or has none."""
    try:
        total = count_clouds(bag, topics)
    except AnyReaderError as exc:
        raise ConfigError(f"{bag} is not a readable bag: {exc}") from None
    if total == 0:
        raise CloudFormatError(f"{bag} holds no sensor_msgs/PointCloud2 messages; its topics "
                               f"are {sorted(bag_topics(bag))}")
    return total


def _clear_frames(frames_dir: Path) -> None:
    """Make an empty frames folder: earlier, longer renders must not leave frames behind."""
    frames_dir.mkdir(parents=True, exist_ok=True)
    for stale in frames_dir.glob("frame_*.png"):
        stale.unlink()


def _chosen_clouds(job: RenderJob, total: int) -> Iterator[tuple[int, CloudFrame, int]]:
    """Yield (index in the bag, cloud, first cloud's timestamp) of each cloud to render."""
    wanted = len(_rendered_indices(job, total))
    first_ns: Optional[int] = None
    with tqdm(total=wanted, desc="render", unit="frame") as bar:
        for index, cloud in enumerate(read_clouds(job.bag, job.topics)):
            first_ns = cloud.timestamp_ns if first_ns is None else first_ns
            if index % job.every:
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


def counted(count: int, noun: str) -> str:
    """Give ``count`` and ``noun``, plural unless one: "1 frame", "4 frames"."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _class_counts(counts: np.ndarray, class_names: Sequence[str]) -> str:
    return ", ".join(f"{name} {int(n)}" for name, n in zip(class_names, counts))


def frame_title(number: int, index: int, total: int, cloud: CloudFrame,
                record: FrameRecord, class_names: Sequence[str], source: str,
                drawn_frame: str = "") -> str:
    """
    Give a picture's two title lines: which cloud, when, and what was found.

    ``drawn_frame`` names the frame the picture is drawn in where it is not the cloud's own
    (e.g. :data:`MODEL_FRAME` with ``cloud_to_model``).
    """
    seconds, nanoseconds = divmod(cloud.timestamp_ns, 1_000_000_000)
    frame = cloud.frame_id + (f", drawn in the {drawn_frame}" if drawn_frame else "")
    first = (f"{cloud.topic} ({frame})   t = {record.time_s:.2f} s   stamp "
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
        p50, p99 = percentiles(latencies, (50, 99))
        line += f"; latency p50 {p50:.1f} ms, p99 {p99:.1f} ms"
    else:
        line += "; " + UNMEASURED_NOTE
    if finder.unmatched:
        line += (f"; {counted(finder.unmatched, 'cloud')} without a detections message in "
                 "the bag")
    return line + f"; {seconds:.1f} s"


def write_mp4(frames_dir: Path, path: Path, fps: float) -> Optional[str]:
    """Encode the frame pictures as an H.264 MP4 with ffmpeg; give why not where it fails."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return ("ffmpeg is not installed (e.g. `apt-get install ffmpeg`); frames.gif has the "
                "animation")
    command = [ffmpeg, "-y", "-loglevel", "error", "-framerate", f"{fps:g}",
               "-i", str(frames_dir / "frame_%06d.png"), "-c:v", "libx264",
               "-pix_fmt", "yuv420p", str(path)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        return f"ffmpeg failed ({result.stderr.strip()[-500:]}); frames.gif has the animation"
    return None
