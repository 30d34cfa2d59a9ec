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
Speed of every backend and precision of one model on this machine, measured side by side.

Variants: ONNX Runtime fp32 and int8 (its CPU form and the Q/DQ model as stored), TensorRT
fp32 / fp16 / int8 where a GPU is present, and a PyTorch eager baseline of the same network.
Every variant runs the same clouds through the same :class:`~.detector.Detector` code
(preprocessing, backend forward, decode + NMS); the frames are interleaved, each one run by
every variant in turn, so that a noisy machine slows every variant alike and the ratios
between rows hold even when the absolute times drift.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
import math
import os
from pathlib import Path
import platform
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .variants import interleaved, Variant
from ..core.boxes import Extrinsic, transform_points
from ..core.pointcloud2 import thin_points
from ..core.stats import percentiles
from ..data.bags import count_clouds, read_clouds
from ..errors import ConfigError
from ..inference.detector import Detector, Timings
from ..quantization.calibration import spread_indices
from ..ros.parameters import DEFAULTS as NODE_DEFAULTS, NodeSettings
from ..sim import simulate_frame

#: the stages of one frame, as :class:`~.detector.Timings` splits it, and their sum
STAGES = ("preprocess", "inference", "postprocess", "total")
STAGE_HEADINGS = {"preprocess": "pre ms", "inference": "inference ms",
                  "postprocess": "post ms", "total": "total ms"}
#: packages whose versions the context names, where installed
VERSIONED = ("onnxruntime", "torch", "tensorrt", "numpy")


def detect_timings(detector: Detector) -> Callable[[np.ndarray], Timings]:
    """Give a run that detects in one cloud and returns the stage times it recorded."""
    def run(points: np.ndarray) -> Timings:
        detector.detect(points)
        return detector.last_timings
    return run


def percentile(values: Sequence[float], q: float) -> float:
    """Give the ``q``-th percentile of ``values`` by linear interpolation; NaN for none."""
    return percentiles(values, (q,))[0]


@dataclass(frozen=True)
class Summary:
    """Median and 99th percentile of one stage's times, ms."""

    median: float
    p99: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        """Summarize times (NaN for none)."""
        return cls(percentile(values, 50), percentile(values, 99))


@dataclass
class BenchResult:
    """One variant's row: what ran, and its times per stage (ms, one per frame and round)."""

    label: str
    model_name: str = ""
    note: str = ""
    times: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STAGES})

    @classmethod
    def measured(cls, variant: Variant, timings: Sequence[Timings]) -> BenchResult:
        """Build the row of a variant from its recorded stage times."""
        return cls(variant.label, variant.model_name, variant.note, {
            "preprocess": [t.preprocess_ms for t in timings],
            "inference": [t.inference_ms for t in timings],
            "postprocess": [t.postprocess_ms for t in timings],
            "total": [t.total_ms for t in timings]})

    @property
    def available(self) -> bool:
        """Tell whether the variant ran (False: not measurable on this machine)."""
        return bool(self.times["total"])

    def summary(self, stage: str) -> Summary:
        return Summary.of(self.times[stage])

    @property
    def frames_per_s(self) -> float:
        """Give frames per second at the median total time."""
        return 1e3 / self.summary("total").median if self.available else math.nan


@dataclass
class BenchReport:
    """Rows of every variant and the context they were measured in."""

    results: list[BenchResult]
    context: dict[str, Any]

    def speedup(self, result: BenchResult) -> float:
        """Give the median inference time of the first row over this row's."""
        if not (self.results and self.results[0].available and result.available):
            return math.nan
        return self.results[0].summary("inference").median / result.summary("inference").median

    def context_line(self) -> str:
        """Say what was measured, how and where, in one line."""
        c = self.context
        versions = ", ".join(f"{name} {version}" for name, version in c["versions"].items())
        return (f"{c['model']}: {c['frames']} {c['frame_source']}, {c['rounds']} round(s) "
                f"after 1 warm-up pass, variants interleaved frame by frame; {c['threads']} "
                f"thread(s) (ONNX Runtime intra-op, torch); CPU: {c['cpu']}, {c['cpus']} "
                f"logical CPUs; {c['date']}; {versions}")

    def table(self) -> str:
        """Render the rows as a markdown table with aligned columns."""
        header = (["variant"] + [f"{STAGE_HEADINGS[s]} (median / p99)" for s in STAGES]
                  + ["frames/s", "inference speed-up", "note"])
        rows = [header]
        for result in self.results:
            cells = [result.label]
            for stage in STAGES:
                s = result.summary(stage)
                cells.append(f"{_number(s.median)} / {_number(s.p99)}" if result.available
                             else "–")
            speedup = self.speedup(result)
            cells += [_number(result.frames_per_s, 1),
                      "–" if math.isnan(speedup) else f"{speedup:.2f}x", result.note]
            rows.append(cells)
        widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
        lines = []
        for index, row in enumerate(rows):
            padded = [cell.ljust(width) for cell, width in zip(row, widths)] + [row[-1]]
            lines.append("| " + " | ".join(padded) + " |")
            if index == 0:
                lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|---|")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """Give every number: per-frame times, summaries, frames/s and speed-ups."""
        variants = []
        for result in self.results:
            summaries = {s: _json_summary(result.summary(s)) for s in STAGES}
            variants.append({
                "variant": result.label, "model": result.model_name, "note": result.note,
                "available": result.available, "times_ms": result.times,
                "summary_ms": summaries if result.available else None,
                "frames_per_s": _finite(result.frames_per_s),
                "inference_speedup": _finite(self.speedup(result))})
        return {"context": self.context, "variants": variants}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BenchReport:
        """Rebuild a report from :meth:`to_json` (the summaries are recomputed)."""
        results = [BenchResult(v["variant"], v["model"], v["note"],
                               {s: [float(x) for x in v["times_ms"][s]] for s in STAGES})
                   for v in data["variants"]]
        return cls(results, dict(data["context"]))


def _number(value: float, digits: int = 2) -> str:
    return "–" if math.isnan(value) else f"{value:.{digits}f}"


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else value


def _json_summary(summary: Summary) -> dict[str, float | None]:
    return {"median": _finite(summary.median), "p99": _finite(summary.p99)}


def simulated_frames(count: int, seed: int = 0,
                     cloud_to_model: Extrinsic | None = None) -> list[np.ndarray]:
    """
    Give ``count`` simulated clouds (N, 4) float32, frames 0.. of sequence ``seed``.

    With ``cloud_to_model`` they are given in the clouds' frame it names (moved by its
    inverse), so that a detector with that ``cloud_to_model`` sees the simulated scenes.
    """
    frames = [simulate_frame(seed, index).points for index in range(count)]
    if cloud_to_model is None or cloud_to_model.is_identity:
        return frames
    model_in_cloud = cloud_to_model.inverse("cloud")
    return [transform_points(frame, model_in_cloud) for frame in frames]


def configure_variants(variants: Sequence[Variant], settings: NodeSettings) -> None:
    """Make every variant's detector read clouds as the node with ``settings`` would."""
    for variant in variants:
        if variant.detector is not None:
            variant.detector.set_post_process(settings.post)
            variant.detector.set_intensity_range(settings.intensity_range)
            variant.detector.set_cloud_to_model(settings.cloud_to_model)


def bag_frames(bag: str | Path, topic: str | None, count: int,
               max_points: int = NODE_DEFAULTS["max_points"]
               ) -> tuple[list[np.ndarray], list[int]]:
    """
    Give ``count`` clouds spread evenly over a bag (one topic, or every cloud) and their indices.

    Consecutive frames are nearly the same scene; spread ones time the recording's range of
    scene sizes. The clouds are copies, independent of the bag reader's buffers, thinned to
    ``max_points`` as the node thins them (default: the node's).
    """
    if count < 1:
        raise ConfigError(f"frames must be >= 1, got {count}")
    topics = None if topic is None else [topic]
    total = count_clouds(bag, topics)
    if total == 0:
        where = "" if topic is None else f" on {topic}"
        raise ConfigError(f"no PointCloud2 messages{where} in {bag}")
    indices = spread_indices(total, count).tolist()
    chosen, last = set(indices), max(indices)
    frames = []
    for index, cloud in enumerate(read_clouds(bag, topics)):
        if index in chosen:
            frames.append(np.array(thin_points(cloud.points, max_points), dtype=np.float32,
                                   copy=True))
        if index >= last:
            break
    return frames, indices


def measure(variants: Sequence[Variant], frames: Sequence[np.ndarray], rounds: int,
            progress: Callable[[int], None] | None = None) -> list[BenchResult]:
    """Time every available variant on ``frames``, interleaved; give a row per variant."""
    if not frames:
        raise ConfigError("no frames to time")
    timings = interleaved([detect_timings(v.detector) for v in variants
                           if v.detector is not None], frames, rounds, progress)
    measured = iter(timings)
    return [BenchResult.measured(v, next(measured)) if v.detector is not None
            else BenchResult(v.label, v.model_name, v.note) for v in variants]


def cpu_name() -> str:
    """Give the CPU model name (Linux /proc/cpuinfo), else what platform knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_context(model: str | Path, frame_source: str, frames: int, rounds: int,
                    threads: int, **extra: Any) -> dict[str, Any]:
    """Give what a report's numbers depend on: model, frames, rounds, threads, CPU, date."""
    versions = {}
    for name in VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return {"model": str(model), "frames": frames, "frame_source": frame_source,
            "rounds": rounds, "threads": threads, "cpu": cpu_name(), "cpus": os.cpu_count(),
            "date": f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC", "versions": versions,
            **extra}
