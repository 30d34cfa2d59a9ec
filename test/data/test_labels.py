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

"""Tests of tao_pointpillars_py.data.labels: the JSON Lines labels / detections format."""

import json

import numpy as np
import pytest

from tao_pointpillars_py.data.labels import (FrameLabels, LabelsWriter, read_labels,
                                             read_labels_header, write_labels)
from tao_pointpillars_py.errors import LabelsFormatError

NAMES = ("Vehicle", "Pedestrian", "Cyclist")
TOPIC, FRAME_ID = "/ns1/zvision_lidar_points", "lidar_front"


def frame(scores=False):
    return FrameLabels(
        boxes=np.array([[10.1, -2.3, -0.8, 4.2, 1.8, 1.6, 0.3],
                        [5.0, 1.0, -0.9, 0.6, 0.7, 1.75, -3.1]], dtype=np.float32),
        labels=np.array([0, 1]), num_points=np.array([312, 0]),
        scores=np.array([0.9, 0.25]) if scores else None)


def header(**changes):
    record = {"format": "tao_pointpillars.labels", "version": 1, "class_names": list(NAMES),
              "topic": TOPIC, "frame_id": FRAME_ID}
    record.update(changes)
    return json.dumps(record)


@pytest.mark.parametrize("scores", [False, True])
def test_labels_round_trip_exactly(tmp_path, scores):
    frames = [(100, frame(scores)), (200, FrameLabels.empty(with_scores=scores)),
              (300, frame(scores))]
    path = tmp_path / "labels.jsonl"
    assert write_labels(path, frames, NAMES, TOPIC, FRAME_ID) == 3
    loaded = read_labels(path)
    assert (loaded.class_names, loaded.topic, loaded.frame_id) == (NAMES, TOPIC, FRAME_ID)
    assert list(loaded.frames) == [100, 200, 300]
    for timestamp, expected in frames:
        got = loaded.frames[timestamp]
        np.testing.assert_array_equal(got.boxes, expected.boxes)
        np.testing.assert_array_equal(got.labels, expected.labels)
        np.testing.assert_array_equal(got.num_points, expected.num_points)
        assert (got.boxes.dtype, got.labels.dtype, got.num_points.dtype) == (
            np.float32, np.int64, np.int32)
        if scores:
            np.testing.assert_array_equal(got.scores, expected.scores)
            assert got.scores.dtype == np.float32
        else:
            assert got.scores is None


def test_labels_file_lines_follow_documented_format(tmp_path):
    path = tmp_path / "labels.jsonl"
    with LabelsWriter(path, NAMES, TOPIC, FRAME_ID) as writer:
        writer.write(1_700_000_000_000_000_000, frame())
    first, second = [json.loads(line) for line in path.read_text().splitlines()]
    assert first == json.loads(header())
    assert second["timestamp_ns"] == 1_700_000_000_000_000_000
    assert second["objects"][0] == {"class": "Vehicle", "num_points": 312,
                                    "box": [10.1, -2.3, -0.8, 4.2, 1.8, 1.6, 0.3]}


def test_labels_writer_rejects_duplicate_timestamps(tmp_path):
    with pytest.raises(LabelsFormatError, match="twice"):
        write_labels(tmp_path / "l.jsonl", [(5, frame()), (5, frame())], NAMES, TOPIC, FRAME_ID)


def test_labels_writer_rejects_class_index_out_of_range(tmp_path):
    bad = FrameLabels(np.zeros((1, 7)), np.array([3]), np.array([1]))
    with pytest.raises(LabelsFormatError, match="out of range"):
        write_labels(tmp_path / "l.jsonl", [(5, bad)], NAMES, TOPIC, FRAME_ID)


def test_frame_labels_rejects_mismatched_sizes():
    with pytest.raises(LabelsFormatError, match="must match"):
        FrameLabels(np.zeros((2, 7)), np.array([0]), np.array([1, 2]))


def test_missing_num_points_reads_as_unknown(tmp_path):
    path = tmp_path / "l.jsonl"
    path.write_text(header() + "\n" + json.dumps(
        {"timestamp_ns": 1, "objects": [{"class": "Cyclist", "box": [0] * 7}]}) + "\n")
    loaded = read_labels(path).frames[1]
    assert loaded.num_points.tolist() == [-1] and loaded.labels.tolist() == [2]


GOOD_OBJECT = {"class": "Vehicle", "box": [1, 2, 3, 4, 5, 6, 0.5], "num_points": 3}


@pytest.mark.parametrize("line,message", [
    ("not json", "not JSON"),
    ("[]", "JSON object"),
    (json.dumps({"objects": []}), "timestamp_ns"),
    (json.dumps({"timestamp_ns": "1", "objects": []}), "timestamp_ns"),
    (json.dumps({"timestamp_ns": 1}), "objects"),
    (json.dumps({"timestamp_ns": 1, "objects": [dict(GOOD_OBJECT, **{"class": "Truck"})]}),
     "unknown class 'Truck'"),
    (json.dumps({"timestamp_ns": 1, "objects": [dict(GOOD_OBJECT, box=[1, 2, 3])]}), "box"),
    (json.dumps({"timestamp_ns": 1, "objects": [dict(GOOD_OBJECT, box=[1] * 6 + ["a"])]}),
     "box"),
    (json.dumps({"timestamp_ns": 1, "objects": [dict(GOOD_OBJECT, num_points=1.5)]}),
     "num_points"),
    (json.dumps({"timestamp_ns": 1, "objects": [dict(GOOD_OBJECT, score="high")]}), "score"),
    (json.dumps({"timestamp_ns": 1, "objects": [dict(GOOD_OBJECT, score=0.5), GOOD_OBJECT]}),
     "every object"),
    (json.dumps({"timestamp_ns": 7, "objects": []}), "duplicate timestamp_ns 7"),
])
def test_read_labels_names_the_bad_line(tmp_path, line, message):
    path = tmp_path / "l.jsonl"
    good = json.dumps({"timestamp_ns": 7, "objects": [GOOD_OBJECT]})
    path.write_text("\n".join([header(), good, line]) + "\n")
    with pytest.raises(LabelsFormatError, match=f"l.jsonl:3: .*{message}"):
        read_labels(path)


@pytest.mark.parametrize("text,message", [
    ("", "empty file"),
    ("{}", "format"),
    (header(version=2), "version"),
    (header(class_names=[]), "class_names"),
    (header(class_names=["A", "A"]), "class_names"),
    (header(topic=None), "topic"),
    (header(model_range=[0, -25.6, -3, 40.96, 25.6]), "model_range"),
    (header(model_range=[40.96, -25.6, -3, 0, 25.6, 3]), "model_range"),
    (header(model_range=[0, -25.6, -3, "x", 25.6, 3]), "model_range"),
    (header(cloud_to_model=[0, 0, 0, 0, 0, -90]), "cloud_to_model"),
])
def test_read_labels_rejects_bad_header(tmp_path, text, message):
    path = tmp_path / "l.jsonl"
    path.write_text(text + "\n")
    with pytest.raises(LabelsFormatError, match=f"l.jsonl:1: .*{message}"):
        read_labels(path)


def test_a_detections_header_carries_the_model_range_and_cloud_to_model(tmp_path):
    path = tmp_path / "d.jsonl"
    with LabelsWriter(path, NAMES, TOPIC, FRAME_ID, model_range=(0, -25.6, -3, 40.96, 25.6, 3),
                      cloud_to_model="0 0 0 0 0 -90") as writer:
        writer.write(7, frame(scores=True))
    first = json.loads(path.read_text().splitlines()[0])
    assert first["model_range"] == [0.0, -25.6, -3.0, 40.96, 25.6, 3.0]
    assert first["cloud_to_model"] == "0 0 0 0 0 -90"
    read = read_labels(path)
    assert read.model_range == (0.0, -25.6, -3.0, 40.96, 25.6, 3.0)
    assert read.cloud_to_model == "0 0 0 0 0 -90"
    header = read_labels_header(path)
    assert (header.class_names, header.topic, header.frame_id) == (NAMES, TOPIC, FRAME_ID)
    assert (header.model_range, header.cloud_to_model) == (read.model_range,
                                                           read.cloud_to_model)
    # a plain labels file has neither
    write_labels(tmp_path / "l.jsonl", [(7, frame())], NAMES, TOPIC, FRAME_ID)
    plain = read_labels(tmp_path / "l.jsonl")
    assert plain.model_range is None and plain.cloud_to_model is None
    assert "model_range" not in (tmp_path / "l.jsonl").read_text()


def test_read_labels_rejects_files_mixing_labels_and_detections(tmp_path):
    path = tmp_path / "l.jsonl"
    path.write_text("\n".join([
        header(),
        json.dumps({"timestamp_ns": 1, "objects": [dict(GOOD_OBJECT, score=0.5)]}),
        json.dumps({"timestamp_ns": 2, "objects": [GOOD_OBJECT]})]) + "\n")
    with pytest.raises(LabelsFormatError, match="score"):
        read_labels(path)
