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
A labeled dataset directory: ``bag/`` (rosbag2 of PointCloud2) + ``labels.jsonl``.

Clouds and labels are joined by the bag message timestamp (see docs/dataset.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, NamedTuple

import numpy as np

from .bags import read_clouds
from .labels import FrameLabels, LabelsFile, read_labels
from ..errors import LabelsFormatError

BAG_DIRNAME = "bag"
LABELS_FILENAME = "labels.jsonl"


class LabeledFrame(NamedTuple):
    """
    One cloud with its ground truth.

    ``points`` is (N, 4) float32 x, y, z [m] and raw driver intensity (e.g. 0..255).
    """

    timestamp_ns: int
    points: np.ndarray
    labels: FrameLabels


def dataset_paths(dataset_dir: str | Path) -> tuple[Path, Path]:
    """Return (bag folder, labels file) of a dataset directory."""
    root = Path(dataset_dir)
    return root / BAG_DIRNAME, root / LABELS_FILENAME


def read_dataset_labels(dataset_dir: str | Path) -> LabelsFile:
    """Read the dataset's labels file (class names, topic, frame_id, frames)."""
    bag_dir, labels_path = dataset_paths(dataset_dir)
    if not bag_dir.is_dir() or not labels_path.is_file():
        raise FileNotFoundError(
            f"{dataset_dir} is not a dataset directory: it needs {BAG_DIRNAME}/ (rosbag2) and "
            f"{LABELS_FILENAME}; create one with `tao-pointpillars sim --out DIR`")
    return read_labels(labels_path)


def iter_labeled_frames(dataset_dir: str | Path,
                        topic: str | None = None) -> Iterator[LabeledFrame]:
    """
    Yield the dataset's clouds on ``topic`` (default: the labels' topic) with their labels.

    Raises LabelsFormatError when a cloud has no labels line with its timestamp.
    """
    labels = read_dataset_labels(dataset_dir)
    bag_dir, labels_path = dataset_paths(dataset_dir)
    topic = labels.topic if topic is None else topic
    for cloud in read_clouds(bag_dir, topics=[topic]):
        frame = labels.frames.get(cloud.timestamp_ns)
        if frame is None:
            raise LabelsFormatError(
                f"cloud at timestamp {cloud.timestamp_ns} ns on {topic} in {bag_dir} has no "
                f"labels in {labels_path}; every cloud needs a line with that timestamp_ns")
        yield LabeledFrame(cloud.timestamp_ns, cloud.points, frame)
