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

"""Tests of tao_pointpillars_py.data.dataset: joining bag clouds with labels by timestamp."""

import numpy as np
import pytest

from tao_pointpillars_py.data.bags import write_cloud_bag
from tao_pointpillars_py.data.dataset import dataset_paths, iter_labeled_frames
from tao_pointpillars_py.data.labels import FrameLabels, write_labels
from tao_pointpillars_py.errors import LabelsFormatError

NAMES = ("Vehicle", "Pedestrian", "Cyclist")
TOPIC = "/ns1/zvision_lidar_points"


def make_dataset(root, timestamps, labeled, storage="sqlite3"):
    bag_dir, labels_path = dataset_paths(root)
    root.mkdir(exist_ok=True)
    clouds = [(t, np.full((3 + k, 4), k + 1, dtype=np.float32)) for k, t in enumerate(timestamps)]
    write_cloud_bag(bag_dir, clouds, storage=storage)
    labels = [(t, FrameLabels(np.full((k, 7), k, np.float32), np.arange(k) % 3,
                              np.full(k, 10 * k)))
              for k, t in enumerate(timestamps) if t in labeled]
    write_labels(labels_path, labels, NAMES, TOPIC, "lidar_front")
    return clouds


def test_dataset_paths_name_bag_folder_and_labels_file(tmp_path):
    assert dataset_paths(tmp_path) == (tmp_path / "bag", tmp_path / "labels.jsonl")


@pytest.mark.parametrize("storage", ["sqlite3", "mcap"])
def test_iter_labeled_frames_joins_clouds_and_labels_by_timestamp(tmp_path, storage):
    stamps = [1_000, 2_000, 3_000]
    clouds = make_dataset(tmp_path / "ds", stamps, set(stamps), storage)
    frames = list(iter_labeled_frames(tmp_path / "ds"))
    assert [f.timestamp_ns for f in frames] == stamps
    for k, (frame, (_, points)) in enumerate(zip(frames, clouds)):
        np.testing.assert_array_equal(frame.points, points)
        assert len(frame.labels) == k
        np.testing.assert_array_equal(frame.labels.num_points, np.full(k, 10 * k))


def test_iter_labeled_frames_reports_cloud_without_labels(tmp_path):
    make_dataset(tmp_path / "ds", [1_000, 2_000], {1_000})
    frames = iter_labeled_frames(tmp_path / "ds")
    assert next(frames).timestamp_ns == 1_000
    with pytest.raises(LabelsFormatError, match="2000 ns .* no labels"):
        next(frames)


def test_iter_labeled_frames_reports_a_directory_that_is_no_dataset(tmp_path):
    with pytest.raises(FileNotFoundError, match="labels.jsonl"):
        next(iter_labeled_frames(tmp_path))
