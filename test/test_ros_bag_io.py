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

"""Tests of tao_pointpillars_py.ros_bag_io: play a bag over DDS and record it back."""

import struct
import threading
import time

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="ROS 2 not installed: run scripts/setup-ros.sh")

import rclpy  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.serialization import serialize_message  # noqa: E402
from ros_fixtures import ros_environment  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from tao_pointpillars_py.bag import read_clouds, write_cloud_bag  # noqa: E402
from tao_pointpillars_py.errors import ConfigError  # noqa: E402
from tao_pointpillars_py.ros_bag_io import (BagPlayer, cdr_header_stamp_ns,  # noqa: E402
                                            message_class, TopicRecorder)

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
    for key, value in ros_environment().items():
        monkeypatch.setenv(key, value)
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("test_ros_bag_io", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    yield node
    executor.shutdown()
    thread.join(timeout=10)
    node.destroy_node()
    rclpy.shutdown(context=context)


def test_played_bag_is_recorded_back_unchanged(tmp_path, ros_node):
    rng = np.random.default_rng(0)
    frames = [(1_700_000_000_000_000_000 + i * 100_000_000,
               rng.normal(size=(500 + i, 4)).astype(np.float32)) for i in range(5)]
    write_cloud_bag(tmp_path / "in", frames, topic=TOPIC)
    player = BagPlayer(ros_node, tmp_path / "in", [TOPIC])
    recorder = TopicRecorder(ros_node, tmp_path / "out", [TOPIC], storage="sqlite3")
    time.sleep(1.0)  # endpoint matching
    report = player.play(rate=5.0)
    deadline = time.monotonic() + 10
    while recorder.counts[TOPIC] < len(frames) and time.monotonic() < deadline:
        time.sleep(0.05)
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
