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

"""Tests of tao_pointpillars_py.sim.dataset_writer: simulated, labeled datasets on disk."""

import numpy as np
import pytest

from tao_pointpillars_py.core.config import DEFAULT_CLASS_NAMES
from tao_pointpillars_py.data.bags import count_clouds, DEFAULT_FRAME_ID, DEFAULT_TOPIC
from tao_pointpillars_py.data.dataset import iter_labeled_frames, read_dataset_labels
from tao_pointpillars_py.errors import ConfigError
from tao_pointpillars_py.sim import simulate_frame
from tao_pointpillars_py.sim.dataset_writer import (DEFAULT_START_TIME_NS, FRAME_PERIOD_NS,
                                                    write_dataset)

SEED = 4


def test_frames_read_back_as_simulated_with_their_labels_and_stamps(tmp_path):
    summary = write_dataset(tmp_path / "ds", frames=3, seed=SEED, workers=1)
    expected = [simulate_frame(SEED, index) for index in range(3)]
    frames = list(iter_labeled_frames(tmp_path / "ds"))
    assert [f.timestamp_ns for f in frames] == [
        DEFAULT_START_TIME_NS + i * FRAME_PERIOD_NS for i in range(3)]
    for frame, simulated in zip(frames, expected):
        np.testing.assert_array_equal(frame.points, simulated.points)
        np.testing.assert_array_equal(frame.labels.boxes, simulated.boxes)
        np.testing.assert_array_equal(frame.labels.labels, simulated.labels)
        np.testing.assert_array_equal(frame.labels.num_points, simulated.num_points)
        assert frame.labels.scores is None  # ground truth
    labels = read_dataset_labels(tmp_path / "ds")
    assert (labels.class_names, labels.topic, labels.frame_id) == (
        DEFAULT_CLASS_NAMES, DEFAULT_TOPIC, DEFAULT_FRAME_ID)
    assert summary.frames == 3
    assert summary.points == sum(len(s.points) for s in expected)
    assert summary.objects_per_class.tolist() == np.bincount(
        np.concatenate([s.labels for s in expected]), minlength=3).tolist()
    assert summary.seconds > 0


def test_worker_processes_write_the_same_frames_in_order(tmp_path):
    write_dataset(tmp_path / "one", frames=4, seed=SEED, workers=1, storage="mcap")
    write_dataset(tmp_path / "two", frames=4, seed=SEED, workers=2, storage="mcap")
    alone, pooled = (list(iter_labeled_frames(tmp_path / d)) for d in ("one", "two"))
    assert [f.timestamp_ns for f in pooled] == [f.timestamp_ns for f in alone]
    for a, b in zip(alone, pooled):
        np.testing.assert_array_equal(a.points, b.points)
        np.testing.assert_array_equal(a.labels.boxes, b.labels.boxes)
    assert (tmp_path / "two" / "labels.jsonl").read_bytes() == (
        tmp_path / "one" / "labels.jsonl").read_bytes()


def test_the_summary_says_what_was_written_in_one_line(tmp_path):
    summary = write_dataset(tmp_path / "ds", frames=1, seed=SEED, workers=8)  # capped at 1
    line = summary.describe(tmp_path / "ds")
    counts = summary.objects_per_class.tolist()
    assert line.startswith(f"1 frames, {summary.points} points, objects: Vehicle {counts[0]}, "
                           f"Pedestrian {counts[1]}, Cyclist {counts[2]}; ")
    assert line.endswith(f" s/frame) -> {tmp_path / 'ds'}") and "\n" not in line


def test_force_replaces_the_bag_and_labels_and_keeps_other_files(tmp_path):
    out = tmp_path / "ds"
    write_dataset(out, frames=2, seed=SEED, workers=1)
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="is not empty; .* --force"):
        write_dataset(out, frames=1, seed=SEED, workers=1)
    assert count_clouds(out / "bag") == 2  # untouched
    write_dataset(out, frames=1, seed=SEED + 1, workers=1, start_time_ns=5, force=True)
    assert count_clouds(out / "bag") == 1
    assert list(read_dataset_labels(out).frames) == [5]
    assert (out / "notes.txt").read_text() == "mine"
    frame, = iter_labeled_frames(out)
    np.testing.assert_array_equal(frame.points, simulate_frame(SEED + 1, 0).points)


def test_an_out_path_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="is a file; give a directory"):
        write_dataset(tmp_path / "file", frames=1, workers=1, force=True)


@pytest.mark.parametrize("options,words", [
    ({"frames": 0}, "--frames must be >= 1, got 0"),
    ({"workers": 0}, "--workers must be >= 1, got 0"),
    ({"start_time_ns": -1}, "--start-time-ns must be >= 0")])
def test_bad_counts_are_refused_before_anything_is_written(tmp_path, options, words):
    arguments = {"frames": 1, "workers": 1, **options}
    with pytest.raises(ConfigError, match=words):
        write_dataset(tmp_path / "ds", **arguments)
    assert not (tmp_path / "ds").exists()
