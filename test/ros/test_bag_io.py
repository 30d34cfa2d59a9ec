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

"""Tests of tao_pointpillars_py.ros.bag_io: play a bag over DDS and record it back."""

import struct
import threading

from cloud_fixtures import XYZI_16
import numpy as np
import pytest

pytest.importorskip("rclpy", reason="ROS 2 not installed: run scripts/setup-ros.sh")

import rclpy  # noqa: E402
from rclpy.duration import Duration  # noqa: E402
from rclpy.qos import (DurabilityPolicy, HistoryPolicy, qos_profile_sensor_data,  # noqa: E402
                       QoSProfile, ReliabilityPolicy)
from rclpy.serialization import serialize_message  # noqa: E402
from ros_fixtures import cloud_message, holds_within, wait_until  # noqa: E402
from rosbags.interfaces import QosDurability, QosHistory, QosReliability, QosTime  # noqa: E402
from sensor_msgs.msg import PointCloud2  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from tao_pointpillars_py.data.bags import read_clouds, write_cloud_bag  # noqa: E402
from tao_pointpillars_py.errors import ConfigError  # noqa: E402
from tao_pointpillars_py.ros.bag_io import (bag_qos, BagPlayer,  # noqa: E402
                                            cdr_header_stamp_ns, message_class,
                                            mixed_offer_warnings, record_qos, TopicRecorder)
from tao_pointpillars_py.ros.dds_environment import isolated_environment  # noqa: E402
from tao_pointpillars_py.ros.spin import SpinningNode  # noqa: E402

TOPIC = "/ns1/zvision_lidar_points"


def test_header_stamp_is_read_from_serialized_messages():
    header = Header(frame_id="x")
    header.stamp.sec, header.stamp.nanosec = 1_700_000_123, 456_789
    assert cdr_header_stamp_ns(serialize_message(header)) == 1_700_000_123_000_456_789
    big_endian = b"\x00\x00\x00\x00" + struct.pack(">iI", 12, 34)
    assert cdr_header_stamp_ns(big_endian) == 12_000_000_034
    with pytest.raises(ValueError, match="12 bytes"):
        cdr_header_stamp_ns(b"\x00\x01")


def test_unknown_message_type_is_refused():
    with pytest.raises(ConfigError, match="no_such_msgs"):
        message_class("no_such_msgs/msg/Thing")


@pytest.fixture
def ros_node(monkeypatch):
    for key, value in isolated_environment().items():
        monkeypatch.setenv(key, value)
    spinning = SpinningNode("test_ros_bag_io", rclpy.Context())
    spinning.spin()
    yield spinning.node
    spinning.close()


def test_played_bag_is_recorded_back_unchanged(tmp_path, ros_node):
    rng = np.random.default_rng(0)
    frames = [(1_700_000_000_000_000_000 + i * 100_000_000,
               rng.normal(size=(500 + i, 4)).astype(np.float32)) for i in range(5)]
    write_cloud_bag(tmp_path / "in", frames, topic=TOPIC)
    player = BagPlayer(ros_node, tmp_path / "in", [TOPIC])
    recorder = TopicRecorder(ros_node, tmp_path / "out", [TOPIC], storage="sqlite3")
    assert player.wait_for_subscriptions(timeout_s=30.0).complete
    report = player.play(rate=5.0)
    wait_until(lambda: recorder.counts[TOPIC] >= len(frames), 10,
               f"the recorder to take the {len(frames)} clouds played")
    recorder.close()
    player.close()
    assert report.published == len(frames)
    recorded = list(read_clouds(tmp_path / "out", [TOPIC]))
    assert len(recorded) == len(frames)
    for (stamp, points), cloud in zip(frames, recorded):
        np.testing.assert_array_equal(cloud.points, points)


def test_player_refuses_missing_topics(tmp_path, ros_node):
    write_cloud_bag(tmp_path / "in", [(1, np.zeros((3, 4), np.float32))], topic=TOPIC)
    with pytest.raises(ConfigError, match="no topic"):
        BagPlayer(ros_node, tmp_path / "in", ["/other"])


RELIABLE, BEST_EFFORT = ReliabilityPolicy.RELIABLE, ReliabilityPolicy.BEST_EFFORT
LATCHED, VOLATILE = DurabilityPolicy.TRANSIENT_LOCAL, DurabilityPolicy.VOLATILE


def _offer(reliability, durability):
    qos = QoSProfile(depth=5)
    qos.reliability, qos.durability = reliability, durability
    return qos


@pytest.mark.parametrize("offers,expected,warnings", [
    ([(BEST_EFFORT, VOLATILE)], (BEST_EFFORT, VOLATILE), 0),  # a lidar driver
    ([(RELIABLE, LATCHED)], (RELIABLE, LATCHED), 0),  # the node's LabelInfo
    ([(RELIABLE, VOLATILE), (RELIABLE, VOLATILE)], (RELIABLE, VOLATILE), 0),
    ([(BEST_EFFORT, LATCHED)], (BEST_EFFORT, LATCHED), 0),
    # best effort matches a reliable publisher too; volatile a transient-local one
    ([(BEST_EFFORT, VOLATILE), (RELIABLE, VOLATILE)], (BEST_EFFORT, VOLATILE), 1),
    ([(RELIABLE, LATCHED), (RELIABLE, VOLATILE)], (RELIABLE, VOLATILE), 1),
    ([(BEST_EFFORT, LATCHED), (RELIABLE, VOLATILE)], (BEST_EFFORT, VOLATILE), 2),
    ([], (RELIABLE, VOLATILE), 0),  # rosbag2's default
], ids=["lidar", "latched", "reliable", "best-effort-latched", "mixed-reliability",
        "mixed-durability", "mixed-both", "none"])
def test_record_qos_is_what_every_publisher_matches(offers, expected, warnings):
    qos = record_qos([_offer(*offer) for offer in offers])
    assert (qos.reliability, qos.durability) == expected
    assert qos.depth == 100
    assert len(mixed_offer_warnings("/t", [_offer(*offer) for offer in offers])) == warnings


def test_bag_qos_keeps_every_policy_of_an_offer():
    offer = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=7,
                       reliability=BEST_EFFORT, durability=LATCHED)
    offer.deadline = Duration(seconds=1, nanoseconds=500)
    kept = bag_qos(offer)
    assert (kept.history, kept.depth, kept.reliability, kept.durability) == (
        QosHistory.KEEP_LAST, 7, QosReliability.BEST_EFFORT, QosDurability.TRANSIENT_LOCAL)
    assert kept.deadline == QosTime(sec=1, nsec=500)
    assert bag_qos(qos_profile_sensor_data).reliability == QosReliability.BEST_EFFORT


def test_recorder_waits_for_a_late_publisher_and_records_it_best_effort(
        tmp_path, ros_node, monkeypatch):
    topic = "/late/lidar"
    made = {}
    looks = []
    look_for_publishers = ros_node.get_publishers_info_by_topic

    def counted_look(*args, **kwargs):
        looks.append(1)
        return look_for_publishers(*args, **kwargs)

    monkeypatch.setattr(ros_node, "get_publishers_info_by_topic", counted_look)

    def record():
        made["recorder"] = TopicRecorder(ros_node, tmp_path / "out", [topic],
                                         discovery_timeout_s=30)

    starting = threading.Thread(target=record)
    starting.start()
    wait_until(lambda: len(looks) >= 2, 10, "the recorder to look for publishers twice")
    assert starting.is_alive()  # it found none and waits; only now does the lidar appear
    publisher = ros_node.create_publisher(PointCloud2, topic, qos_profile_sensor_data)
    starting.join(timeout=30)
    recorder = made["recorder"]
    assert (recorder.qos[topic].reliability, recorder.types[topic]) == (
        BEST_EFFORT, "sensor_msgs/msg/PointCloud2")
    points = np.ones((5, 4), np.float32)
    for _ in range(100):  # best effort: published again, at a lidar's 10 Hz, until recorded
        publisher.publish(cloud_message(points, *XYZI_16, 1))
        if holds_within(lambda: recorder.counts[topic] > 0, 0.1):
            break
    recorder.close()
    assert recorder.counts[topic] > 0
    np.testing.assert_array_equal(next(read_clouds(tmp_path / "out", [topic])).points, points)


def test_recorder_does_not_take_a_topic_with_only_subscribers_as_published(tmp_path, ros_node):
    ros_node.create_subscription(PointCloud2, "/heard/by/nobody", lambda msg: None, 10)
    with pytest.raises(ConfigError, match=r"no publisher of \['/heard/by/nobody'\]"):
        TopicRecorder(ros_node, tmp_path / "out", ["/heard/by/nobody"], discovery_timeout_s=1)
    assert not (tmp_path / "out").exists()
