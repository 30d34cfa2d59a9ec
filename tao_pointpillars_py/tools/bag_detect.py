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
The node's answer to every cloud of a bag, without DDS: what ``tao-pointpillars detect`` runs.

Each cloud goes through the node's own steps: :func:`..inference.detector.answer_cloud`
(decode, thin to ``max_points``, detect), then :func:`..ros.messages.detection_array` and
:func:`..ros.messages.marker_array` with the cloud's header, serialized with rclpy. Clouds are
read one at a time and handed raw to ``workers`` processes (each with its own detector);
answers are written in input order with the clouds' timestamps, so at most a few frames per
worker are ever in memory.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
import multiprocessing
from pathlib import Path
import time
from typing import Any, Callable, ContextManager, Iterator, Mapping, Sequence

import numpy as np
from rosbags.rosbag2 import Writer

from ..core.detections import Detections
from ..core.input_health import (CloudHealth, input_figures, input_problems, InputReference,
                                 window_health, WindowHealth)
from ..core.stats import percentiles
from ..data.bags import (BAG_VERSION, cloud_connections, latched_qos, open_reader,
                         publisher_qos, storage_plugin)
from ..data.detection_messages import DETECTION3D_ARRAY, LABEL_INFO, MARKER_ARRAY, vision_typestore
from ..data.labels import FrameLabels, LabelsWriter
from ..errors import ConfigError
from ..inference.backends import available_backends
from ..inference.detector import answer_cloud, pose_text
from ..inference.runtime import build_detector, select_runtime
from ..ros.parameters import NodeSettings
from ..ros.topics import output_topics

POINTCLOUD2 = "sensor_msgs/msg/PointCloud2"
#: frames handed out per worker before the oldest answer is awaited (bounds memory)
IN_FLIGHT_PER_WORKER = 3


@dataclass(frozen=True)
class DetectJob:
    """One raw cloud to answer: its bag index, timestamp [ns], topic and CDR bytes."""

    index: int
    timestamp_ns: int
    topic: str
    raw: bytes


@dataclass
class FrameAnswer:
    """The node's answer to one cloud: serialized messages, detections and timings [ms]."""

    index: int
    timestamp_ns: int
    topic: str
    detections_cdr: bytes = b""
    markers_cdr: bytes = b""
    detections: Detections | None = None
    timings_ms: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # pre/inf/post/total
    skipped: str = ""  # why the node would have skipped it ("" when answered)
    health: CloudHealth | None = None  # what the cloud looked like to the model


@dataclass
class DetectReport:
    """
    What ``detect_bag`` did: counts, per-frame timings, per-class counts, input health.

    ``health`` holds each answered cloud's figures per cloud topic, ``reference`` what the
    model expects (:mod:`..core.input_health`); :meth:`input_health` pools them.
    """

    frames: int = 0
    answered: int = 0
    skipped: list[str] = field(default_factory=list)
    per_class: dict[str, int] = field(default_factory=dict)
    timings_ms: list[tuple[float, float, float, float]] = field(default_factory=list)
    topics: dict[str, str] = field(default_factory=dict)  # cloud topic -> detections topic
    wall_s: float = 0.0
    health: dict[str, list[CloudHealth]] = field(default_factory=dict)
    reference: InputReference | None = None

    def count(self, answer: FrameAnswer, class_names: Sequence[str]) -> None:
        """Count one answer: skipped with why, or its timings, detections and input health."""
        self.frames += 1
        if answer.skipped:
            self.skipped.append(f"frame {answer.index} ({answer.topic}): {answer.skipped}")
            return
        self.answered += 1
        self.timings_ms.append(answer.timings_ms)
        if answer.health is not None:
            self.health.setdefault(answer.topic, []).append(answer.health)
        if answer.detections is not None:
            for label in answer.detections.labels.tolist():
                name = class_names[int(label)]
                self.per_class[name] = self.per_class.get(name, 0) + 1

    def input_health(self) -> dict[str, tuple[WindowHealth, list[str]]]:
        """Per cloud topic: the pooled health of its clouds and what is off (the node's WARN)."""
        pooled = {}
        for topic, clouds in self.health.items():
            window = window_health(clouds)
            if window is not None and self.reference is not None:
                pooled[topic] = (window, input_problems(window, self.reference))
        return pooled


class FrameAnswerer:
    """Answers clouds as the node does: one detector, the node's settings and conversions."""

    def __init__(self, parameters: Mapping[str, Any]) -> None:
        self.settings = NodeSettings.from_parameters(parameters)
        self.runtime = select_runtime(self.settings.runtime, available_backends())
        self.detector = build_detector(self.runtime, self.settings.post,
                                       self.settings.intensity_range, self.settings.class_names)
        self.detector.set_cloud_to_model(self.settings.cloud_to_model)
        self.class_names = self.detector.config.class_names
        self._typestore = vision_typestore()

    def answer(self, job: DetectJob) -> FrameAnswer:
        """Decode, detect and convert one cloud; a bad cloud gives ``skipped``, never raises."""
        from ..ros.messages import cloud_from_cdr, detection_array, marker_array, to_cdr
        started = time.perf_counter()
        result = FrameAnswer(job.index, job.timestamp_ns, job.topic)
        try:
            msg = cloud_from_cdr(job.raw)
        except Exception as exc:  # noqa: B902 - the node never sees a cloud rclpy cannot read
            result.skipped = f"cannot decode the cloud: {exc}"
            return result
        try:
            answer = answer_cloud(self.detector, msg, self.settings.max_points)
        except Exception as exc:  # noqa: B902 - one bad frame must not stop the run
            result.skipped = f"inference failed: {type(exc).__name__}: {exc}"
            return result
        if answer.detections is None:  # the node skips an undecodable cloud too
            result.skipped = f"cannot decode the cloud: {answer.skipped}"
            return result
        detections, header = answer.detections, msg.header  # the node answers in its header
        result.detections_cdr = self._zero_padded(to_cdr(detection_array(
            detections, header, self.class_names, self.settings.class_id_format)),
            DETECTION3D_ARRAY)
        result.markers_cdr = self._zero_padded(to_cdr(marker_array(
            detections, header, self.class_names)), MARKER_ARRAY)
        result.detections = detections
        result.health = answer.health
        timings = self.detector.last_timings
        result.timings_ms = (timings.preprocess_ms, timings.inference_ms,
                             timings.postprocess_ms, (time.perf_counter() - started) * 1e3)
        return result

    def _zero_padded(self, raw: bytes, msgtype: str) -> bytes:
        # rclpy leaves CDR padding bytes as it finds them: re-serialize with rosbags (zeros)
        # so that the same answer is always the same bytes, whatever process made it
        return bytes(self._typestore.serialize_cdr(self._typestore.deserialize_cdr(
            raw, msgtype), msgtype))

    def label_info_cdr(self, timestamp_ns: int, frame_id: str) -> bytes:
        """Serialize the LabelInfo (class map, score threshold) the node latches."""
        from ..ros.messages import header_at, label_info, to_cdr
        return self._zero_padded(to_cdr(label_info(
            self.class_names, self.detector.post.score_threshold,
            header_at(timestamp_ns, frame_id))), LABEL_INFO)


_WORKER: FrameAnswerer | None = None


def _start_worker(parameters: Mapping[str, Any]) -> None:
    global _WORKER
    _WORKER = FrameAnswerer(parameters)


def _answer_in_worker(job: DetectJob) -> FrameAnswer:
    if _WORKER is None:
        raise RuntimeError("worker process without a detector")
    return _WORKER.answer(job)


def read_jobs(bag: Path, topics: Sequence[str] | None) -> Iterator[DetectJob]:
    """Yield the raw clouds of ``bag`` (on ``topics``, or every PointCloud2 topic) in order."""
    with open_reader(bag) as reader:
        connections = cloud_connections(reader, topics)
        for index, (connection, timestamp, raw) in enumerate(
                reader.messages(connections=connections)):
            yield DetectJob(index, int(timestamp), connection.topic, bytes(raw))


def answers_in_order(jobs: Iterator[DetectJob], parameters: Mapping[str, Any], workers: int,
                     local: FrameAnswerer | None = None) -> Iterator[FrameAnswer]:
    """
    Answer ``jobs`` with ``workers`` processes (1: in this process with ``local``), in order.

    At most ``IN_FLIGHT_PER_WORKER * workers`` jobs are pending at any time.
    """
    if workers <= 1:
        answerer = local or FrameAnswerer(parameters)
        for job in jobs:
            yield answerer.answer(job)
        return
    context = multiprocessing.get_context("spawn")  # no ONNX Runtime state crosses a fork
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                             initargs=(dict(parameters),)) as pool:
        pending: deque[Future[FrameAnswer]] = deque()
        for job in jobs:
            pending.append(pool.submit(_answer_in_worker, job))
            if len(pending) >= IN_FLIGHT_PER_WORKER * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def detect_bag(in_bag: Path, out_bag: Path, parameters: Mapping[str, Any],
               topics: Sequence[str] | None = None, workers: int = 1,
               storage: str = "sqlite3", copy_clouds: bool = True,
               on_answer: Callable[[FrameAnswer], None] | None = None,
               detections_out: Path | None = None) -> DetectReport:
    """
    Write the node's answers to every cloud of ``in_bag`` into the new bag ``out_bag``.

    ``parameters`` are node parameters (missing ones take the node's defaults). Per cloud topic
    (see :func:`.topics.output_topics`) the output holds Detection3DArray and MarkerArray at
    each cloud's timestamp, and one LabelInfo at the first, offered transient local as the
    node publishes it; ``copy_clouds`` copies the clouds too, so the output plays on its own.
    ``detections_out`` (one cloud topic only) also gets every answer as a detections file
    (:mod:`..data.labels`, by bag timestamp, boxes in the cloud's frame), written as it goes.
    ``on_answer`` sees every answer (progress, AP). Refuses (ConfigError) before writing
    anything when two cloud topics would be answered on one output topic.
    """
    started = time.perf_counter()
    if Path(out_bag).exists():
        raise ConfigError(f"{out_bag} exists; a rosbag2 folder is always written new, "
                          "remove it or choose another path")
    cloud_topics, frame_ids = _cloud_topics(in_bag, topics)
    check_output_topics(cloud_topics)
    if detections_out is not None and len(cloud_topics) > 1:
        raise ConfigError(f"--detections-out writes one detections file for one cloud topic "
                          f"(as eval reads it, against one labels file) and {in_bag} has "
                          f"clouds on {cloud_topics}: pass --topic T to choose one")
    local = FrameAnswerer(parameters)  # checks the configuration before any worker starts
    typestore = vision_typestore()
    report = DetectReport(topics={t: output_topics(t).detections for t in cloud_topics},
                          per_class=dict.fromkeys(local.class_names, 0),
                          reference=local.detector.input_reference)
    writer = Writer(Path(out_bag), version=BAG_VERSION, storage_plugin=storage_plugin(storage))
    with writer, _detections_file(detections_out, local, frame_ids) as listing:
        out = _output_connections(writer, cloud_topics, copy_clouds, typestore)
        labelled: set[str] = set()
        jobs = _copying(read_jobs(Path(in_bag), topics), writer, out if copy_clouds else {})
        for answer in answers_in_order(jobs, parameters, workers, local):
            names = output_topics(answer.topic)
            if answer.topic not in labelled:
                labelled.add(answer.topic)
                writer.write(out[names.label_info], answer.timestamp_ns,
                             local.label_info_cdr(answer.timestamp_ns, frame_ids[answer.topic]))
            if not answer.skipped:
                writer.write(out[names.detections], answer.timestamp_ns, answer.detections_cdr)
                writer.write(out[names.markers], answer.timestamp_ns, answer.markers_cdr)
                if listing is not None and answer.detections is not None:
                    listing.write(answer.timestamp_ns, detections_frame(answer.detections))
            report.count(answer, local.class_names)
            if on_answer is not None:
                on_answer(answer)
    report.wall_s = time.perf_counter() - started
    return report


def _cloud_topics(in_bag: Path, topics: Sequence[str] | None
                  ) -> tuple[list[str], dict[str, str]]:
    """Give the cloud topics to answer (sorted) and each one's first header.frame_id."""
    with open_reader(in_bag) as reader:
        connections = cloud_connections(reader, topics)
        if not connections:
            present = sorted(f"{c.topic} ({c.msgtype})" for c in reader.connections)
            raise ConfigError(f"{in_bag} has no PointCloud2 messages"
                              + (f" on {list(topics)}" if topics else "")
                              + f"; its topics are {present or 'none'}")
        return sorted({c.topic for c in connections}), _first_frame_ids(reader, connections)


def check_output_topics(cloud_topics: Sequence[str]) -> None:
    """
    Raise ConfigError when two cloud topics would be answered on one output topic.

    The node answers a cloud topic in its namespace (:func:`.topics.output_topics`), so two
    lidars in one namespace would share ``bbox``; ``points`` and ``/points`` are the same
    name to a node in the root namespace.
    """
    by_output: dict[str, list[str]] = {}
    for topic in cloud_topics:
        by_output.setdefault(output_topics(topic).detections.lstrip("/"), []).append(topic)
    for output, sharing in by_output.items():
        if len(sharing) > 1:
            raise ConfigError(
                f"cloud topics {', '.join(sharing)} would all be answered on "
                f"{output_topics(sharing[0]).detections} (a cloud topic is answered in its "
                f"namespace): pass --topic T to answer one of them, or record the lidars in "
                f"namespaces (e.g. /ns1/points and /ns2/points)")


def detections_frame(detections: Detections) -> FrameLabels:
    """Give one answer's detections as a detections-file frame (model class indices)."""
    return FrameLabels(detections.boxes, detections.labels, None,  # type: ignore[arg-type]
                       detections.scores)


def _detections_file(path: Path | None, answerer: FrameAnswerer,
                     frame_ids: Mapping[str, str]) -> ContextManager[LabelsWriter | None]:
    """
    Open the detections file of the one cloud topic in ``frame_ids`` (None: nothing).

    Its header carries the model's range and the cloud_to_model it ran with, so that ``eval``
    leaves out the ground truth the model could not see, as it does when it runs the model.
    """
    if path is None:
        return nullcontext()
    (topic, frame_id), = frame_ids.items()
    detector = answerer.detector
    return LabelsWriter(path, answerer.class_names, topic, frame_id,
                        model_range=detector.config.pillars.point_cloud_range,
                        cloud_to_model=(None if detector.cloud_to_model is None
                                        else pose_text(detector.cloud_to_model)))


def _output_connections(writer: Any, cloud_topics: Sequence[str], copy_clouds: bool,
                        typestore: Any) -> dict[str, Any]:
    """Add the node's output topics of each cloud topic (and the clouds) to ``writer``."""
    out: dict[str, Any] = {}
    for topic in cloud_topics:
        names = output_topics(topic)
        if copy_clouds:
            out[topic] = writer.add_connection(topic, POINTCLOUD2, typestore=typestore,
                                               offered_qos_profiles=[publisher_qos()])
        out[names.detections] = writer.add_connection(
            names.detections, DETECTION3D_ARRAY, typestore=typestore,
            offered_qos_profiles=[publisher_qos()])
        out[names.markers] = writer.add_connection(
            names.markers, MARKER_ARRAY, typestore=typestore,
            offered_qos_profiles=[publisher_qos()])
        # offered as the node offers it, so that `ros2 bag play` latches it again
        out[names.label_info] = writer.add_connection(
            names.label_info, LABEL_INFO, typestore=typestore,
            offered_qos_profiles=[latched_qos()])
    return out


def _first_frame_ids(reader: Any, connections: Sequence[Any]) -> dict[str, str]:
    frame_ids: dict[str, str] = {}
    for connection, _, raw in reader.messages(connections=connections):
        if connection.topic not in frame_ids:
            frame_ids[connection.topic] = str(
                reader.deserialize(raw, connection.msgtype).header.frame_id)
        if len(frame_ids) == len({c.topic for c in connections}):
            break
    return frame_ids


def _copying(jobs: Iterator[DetectJob], writer: Any, connections: Mapping[str, Any]
             ) -> Iterator[DetectJob]:
    """Pass ``jobs`` on, writing each raw cloud to ``connections[topic]`` first (if any)."""
    for job in jobs:
        if job.topic in connections:
            writer.write(connections[job.topic], job.timestamp_ns, job.raw)
        yield job


def latency_percentiles(timings_ms: Sequence[tuple[float, float, float, float]]
                        ) -> dict[str, tuple[float, float, float]]:
    """Give p50 / p90 / p99 [ms] of each stage (pre, inference, post, total) over frames."""
    if not timings_ms:
        return {}
    values = np.asarray(timings_ms, dtype=np.float64)
    result = {}
    for column, stage in enumerate(("pre", "inference", "post", "total")):
        p50, p90, p99 = percentiles(values[:, column], (50, 90, 99))
        result[stage] = (float(p50), float(p90), float(p99))
    return result


def input_health_lines(report: DetectReport) -> list[str]:
    """
    Table lines, per cloud topic: share of points in the model's range, intensity p50 / p99.

    Intensities in the clouds' units, next to the model's training data's (through
    ``intensity_range``); then the node's WARN, if any, as ``warning:`` lines. [] without
    answered clouds.
    """
    pooled = report.input_health()
    if not pooled or report.reference is None:
        return []
    lines = ["", "| cloud topic | returns per cloud | in model range | intensity p50 / p99 | "
             "model's training p50 / p99 |", "| --- | --- | --- | --- | --- |"]
    warnings = []
    for topic, (window, problems) in pooled.items():
        figures = dict(input_figures(window, report.reference))
        share = figures["points in model range [%]"]
        lines.append(f"| {topic} | {figures['returns per cloud']} | "
                     f"{share}{'' if share == 'no returns' else ' %'} | "
                     f"{figures['intensity p50 / p99']} | "
                     f"{figures['training intensity p50 / p99']} |")
        warnings += [f"warning: {topic}: {problem}" for problem in problems]
    return lines + [f"model range {report.reference.range_text()}"] + warnings
