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
Labels (and detections) files: JSON Lines, one header line then one line per frame.

Line 1::

    {"format": "tao_pointpillars.labels", "version": 1, "class_names": [...],
     "topic": "/ns1/zvision_lidar_points", "frame_id": "lidar_front"}

Then one line per frame::

    {"timestamp_ns": 1700000000000000000,
     "objects": [{"class": "Vehicle", "box": [x, y, z, dx, dy, dz, yaw], "num_points": 312}]}

Objects of a detections file also carry ``"score"``. See docs/dataset.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import json
import math
from pathlib import Path
from types import TracebackType
from typing import Any, IO, Iterable, Mapping, Sequence

import numpy as np

from ..errors import LabelsFormatError

LABELS_FORMAT = "tao_pointpillars.labels"
LABELS_VERSION = 1


@dataclass(frozen=True, eq=False)
class FrameLabels:
    """
    Objects of one frame.

    Attributes
    ----------
    boxes
        (M, 7) float32 (x, y, z, dx, dy, dz, yaw), centre and size in metres, yaw in rad.
    labels
        (M,) int64 class indices into the file's ``class_names``.
    num_points
        (M,) int32 lidar points inside each box (-1 where unknown).
    scores
        (M,) float32 confidences for detections, ``None`` for ground truth.

    """

    boxes: np.ndarray
    labels: np.ndarray
    num_points: np.ndarray = field(default=None)  # type: ignore[arg-type]  # None: all -1
    scores: np.ndarray | None = None

    def __post_init__(self) -> None:
        boxes = np.asarray(self.boxes, dtype=np.float32).reshape(-1, 7)
        count = boxes.shape[0]
        labels = np.asarray(self.labels, dtype=np.int64).reshape(-1)
        num_points = (np.full(count, -1, dtype=np.int32) if self.num_points is None
                      else np.asarray(self.num_points, dtype=np.int32).reshape(-1))
        scores = (None if self.scores is None
                  else np.asarray(self.scores, dtype=np.float32).reshape(-1))
        sizes = {"labels": labels.size, "num_points": num_points.size}
        if scores is not None:
            sizes["scores"] = scores.size
        wrong = {name: size for name, size in sizes.items() if size != count}
        if wrong:
            raise LabelsFormatError(f"{count} boxes but array sizes {wrong}; they must match")
        object.__setattr__(self, "boxes", boxes)
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "num_points", num_points)
        object.__setattr__(self, "scores", scores)

    def __len__(self) -> int:
        return int(self.boxes.shape[0])

    @classmethod
    def empty(cls, with_scores: bool = False) -> "FrameLabels":
        """Frame without objects."""
        return cls(np.zeros((0, 7), np.float32), np.zeros(0, np.int64), np.zeros(0, np.int32),
                   np.zeros(0, np.float32) if with_scores else None)


@dataclass(frozen=True)
class LabelsFile:
    """
    A whole labels file; ``frames`` maps timestamp [ns] to labels, in file order.

    ``model_range`` and ``cloud_to_model`` are set in a detections file written by ``detect``:
    the point_cloud_range of the model that found the boxes and the node's ``cloud_to_model``
    ("x y z roll pitch yaw", None: identity) it ran with, so that ``eval`` scores the file as
    it scores the model.
    """

    class_names: tuple[str, ...]
    topic: str
    frame_id: str
    frames: dict[int, FrameLabels]
    model_range: tuple[float, ...] | None = None
    cloud_to_model: str | None = None


@dataclass(frozen=True)
class LabelsHeader:
    """The header line of a labels or detections file (see :class:`LabelsFile`)."""

    class_names: tuple[str, ...]
    topic: str
    frame_id: str
    model_range: tuple[float, ...] | None = None
    cloud_to_model: str | None = None


def _short_float(value: float) -> float:
    """Shortest decimal that reads back as the same float32."""
    return float(str(np.float32(value)))


def _frame_record(timestamp_ns: int, frame: FrameLabels,
                  class_names: Sequence[str]) -> dict[str, Any]:
    if frame.labels.size and (frame.labels.min() < 0 or frame.labels.max() >= len(class_names)):
        raise LabelsFormatError(
            f"frame {timestamp_ns}: class index out of range 0..{len(class_names) - 1}")
    objects = []
    for i in range(len(frame)):
        obj: dict[str, Any] = {
            "class": class_names[int(frame.labels[i])],
            "box": [_short_float(v) for v in frame.boxes[i]],
            "num_points": int(frame.num_points[i]),
        }
        if frame.scores is not None:
            obj["score"] = _short_float(frame.scores[i])
        objects.append(obj)
    return {"timestamp_ns": int(timestamp_ns), "objects": objects}


class LabelsWriter:
    """Streaming writer: ``with LabelsWriter(path, ...) as w: w.write(t, frame)``."""

    def __init__(self, path: str | Path, class_names: Sequence[str], topic: str,
                 frame_id: str, model_range: Sequence[float] | None = None,
                 cloud_to_model: str | None = None) -> None:
        self.path = Path(path)
        self.class_names = tuple(str(n) for n in class_names)
        if not self.class_names or len(set(self.class_names)) != len(self.class_names):
            raise LabelsFormatError(f"class_names must be unique and non-empty: {class_names}")
        self.topic, self.frame_id = str(topic), str(frame_id)
        self.model_range = None if model_range is None else [float(v) for v in model_range]
        self.cloud_to_model = cloud_to_model
        self._file: IO[str] | None = None
        self._seen: set[int] = set()

    def __enter__(self) -> "LabelsWriter":
        self._file = self.path.open("w", encoding="utf-8")
        header: dict[str, Any] = {"format": LABELS_FORMAT, "version": LABELS_VERSION,
                                  "class_names": list(self.class_names), "topic": self.topic,
                                  "frame_id": self.frame_id}
        if self.model_range is not None:
            header["model_range"] = self.model_range
        if self.cloud_to_model is not None:
            header["cloud_to_model"] = self.cloud_to_model
        self._file.write(json.dumps(header) + "\n")
        return self

    def write(self, timestamp_ns: int, frame: FrameLabels) -> None:
        """Append one frame; timestamps must be unique."""
        if self._file is None:
            raise RuntimeError("LabelsWriter.write called outside its with block")
        if int(timestamp_ns) in self._seen:
            raise LabelsFormatError(f"timestamp {timestamp_ns} written twice")
        self._seen.add(int(timestamp_ns))
        record = _frame_record(timestamp_ns, frame, self.class_names)
        self._file.write(json.dumps(record, separators=(",", ":")) + "\n")

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def write_labels(path: str | Path, frames: Iterable[tuple[int, FrameLabels]],
                 class_names: Sequence[str], topic: str, frame_id: str) -> int:
    """Write (timestamp_ns, FrameLabels) pairs to a labels file; return the frame count."""
    with LabelsWriter(path, class_names, topic, frame_id) as writer:
        count = 0
        for timestamp_ns, frame in frames:
            writer.write(timestamp_ns, frame)
            count += 1
    return count


def _fail(path: Path, line_no: int, message: str) -> LabelsFormatError:
    return LabelsFormatError(f"{path}:{line_no}: {message}")


def _parse_header(path: Path, line: str) -> LabelsHeader:
    if not line.strip():
        raise _fail(path, 1, "empty file; expected the labels header line")
    try:
        header = json.loads(line)
    except json.JSONDecodeError as exc:
        raise _fail(path, 1, f"header is not JSON ({exc})") from None
    if not isinstance(header, dict) or header.get("format") != LABELS_FORMAT:
        raise _fail(path, 1, f'header must be an object with "format": "{LABELS_FORMAT}"')
    if header.get("version") != LABELS_VERSION:
        raise _fail(path, 1, f"unsupported version {header.get('version')!r}; "
                             f"this reader supports {LABELS_VERSION}")
    names = header.get("class_names")
    if (not isinstance(names, list) or not names
            or not all(isinstance(n, str) for n in names) or len(set(names)) != len(names)):
        raise _fail(path, 1, '"class_names" must be a non-empty list of unique strings')
    topic, frame_id = header.get("topic"), header.get("frame_id")
    if not isinstance(topic, str) or not isinstance(frame_id, str):
        raise _fail(path, 1, '"topic" and "frame_id" must be strings')
    model_range = header.get("model_range")
    if model_range is not None and (
            not isinstance(model_range, list) or len(model_range) != 6
            or not all(_is_number(v) for v in model_range)
            or not all(model_range[i] < model_range[i + 3] for i in range(3))):
        raise _fail(path, 1, '"model_range" must be [x_min, y_min, z_min, x_max, y_max, z_max]')
    cloud_to_model = header.get("cloud_to_model")
    if cloud_to_model is not None and not isinstance(cloud_to_model, str):
        raise _fail(path, 1, '"cloud_to_model" must be a string "x y z roll pitch yaw"')
    return LabelsHeader(tuple(names), topic, frame_id,
                        None if model_range is None else tuple(float(v) for v in model_range),
                        cloud_to_model)


def read_labels_header(path: str | Path) -> LabelsHeader:
    """Read the header line of a labels or detections file."""
    path = Path(path)
    with path.open("r", encoding="utf-8") as stream:
        return _parse_header(path, stream.readline())


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _parse_object(obj: Any, class_index: Mapping[str, int]
                  ) -> tuple[int, list[float], int, Any]:
    """Return (label, box, num_points, score or None); raise ValueError with the reason."""
    if not isinstance(obj, dict):
        raise ValueError("each object must be a JSON object")
    name: Any = obj.get("class")
    if name not in class_index:
        raise ValueError(f"unknown class {name!r}; the header lists {list(class_index)}")
    box = obj.get("box")
    if not isinstance(box, list) or len(box) != 7 or not all(_is_number(v) for v in box):
        raise ValueError('"box" must be 7 finite numbers [x, y, z, dx, dy, dz, yaw]')
    num_points = obj.get("num_points", -1)
    if not isinstance(num_points, int) or isinstance(num_points, bool) or num_points < -1:
        raise ValueError('"num_points" must be an integer >= 0 (or -1 for unknown)')
    score = obj.get("score")
    if score is not None and not _is_number(score):
        raise ValueError('"score" must be a finite number')
    return class_index[name], box, num_points, score


def _parse_frame(line: str, class_index: Mapping[str, int]) -> tuple[int, FrameLabels, bool]:
    """Return (timestamp_ns, labels, any object has a score); raise ValueError."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc})") from None
    if not isinstance(record, dict):
        raise ValueError("each frame line must be a JSON object")
    timestamp = record.get("timestamp_ns")
    if not isinstance(timestamp, int) or isinstance(timestamp, bool) or timestamp < 0:
        raise ValueError('"timestamp_ns" must be a non-negative integer')
    objects = record.get("objects")
    if not isinstance(objects, list):
        raise ValueError('"objects" must be a list')
    parsed = [_parse_object(obj, class_index) for obj in objects]
    with_score = [p[3] is not None for p in parsed]
    if any(with_score) and not all(with_score):
        raise ValueError('either every object of a frame has a "score" or none has')
    frame = FrameLabels(
        np.array([p[1] for p in parsed], dtype=np.float32).reshape(-1, 7),
        np.array([p[0] for p in parsed], dtype=np.int64),
        np.array([p[2] for p in parsed], dtype=np.int32),
        np.array([p[3] for p in parsed], dtype=np.float32) if any(with_score) else None)
    return timestamp, frame, any(with_score)


def read_labels(path: str | Path) -> LabelsFile:
    """Read a labels or detections file; raise LabelsFormatError naming the bad line."""
    path = Path(path)
    frames: dict[int, FrameLabels] = {}
    scored: set[bool] = set()
    with path.open("r", encoding="utf-8") as stream:
        header = _parse_header(path, stream.readline())
        class_index = {name: i for i, name in enumerate(header.class_names)}
        for line_no, line in enumerate(stream, start=2):
            if not line.strip():
                continue
            try:
                timestamp, frame, has_scores = _parse_frame(line, class_index)
            except ValueError as exc:
                raise _fail(path, line_no, str(exc)) from None
            if timestamp in frames:
                raise _fail(path, line_no, f"duplicate timestamp_ns {timestamp}")
            frames[timestamp] = frame
            if len(frame):
                scored.add(has_scores)
    if len(scored) > 1:
        raise LabelsFormatError(
            f"{path}: some objects have a score and others do not; a file holds either "
            f"labels (no scores) or detections (every object scored)")
    if scored == {True}:
        frames = {t: f if f.scores is not None else FrameLabels.empty(with_scores=True)
                  for t, f in frames.items()}
    return LabelsFile(header.class_names, header.topic, header.frame_id, frames,
                      header.model_range, header.cloud_to_model)
