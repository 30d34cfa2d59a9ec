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
Tests of ``tao-pointpillars detect``: the node's answers to a bag, written to a bag.

The comparison with the live node runs the real node process over DDS; set
TAO_DETECT_COMPARE_FRAMES (default 12) to compare more frames, e.g. 300.
"""

import json
import os
from pathlib import Path
import shlex
import shutil
import threading

from bag_fixtures import bag_information, offered_profiles
import numpy as np
import onnx
import pytest

rclpy = pytest.importorskip("rclpy", reason="detect writes the node's ROS 2 messages")

from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy  # noqa: E402
from rclpy.serialization import deserialize_message  # noqa: E402
from ros_fixtures import Harness, REFERENCE_MODEL, SpinningNode, start_node  # noqa: E402
from rosbags.highlevel import AnyReader  # noqa: E402
from rosbags.rosbag2 import Writer  # noqa: E402
from sensor_msgs.msg import PointCloud2  # noqa: E402
from tao_pointpillars_py.cli import main  # noqa: E402
from tao_pointpillars_py.core.input_health import training_intensity_metadata  # noqa: E402
from tao_pointpillars_py.data.bags import (BAG_VERSION, CloudBagWriter,  # noqa: E402
                                           count_clouds, DEFAULT_TOPIC)
from tao_pointpillars_py.data.detection_messages import vision_typestore  # noqa: E402
from tao_pointpillars_py.data.labels import read_labels, read_labels_header  # noqa: E402
from tao_pointpillars_py.inference.model_file import load_model_info  # noqa: E402
from tao_pointpillars_py.ros.bag_io import BagPlayer  # noqa: E402
from tao_pointpillars_py.sim import simulate_frame  # noqa: E402
from tao_pointpillars_py.tools.evaluation import (evaluate_detections,  # noqa: E402
                                                  file_detections)
from tao_pointpillars_py.tools.processes import stop_process  # noqa: E402
from vision_msgs.msg import Detection3DArray, LabelInfo  # noqa: E402
from visualization_msgs.msg import MarkerArray  # noqa: E402

STAMP0 = 1_700_000_000_000_000_000
PERIOD = 100_000_000
ZVISION = Path(__file__).resolve().parents[1] / "data_files" / "zvision"
ZVISION_PARAMS = Path(__file__).resolve().parents[2] / "params" / "zvision_ml30s.yaml"


def _messages(bag: Path) -> dict[str, list[tuple[int, bytes]]]:
    found: dict[str, list[tuple[int, bytes]]] = {}
    with AnyReader([bag], default_typestore=vision_typestore()) as reader:
        for connection, timestamp, raw in reader.messages():
            found.setdefault(connection.topic, []).append((int(timestamp), bytes(raw)))
    return found


def _types(bag: Path) -> dict[str, str]:
    with AnyReader([bag], default_typestore=vision_typestore()) as reader:
        return {c.topic: c.msgtype for c in reader.connections}


def _sim_bag(folder: Path, frames: int, topics=(DEFAULT_TOPIC,), seed: int = 31) -> Path:
    bag = folder / "clouds"
    with CloudBagWriter(bag, topics[0]) as writer:
        for index in range(frames):
            for lidar, topic in enumerate(topics):
                points = simulate_frame(seed + lidar, index).points
                writer.write(STAMP0 + index * PERIOD + lidar * 1000, points, topic,
                             f"lidar_{lidar}")
    return bag


@pytest.fixture(scope="module")
def clouds(tmp_path_factory):
    return _sim_bag(tmp_path_factory.mktemp("detect"), 6)


def _detect(*args: str) -> int:
    return main(["detect", *map(str, args), "--model", str(REFERENCE_MODEL)])


def test_output_bag_holds_the_answers_on_the_nodes_topics(clouds, tmp_path, capsys):
    out = tmp_path / "answers"
    assert _detect(clouds, out, "--workers", "1") == 0
    types = _types(out)
    assert types == {DEFAULT_TOPIC: "sensor_msgs/msg/PointCloud2",
                     "/ns1/bbox": "vision_msgs/msg/Detection3DArray",
                     "/ns1/bbox_markers": "visualization_msgs/msg/MarkerArray",
                     "/ns1/bbox/label_info": "vision_msgs/msg/LabelInfo"}
    found = _messages(out)
    stamps = [STAMP0 + i * PERIOD for i in range(6)]
    assert [t for t, _ in found["/ns1/bbox"]] == stamps
    assert [t for t, _ in found["/ns1/bbox_markers"]] == stamps
    assert [t for t, _ in found[DEFAULT_TOPIC]] == stamps
    arrays = [deserialize_message(raw, Detection3DArray) for _, raw in found["/ns1/bbox"]]
    assert [a.header.stamp.sec * 10**9 + a.header.stamp.nanosec for a in arrays] == stamps
    assert all(a.header.frame_id == "lidar_0" for a in arrays)
    assert sum(len(a.detections) for a in arrays) > 6
    markers = deserialize_message(found["/ns1/bbox_markers"][0][1], MarkerArray)
    assert len(markers.markers) == 1 + 2 * len(arrays[0].detections)
    (_, raw), = found["/ns1/bbox/label_info"]
    info = deserialize_message(raw, LabelInfo)
    assert [c.class_name for c in info.class_map] == ["Vehicle", "Pedestrian", "Cyclist"]
    printed = capsys.readouterr().out
    assert "| /ns1/zvision_lidar_points | /ns1/bbox |" in printed
    assert "| 6 | 6 | 0 |" in printed and "| total |" in printed


def _offered_qos(bag: Path) -> dict[str, list[tuple[int, int, int, int]]]:
    """(history, depth, reliability, durability) offered per topic, as metadata.yaml has them."""
    assert bag_information(bag)["version"] == 8
    return {topic: [(q["history"], q["depth"], q["reliability"], q["durability"]) for q in offered]
            for topic, offered in offered_profiles(bag).items()}


def test_label_info_is_offered_latched_so_a_replay_reaches_a_late_subscriber(clouds, tmp_path):
    out = tmp_path / "answers"
    assert _detect(clouds, out, "--workers", "1") == 0
    # rmw numbers: history 1 keep last; reliability 1 reliable; durability 1 transient local,
    # 2 volatile. LabelInfo as the node offers it, every other topic as before.
    assert _offered_qos(out) == {"/ns1/bbox/label_info": [(1, 1, 1, 1)],
                                 "/ns1/bbox": [(1, 10, 1, 2)],
                                 "/ns1/bbox_markers": [(1, 10, 1, 2)],
                                 DEFAULT_TOPIC: [(1, 10, 1, 2)]}
    listener = SpinningNode("late_label_info_subscriber")
    listener.spin()
    received: list[LabelInfo] = []
    arrived = threading.Event()

    def on_label_info(msg: LabelInfo) -> None:
        received.append(msg)
        arrived.set()

    player = BagPlayer(listener.node, out, ["/ns1/bbox/label_info"])
    try:
        assert player.play(rate=100.0).published == 1
        latched = QoSProfile(depth=1)
        latched.reliability = ReliabilityPolicy.RELIABLE
        latched.durability = DurabilityPolicy.TRANSIENT_LOCAL
        listener.node.create_subscription(LabelInfo, "/ns1/bbox/label_info", on_label_info,
                                          latched)
        assert arrived.wait(timeout=30), "the replayed LabelInfo did not reach the subscriber"
    finally:
        player.close()
        listener.close()
    assert [c.class_name for c in received[0].class_map] == ["Vehicle", "Pedestrian", "Cyclist"]


def test_two_workers_write_the_same_bytes_as_one(clouds, tmp_path):
    assert _detect(clouds, tmp_path / "one", "--workers", "1") == 0
    assert _detect(clouds, tmp_path / "two", "--workers", "2") == 0
    assert _messages(tmp_path / "one") == _messages(tmp_path / "two")


def _box_rows(bag: Path) -> list[np.ndarray]:
    rows = []
    for _, raw in _messages(bag)["/ns1/bbox"]:
        array = deserialize_message(raw, Detection3DArray)
        rows.append(np.array([[d.bbox.center.position.x, d.bbox.center.position.y,
                               d.bbox.size.x, d.results[0].hypothesis.score,
                               ("Vehicle", "Pedestrian", "Cyclist").index(
                                   d.results[0].hypothesis.class_id)]
                              for d in array.detections]).reshape(-1, 5))
    return rows


def test_a_tao_layout_model_answers_as_the_native_one(clouds, tmp_path, capsys):
    tao_file = tmp_path / "reference.tao.onnx"
    assert main(["export-tao", str(REFERENCE_MODEL), "--out", str(tao_file)]) == 0
    assert _detect(clouds, tmp_path / "native", "--workers", "1", "--no-clouds") == 0
    assert main(["detect", str(clouds), str(tmp_path / "tao"), "--workers", "1", "--no-clouds",
                 "--model", str(tao_file), "--backend", "onnxruntime"]) == 0
    native, tao = _box_rows(tmp_path / "native"), _box_rows(tmp_path / "tao")
    assert len(native) == len(tao) == 6 and sum(len(r) for r in native) > 6
    for ours, theirs in zip(native, tao):
        np.testing.assert_allclose(theirs, ours, atol=1e-4)
    assert "| 6 | 6 | 0 |" in capsys.readouterr().out


def test_each_topic_is_answered_in_its_own_namespace(tmp_path):
    topics = ("/ns1/zvision_lidar_points", "/ns2/zvision_lidar_points")
    bag = _sim_bag(tmp_path, 3, topics)
    out = tmp_path / "answers"
    assert _detect(bag, out, "--workers", "1", "--no-clouds", "--storage", "mcap") == 0
    found = _messages(out)
    assert sorted(found) == ["/ns1/bbox", "/ns1/bbox/label_info", "/ns1/bbox_markers",
                             "/ns2/bbox", "/ns2/bbox/label_info", "/ns2/bbox_markers"]
    for lidar, namespace in enumerate(("/ns1", "/ns2")):
        arrays = [deserialize_message(raw, Detection3DArray)
                  for _, raw in found[f"{namespace}/bbox"]]
        assert {a.header.frame_id for a in arrays} == {f"lidar_{lidar}"}
    assert (out / "metadata.yaml").is_file() and list(out.glob("*.mcap"))


def test_params_file_and_options_set_the_nodes_parameters(clouds, tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("pointpillars:\n  ros__parameters:\n    score_threshold: 0.95\n"
                      "    class_id_format: index\n", encoding="utf-8")
    assert _detect(clouds, tmp_path / "strict", "--workers", "1", "--params-file",
                   params) == 0
    assert _detect(clouds, tmp_path / "loose", "--workers", "1", "--params-file", params,
                   "--score-threshold", "0.3") == 0

    def arrays(name):
        return [deserialize_message(raw, Detection3DArray)
                for _, raw in _messages(tmp_path / name)["/ns1/bbox"]]

    strict, loose = arrays("strict"), arrays("loose")
    assert sum(map(len, (a.detections for a in strict))) < sum(
        map(len, (a.detections for a in loose)))
    ids = {d.results[0].hypothesis.class_id for a in loose for d in a.detections}
    assert ids <= {"0", "1", "2"} and ids


def test_labels_give_the_ap_table(tmp_path, capsys):
    data = tmp_path / "data"
    assert main(["sim", "--frames", "3", "--seed", "4", "--out", str(data),
                 "--workers", "1"]) == 0
    assert _detect(data / "bag", tmp_path / "out", "--workers", "1", "--labels",
                   data / "labels.jsonl") == 0
    printed = capsys.readouterr().out
    assert "3D" in printed and "Vehicle       0.70" in printed


def test_a_bad_cloud_is_skipped_and_the_rest_answered(tmp_path, capsys):
    bag = tmp_path / "clouds"
    good = simulate_frame(5, 0).points
    with CloudBagWriter(bag) as writer:
        writer.write(STAMP0, good)
        writer.write(STAMP0 + PERIOD, np.zeros((0, 4), np.float32))
        writer.write(STAMP0 + 2 * PERIOD, np.full((10, 4), np.nan, np.float32))
        writer.write(STAMP0 + 3 * PERIOD, good)
    assert _detect(bag, tmp_path / "out", "--workers", "1") == 0
    found = _messages(tmp_path / "out")
    assert len(found["/ns1/bbox"]) == 4  # empty and all-NaN clouds: answered with nothing
    first = deserialize_message(found["/ns1/bbox"][0][1], Detection3DArray)
    last = deserialize_message(found["/ns1/bbox"][3][1], Detection3DArray)
    assert len(first.detections) > 0  # the same cloud, the same boxes (stamps differ)
    assert [(d.bbox, d.results) for d in first.detections] == [
        (d.bbox, d.results) for d in last.detections]


@pytest.mark.parametrize("problem, message", [
    ("missing", "does not exist"), ("exists", "exists"), ("topic", "no PointCloud2 topic")])
def test_bad_invocations_say_what_to_change(clouds, tmp_path, capsys, problem, message):
    args = [clouds, tmp_path / "out", "--workers", "1"]
    if problem == "missing":
        args[0] = tmp_path / "nothing"
    elif problem == "exists":
        args[1] = tmp_path
    else:
        args += ["--topic", "/nope"]
    assert _detect(*args) == 2
    assert message in capsys.readouterr().err


def test_answers_equal_what_the_live_node_publishes(clouds, tmp_path):
    frames = int(os.environ.get("TAO_DETECT_COMPARE_FRAMES", "12"))
    bag = clouds if frames <= 6 else _sim_bag(tmp_path, frames)
    out = tmp_path / "answers"
    assert _detect(bag, out, "--workers", "2") == 0
    offline = [deserialize_message(raw, Detection3DArray)
               for _, raw in _messages(out)["/ns1/bbox"]][:frames]
    log = tmp_path / "node.log"
    process = start_node("-r", "point_cloud:=/point_cloud", "-p", "threads:=1", log_path=log)
    harness = Harness()
    try:
        harness.wait_for_node(process)
        live = []
        for _, raw in _messages(bag)[DEFAULT_TOPIC][:frames]:
            answer = harness.send(deserialize_message(raw, PointCloud2))
            assert answer is not None, "no answer from the node"
            live.append(answer[0])
    finally:
        harness.close()
        stop_process(process, timeout_s=15)
    assert len(live) == len(offline) == min(frames, len(offline))
    for index, (node_answer, bag_answer) in enumerate(zip(live, offline)):
        assert node_answer == bag_answer, f"frame {index} differs"


@pytest.fixture(scope="module")
def real_bag(tmp_path_factory):
    """Give the vendor's real ML-30S-A1 recording imported as its ROS 2 driver records it."""
    bag = tmp_path_factory.mktemp("zvision") / "ml30s"
    assert main(["import-pcap", str(ZVISION / "ML30S_A1_Default.pcap"), "--calibration",
                 str(ZVISION / "ML30S_A1_Default.cal"), "--out", str(bag)]) == 0
    return bag


def _input_health_row(printed: str, topic: str) -> list[str]:
    """Give the cells of the summary's input health row of ``topic``."""
    rows = [line for line in printed.splitlines()
            if line.startswith(f"| {topic} | ") and " slots | " in line]
    assert len(rows) == 1, printed
    return [cell.strip() for cell in rows[0].strip("|").split("|")][1:]


def test_detect_on_the_real_recording_with_the_zvision_params_gives_its_input_figures(
        real_bag, tmp_path, capsys):
    out = tmp_path / "answers"
    capsys.readouterr()
    assert _detect(real_bag, out, "--workers", "1", "--no-clouds", "--params-file",
                   ZVISION_PARAMS) == 0
    printed = capsys.readouterr().out
    returns, share, intensity, trained = _input_health_row(printed, "zvision_lidar_points")
    count, slots = returns.split(" of ")
    assert 40_000 < int(count) < 51_200 and slots == "51200 slots"
    assert share.endswith(" %") and float(share[:-2]) > 95.0
    p50, p99 = (float(v) for v in intensity.split(" / "))
    assert p50 == 2.0 and 38.0 <= p99 <= 46.0
    # the reference model is trained on the simulated ML-30S-A1: its recorded training
    # intensity (driver units through intensity_range) matches the real sensor's
    trained_p50, trained_p99 = (float(v) for v in trained.split(" / "))
    assert trained_p50 == 2.0 and 38.0 <= trained_p99 <= 56.0
    assert "model range x 0..40.96, y -25.6..25.6, z -3..3 m" in printed
    assert "warning:" not in printed
    with AnyReader([real_bag]) as reader:
        stamps = [timestamp for _, timestamp, _ in reader.messages()]
    arrays = [(t, deserialize_message(raw, Detection3DArray))
              for t, raw in _messages(out)["bbox"]]
    assert [t for t, _ in arrays] == stamps and len(stamps) == 10
    assert all(a.header.frame_id == "zvision_lidar" for _, a in arrays)
    assert all(a.header.stamp.sec * 10**9 + a.header.stamp.nanosec == t for t, a in arrays)


def test_detect_warns_on_the_real_recording_naming_the_parameters_to_set(
        real_bag, tmp_path, capsys):
    # the driver's frame left as it is, and a model trained on clouds 15x brighter
    params = tmp_path / "identity.yaml"
    text = ZVISION_PARAMS.read_text(encoding="utf-8")
    assert 'cloud_to_model: "0 0 0 0 0 -90"' in text
    params.write_text(text.replace('cloud_to_model: "0 0 0 0 0 -90"',
                                   'cloud_to_model: "0 0 0 0 0 0"'), encoding="utf-8")
    model = onnx.load(str(REFERENCE_MODEL))
    for key, value in training_intensity_metadata((0.117, 0.6)).items():
        model.metadata_props.add(key=key, value=value)
    trained = tmp_path / "trained.onnx"
    onnx.save(model, str(trained))
    capsys.readouterr()
    assert main(["detect", str(real_bag), str(tmp_path / "out"), "--workers", "1",
                 "--no-clouds", "--params-file", str(params), "--model", str(trained)]) == 0
    printed = capsys.readouterr().out
    _, share, intensity, training = _input_health_row(printed, "zvision_lidar_points")
    assert 45.0 < float(share[:-2]) < 65.0
    assert training == "29.8 / 153"
    warnings = [line for line in printed.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 2, printed
    assert warnings[0].startswith("warning: zvision_lidar_points: only ")
    assert "with no cloud_to_model; set cloud_to_model to" in warnings[0]
    p50 = float(intensity.split(" / ")[0])
    assert f"the clouds' median intensity {p50:.3g} " in warnings[1]
    advised = p50 / 0.117  # the top of the range that maps the clouds' median onto 0.117
    assert f"set intensity_range to [0, {advised:.3g}] to line the medians up" in warnings[1]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Give a small simulated dataset folder (bag/ and labels.jsonl), as sim writes it."""
    folder = tmp_path_factory.mktemp("dataset") / "sim6"
    assert main(["sim", "--frames", "6", "--seed", "4", "--out", str(folder),
                 "--workers", "1"]) == 0
    return folder


def test_detections_out_scores_as_eval_model_does(dataset, tmp_path, capsys):
    labels_path, detections_path = dataset / "labels.jsonl", tmp_path / "D.jsonl"
    capsys.readouterr()
    assert _detect(dataset / "bag", tmp_path / "out", "--workers", "2", "--labels",
                   labels_path, "--detections-out", detections_path) == 0
    detect_table = capsys.readouterr().out
    written = read_labels(detections_path)
    labels = read_labels(labels_path)
    assert written.class_names == ("Vehicle", "Pedestrian", "Cyclist")
    assert (written.topic, written.frame_id) == (labels.topic, labels.frame_id)
    assert list(written.frames) == list(labels.frames)  # the clouds' bag timestamps
    assert all(frame.scores is not None for frame in written.frames.values())
    # the boxes as published: the Detection3DArray messages of the output bag, frame by frame
    for (stamp, raw), frame in zip(_messages(tmp_path / "out")["/ns1/bbox"],
                                   written.frames.values()):
        array = deserialize_message(raw, Detection3DArray)
        assert [d.results[0].hypothesis.class_id for d in array.detections] == [
            written.class_names[i] for i in frame.labels]
        np.testing.assert_allclose(
            [[d.bbox.center.position.x, d.bbox.center.position.y, d.bbox.size.x,
              d.results[0].hypothesis.score] for d in array.detections],
            np.column_stack([frame.boxes[:, [0, 1, 3]], frame.scores]).reshape(-1, 4),
            rtol=1e-6, atol=1e-5)
    # eval --model runs the model itself (its own detector, node's score threshold 0.3);
    # the file read as eval --detections reads it gives the same AP in the model's range
    evaluated = tmp_path / "model.json"
    assert main(["eval", "--labels", str(labels_path), "--model", str(REFERENCE_MODEL),
                 "--bag", str(dataset / "bag"), "--score-threshold", "0.3",
                 "--json", str(evaluated)]) == 0
    model_range = load_model_info(str(REFERENCE_MODEL)).config.pillars.point_cloud_range
    from_file = evaluate_detections(labels, file_detections(detections_path, labels, None),
                                    tuple(model_range))
    assert from_file.to_json() == json.loads(evaluated.read_text(encoding="utf-8"))
    assert from_file.to_table() in detect_table
    # the file records the model's range (no cloud_to_model: identity), and eval --detections
    # applies it: the same figures as eval --model, from the command line
    header = read_labels_header(detections_path)
    assert header.model_range == pytest.approx(tuple(model_range))
    assert header.cloud_to_model is None
    capsys.readouterr()
    from_cli = tmp_path / "file.json"
    assert main(["eval", "--labels", str(labels_path), "--detections",
                 str(detections_path), "--json", str(from_cli)]) == 0
    scored = capsys.readouterr()
    assert "over 6 frames" in scored.out and "left out" not in scored.err
    assert "ground truth outside the detections' model range x 0..40.96" in scored.err
    assert json.loads(from_cli.read_text()) == json.loads(evaluated.read_text())


def test_detections_out_needs_one_cloud_topic_and_writes_nothing_otherwise(tmp_path, capsys):
    bag = _sim_bag(tmp_path, 2, ("/ns1/points", "/ns2/points"))
    out, listing = tmp_path / "answers", tmp_path / "D.jsonl"
    assert _detect(bag, out, "--workers", "1", "--detections-out", listing) == 2
    error = capsys.readouterr().err
    assert "['/ns1/points', '/ns2/points']" in error and "pass --topic T" in error
    assert not out.exists() and not listing.exists()
    assert _detect(bag, out, "--workers", "1", "--topic", "/ns2/points",
                   "--detections-out", listing) == 0
    assert read_labels(listing).topic == "/ns2/points"
    assert len(read_labels(listing).frames) == 2


def test_two_cloud_topics_answered_on_one_topic_are_refused_before_writing(tmp_path, capsys):
    bag = _sim_bag(tmp_path, 2, ("/front_points", "/rear_points"))
    out = tmp_path / "answers"
    assert _detect(bag, out, "--workers", "1") == 2
    error = capsys.readouterr().err
    assert "cloud topics /front_points, /rear_points would all be answered on /bbox" in error
    assert "pass --topic T" in error and "record the lidars in namespaces" in error
    assert not out.exists()
    assert _detect(bag, out, "--workers", "1", "--topic", "/rear_points") == 0
    assert sorted(_messages(out)) == ["/bbox", "/bbox/label_info", "/bbox_markers",
                                      "/rear_points"]


def test_no_cloud_answered_exits_1_saying_why(tmp_path, capsys):
    bag = tmp_path / "clouds"
    xyz = np.zeros(5, dtype=[("x", "<f4"), ("y", "<f4"), ("z", "<f4")])
    with CloudBagWriter(bag) as writer:
        for index in range(2):
            writer.write_records(STAMP0 + index * PERIOD, xyz, is_dense=True)
    capsys.readouterr()
    assert _detect(bag, tmp_path / "out", "--workers", "1") == 1
    printed = capsys.readouterr()
    assert "| 2 | 0 | 2 |" in printed.out
    assert "error: no cloud was answered: all 2 clouds were skipped (first: frame 0 " in (
        printed.err)
    assert "intensity" in printed.err  # the reason the cloud could not be read


def test_a_cloud_topic_without_messages_exits_1(tmp_path, capsys):
    bag = tmp_path / "silent"
    with Writer(bag, version=BAG_VERSION) as writer:
        writer.add_connection(DEFAULT_TOPIC, "sensor_msgs/msg/PointCloud2",
                              typestore=vision_typestore())
    assert _detect(bag, tmp_path / "out", "--workers", "1") == 1
    assert f"no messages on ['{DEFAULT_TOPIC}']" in capsys.readouterr().err


def test_a_bag_without_clouds_is_refused_naming_its_topics(tmp_path, capsys):
    bag = tmp_path / "other"
    with Writer(bag, version=BAG_VERSION) as writer:
        writer.add_connection("/chatter", "std_msgs/msg/String", typestore=vision_typestore())
    assert _detect(bag, tmp_path / "out", "--workers", "1") == 2
    assert "no PointCloud2 messages; its topics are ['/chatter (std_msgs/msg/String)']" in (
        capsys.readouterr().err)
    assert not (tmp_path / "out").exists()


def _suggested_command(error: str) -> list[str]:
    """Give the tao-pointpillars command line an error message suggests, as argv."""
    command = error.split("with tao-pointpillars ", 1)[1].split(", then pass", 1)[0]
    return shlex.split(command.split(" (or give", 1)[0])


def test_a_dataset_folder_is_refused_saying_what_to_pass(dataset, tmp_path, capsys):
    assert _detect(dataset, tmp_path / "out", "--workers", "1") == 2
    error = capsys.readouterr().err
    assert (f"IN_BAG {dataset} is a dataset folder (bag/ and labels.jsonl, as sim writes it): "
            f"pass {dataset / 'bag'} (and --labels {dataset / 'labels.jsonl'} for the AP)"
            in error)
    assert not (tmp_path / "out").exists()


def test_a_scan_file_is_refused_with_the_import_bin_command_that_converts_it(tmp_path, capsys):
    scan = tmp_path / "000000.bin"
    simulate_frame(5, 0).points.astype("<f4").tofile(scan)
    assert _detect(scan, tmp_path / "out", "--workers", "1") == 2
    error = capsys.readouterr().err
    assert f"with tao-pointpillars import-bin {scan} --out {tmp_path / '000000_bag'}" in error
    assert main(_suggested_command(error)) == 0  # the command works as printed
    assert _detect(tmp_path / "000000_bag", tmp_path / "out", "--workers", "1") == 0


def test_a_pcap_is_refused_with_the_import_pcap_command_that_converts_it(tmp_path, capsys):
    for name in ("ML30S_A1_Default.pcap", "ML30S_A1_Default.cal"):
        shutil.copy(ZVISION / name, tmp_path / name)
    capture = tmp_path / "ML30S_A1_Default.pcap"
    assert _detect(capture, tmp_path / "out", "--workers", "1") == 2
    error = capsys.readouterr().err
    assert (f"with tao-pointpillars import-pcap {capture} --calibration "
            f"{tmp_path / 'ML30S_A1_Default.cal'} --out {tmp_path / 'ML30S_A1_Default_bag'}"
            in error)
    assert main(_suggested_command(error)) == 0
    assert count_clouds(tmp_path / "ML30S_A1_Default_bag") == 10


@pytest.mark.parametrize("kind, message", [
    ("missing", "does not exist; pass a rosbag2 folder (the one with metadata.yaml)"),
    ("folder", "is a folder without metadata.yaml, not a rosbag2 bag"),
    ("scans", "holds .bin scans, not a bag: convert them first with tao-pointpillars "
              "import-bin"),
    ("text", "cannot be read as a bag")])
def test_other_inputs_that_are_not_bags_say_what_to_pass(tmp_path, capsys, kind, message):
    path = tmp_path / kind
    if kind in ("folder", "scans"):
        path.mkdir()
    if kind == "scans":
        np.zeros((3, 4), "<f4").tofile(path / "000000.bin")
    if kind == "text":
        path = tmp_path / "notes.txt"
        path.write_text("not a bag\n", encoding="utf-8")
    assert _detect(path, tmp_path / "out", "--workers", "1") == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
