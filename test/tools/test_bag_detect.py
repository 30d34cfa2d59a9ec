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
Tests of tao_pointpillars_py.tools.bag_detect: the node's answers to the clouds of a bag.

The library underneath ``tao-pointpillars detect`` (whose command-level tests are in
test/commands/test_commands_detect.py): jobs read from a bag, answered in order by worker
processes, a malformed cloud skipped with its reason and counted, the answers as a detections
file, and cloud topics that would share an output topic refused before anything is written.
"""

from pathlib import Path

import numpy as np
from onnx_fixtures import REFERENCE_MODEL
import pytest

pytest.importorskip("rclpy", reason="detect writes the node's ROS 2 messages")

from rclpy.serialization import deserialize_message  # noqa: E402
from rosbags.rosbag2 import Writer  # noqa: E402
from rosbags.typesys import get_typestore, Stores  # noqa: E402
from tao_pointpillars_py.data.bags import (BAG_VERSION, CloudBagWriter,  # noqa: E402
                                           DEFAULT_TOPIC, open_reader, write_cloud_bag)
from tao_pointpillars_py.data.labels import read_labels  # noqa: E402
from tao_pointpillars_py.errors import CloudFormatError, ConfigError  # noqa: E402
from tao_pointpillars_py.sim import simulate_frame  # noqa: E402
from tao_pointpillars_py.sim.dataset_writer import SensorOptions  # noqa: E402
from tao_pointpillars_py.tools.bag_detect import (answers_in_order,  # noqa: E402
                                                  check_output_topics, detect_bag,
                                                  detections_frame, DetectJob, FrameAnswerer,
                                                  IN_FLIGHT_PER_WORKER, input_health_lines,
                                                  latency_percentiles, read_jobs)
from vision_msgs.msg import Detection3DArray  # noqa: E402

STAMP0 = 1_700_000_000_000_000_000
PERIOD = 100_000_000
PARAMETERS = {"model_path": str(REFERENCE_MODEL), "threads": 1}
POINTCLOUD2 = "sensor_msgs/msg/PointCloud2"
#: the sensor the reference model is trained for: (config, sensor) of simulate_frame
ML30S = SensorOptions("ml30s-a1").frame_job()[:2]


def clouds(count: int, seed: int = 11) -> list[tuple[int, np.ndarray]]:
    """Give ``count`` simulated clouds 100 ms apart, every other one with half its points."""
    frames = []
    for index in range(count):
        points = simulate_frame(seed, index, *ML30S).points
        frames.append((STAMP0 + index * PERIOD, points[::2] if index % 2 else points))
    return frames


@pytest.fixture(scope="module")
def answerer():
    return FrameAnswerer(PARAMETERS)


@pytest.fixture(scope="module")
def bag(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bag_detect") / "clouds"
    write_cloud_bag(folder, clouds(7))
    return folder


def with_a_truncated_cloud(bag: Path, out: Path, index: int) -> Path:
    """Copy ``bag`` to ``out`` with cloud ``index`` claiming more points than its data holds."""
    typestore = get_typestore(Stores.ROS2_HUMBLE)
    with open_reader(bag) as reader, Writer(out, version=BAG_VERSION) as writer:
        connection = writer.add_connection(DEFAULT_TOPIC, POINTCLOUD2, typestore=typestore)
        for position, (_, timestamp, raw) in enumerate(reader.messages()):
            if position == index:
                msg = typestore.deserialize_cdr(raw, POINTCLOUD2)
                msg.width += 10
                msg.row_step = msg.width * msg.point_step
                raw = typestore.serialize_cdr(msg, POINTCLOUD2)
            writer.write(connection, timestamp, bytes(raw))
    return out


def test_jobs_are_the_bags_raw_clouds_in_order(bag, tmp_path):
    jobs = list(read_jobs(bag, None))
    assert [job.index for job in jobs] == list(range(7))
    assert [job.timestamp_ns for job in jobs] == [STAMP0 + i * PERIOD for i in range(7)]
    assert {job.topic for job in jobs} == {DEFAULT_TOPIC}
    with open_reader(bag) as reader:
        assert [job.raw for job in jobs] == [bytes(raw) for _, _, raw in reader.messages()]
    assert list(read_jobs(bag, [DEFAULT_TOPIC])) == jobs
    with pytest.raises(CloudFormatError, match=r"no PointCloud2 topic\(s\) \['/other'\]"):
        next(read_jobs(bag, ["/other"]))


def test_an_answer_is_the_nodes_detections_in_the_clouds_header(answerer, bag):
    job = next(read_jobs(bag, None))
    answer = answerer.answer(job)
    assert (answer.index, answer.timestamp_ns, answer.topic, answer.skipped) == (
        0, STAMP0, DEFAULT_TOPIC, "")
    assert len(answer.detections) > 0
    array = deserialize_message(answer.detections_cdr, Detection3DArray)
    assert (array.header.stamp.sec, array.header.stamp.nanosec) == (1_700_000_000, 0)
    assert array.header.frame_id == "lidar_front"
    assert len(array.detections) == len(answer.detections)
    pre, inference, post, total = answer.timings_ms
    assert min(pre, inference, post) > 0 and total >= pre + inference + post
    assert answerer.answer(job).detections_cdr == answer.detections_cdr  # the same bytes


def test_undecodable_bytes_and_a_malformed_cloud_are_skipped_with_the_reason(answerer, bag,
                                                                             tmp_path):
    garbage = answerer.answer(DetectJob(3, STAMP0, DEFAULT_TOPIC, b"\x00\x01\x00\x00xx"))
    assert garbage.skipped.startswith("cannot decode the cloud: ")
    assert garbage.detections is None and garbage.detections_cdr == b""
    assert (garbage.index, garbage.timestamp_ns) == (3, STAMP0)
    truncated = list(read_jobs(with_a_truncated_cloud(bag, tmp_path / "bad", 0), None))[0]
    answer = answerer.answer(truncated)
    assert answer.skipped.startswith("cannot decode the cloud: ") and answer.detections is None
    assert "data" in answer.skipped  # says what is wrong with it


def test_answers_keep_the_order_of_the_jobs_with_several_workers(answerer, bag):
    jobs = list(read_jobs(bag, None))
    taken = []

    def handed_out():
        for job in jobs:
            taken.append(job.index)
            yield job

    answers = answers_in_order(handed_out(), PARAMETERS, workers=2)
    first = next(answers)
    # at most IN_FLIGHT_PER_WORKER jobs per worker are pending when the first answer comes
    assert len(taken) == min(len(jobs), IN_FLIGHT_PER_WORKER * 2)
    pooled = [first, *answers]
    assert [a.index for a in pooled] == list(range(7))
    alone = list(answers_in_order(iter(jobs), PARAMETERS, workers=1, local=answerer))
    assert [a.detections_cdr for a in pooled] == [a.detections_cdr for a in alone]
    assert all(a.detections_cdr for a in alone)


def test_detect_bag_skips_and_counts_a_malformed_cloud(bag, tmp_path):
    source = with_a_truncated_cloud(bag, tmp_path / "bad", 2)
    seen = []
    report = detect_bag(source, tmp_path / "out", PARAMETERS, copy_clouds=False,
                        on_answer=seen.append)
    assert (report.frames, report.answered) == (7, 6)
    skipped, = report.skipped
    assert skipped.startswith(f"frame 2 ({DEFAULT_TOPIC}): cannot decode the cloud: ")
    assert [a.index for a in seen] == list(range(7)) and seen[2].skipped
    assert len(report.timings_ms) == 6
    assert report.topics == {DEFAULT_TOPIC: "/ns1/bbox"}
    assert sum(report.per_class.values()) == sum(
        len(a.detections) for a in seen if a.detections is not None)
    with open_reader(tmp_path / "out") as reader:
        stamps = {}
        for connection, timestamp, _ in reader.messages():
            stamps.setdefault(connection.topic, []).append(timestamp)
    answered = [STAMP0 + i * PERIOD for i in range(7) if i != 2]
    assert stamps == {"/ns1/bbox": answered, "/ns1/bbox_markers": answered,
                      "/ns1/bbox/label_info": [STAMP0]}
    # the answered clouds' input health: simulated in the model's own frame and range
    health = report.health[DEFAULT_TOPIC]
    assert [h.returns for h in health] == [len(points) for i, (_, points) in
                                           enumerate(clouds(7)) if i != 2]
    (window, problems), = report.input_health().values()
    assert window.clouds == 6 and window.in_range_share > 0.9 and problems == []
    lines = input_health_lines(report)
    assert lines[1].startswith("| cloud topic | returns per cloud | in model range |")
    assert lines[3].startswith(f"| {DEFAULT_TOPIC} | ")
    # the reference model records its training intensity: p50 / p99 in the clouds' units
    trained = lines[3].rstrip(" |").rsplit(" | ", 1)[1]
    assert [float(v) for v in trained.split(" / ")] == pytest.approx([2.0, 47.0], abs=10)
    assert not any(line.startswith("warning:") for line in lines)


def test_latency_percentiles_per_stage():
    timings = [(1.0, 10.0, 2.0, 13.0 + i) for i in range(101)]
    result = latency_percentiles(timings)
    assert list(result) == ["pre", "inference", "post", "total"]
    assert result["pre"] == (1.0, 1.0, 1.0)
    assert result["total"] == pytest.approx((63.0, 103.0, 112.0))
    assert latency_percentiles([]) == {}


def test_cloud_topics_sharing_an_output_topic_are_refused():
    check_output_topics(["/ns1/points", "/ns2/points", "/points"])
    for sharing, output in ((["/a", "/b"], "/bbox"), (["/ns1/a", "/ns1/b"], "/ns1/bbox"),
                            (["points", "/points"], "bbox")):
        with pytest.raises(ConfigError, match=f"cloud topics {', '.join(sharing)} would all "
                                              f"be answered on {output} .*pass --topic T"):
            check_output_topics(sharing)


def test_detect_bag_writes_the_answers_as_a_detections_file(bag, tmp_path):
    seen = []
    listing = tmp_path / "D.jsonl"
    report = detect_bag(bag, tmp_path / "out", PARAMETERS, copy_clouds=False,
                        on_answer=seen.append, detections_out=listing)
    written = read_labels(listing)
    assert (written.topic, written.frame_id) == (DEFAULT_TOPIC, "lidar_front")
    assert written.class_names == ("Vehicle", "Pedestrian", "Cyclist")
    assert list(written.frames) == [a.timestamp_ns for a in seen] and report.answered == 7
    for answer, frame in zip(seen, written.frames.values()):
        np.testing.assert_allclose(frame.boxes, answer.detections.boxes, rtol=1e-6)
        np.testing.assert_array_equal(frame.labels, answer.detections.labels)
        np.testing.assert_array_equal(frame.scores, answer.detections.scores)
    assert detections_frame(seen[0].detections).scores is not None


def test_detect_bag_refuses_two_topics_on_one_output_before_creating_anything(tmp_path):
    two = tmp_path / "two"
    frames = clouds(2)
    with CloudBagWriter(two, "/left_points") as writer:
        for timestamp, points in frames:
            writer.write(timestamp, points, "/left_points")
            writer.write(timestamp + 1, points, "/right_points")
    with pytest.raises(ConfigError, match="/left_points, /right_points would all be answered "
                                          "on /bbox"):
        detect_bag(two, tmp_path / "out", PARAMETERS, detections_out=tmp_path / "D.jsonl")
    assert not (tmp_path / "out").exists() and not (tmp_path / "D.jsonl").exists()
