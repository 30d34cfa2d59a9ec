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

"""``tao-pointpillars play`` and ``record`` as processes: a bag goes out and comes back."""

import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="ROS 2 not installed: run scripts/setup-ros.sh")

from rclpy.duration import Duration  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from ros_fixtures import cloud_message, ros_environment, SpinningNode, stamp_of  # noqa: E402
from sensor_msgs.msg import PointCloud2  # noqa: E402
from tao_pointpillars_py.bag import read_clouds, write_cloud_bag  # noqa: E402
import yaml  # noqa: E402

TOPIC = "/ns1/zvision_lidar_points"
STAMP0 = 1_700_000_000_000_000_000
XYZI_LAYOUT = [(0, "f4"), (4, "f4"), (8, "f4"), (12, "f4")]
#: a subscriber this late [s] after play's publisher appeared missed clouds with the old fixed
#: one-second wait
LATE_SUBSCRIBER_S = 1.5


def _cli(*args):
    return [sys.executable, "-m", "tao_pointpillars_py.cli", *args]


def test_play_then_record_gives_the_same_clouds(tmp_path):
    rng = np.random.default_rng(1)
    frames = [(1_700_000_000_000_000_000 + i * 100_000_000,
               rng.normal(size=(300, 4)).astype(np.float32)) for i in range(6)]
    write_cloud_bag(tmp_path / "in", frames, topic=TOPIC, storage="mcap")
    env = ros_environment()
    player = subprocess.Popen(_cli("play", str(tmp_path / "in"), "--rate", "2", "--delay", "6"),
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    recorder = subprocess.run(
        _cli("record", "--out", str(tmp_path / "out"), "--topic", TOPIC, "--duration", "12",
             "--storage", "sqlite3"), env=env, capture_output=True, text=True, timeout=120)
    played = player.communicate(timeout=60)[0].decode()
    assert player.returncode == 0, played
    assert recorder.returncode == 0, recorder.stderr
    assert "published 6 messages" in played
    assert f"{TOPIC} 6 messages" in recorder.stdout
    recorded = list(read_clouds(tmp_path / "out", [TOPIC]))
    assert [c.timestamp_ns for c in recorded] != []
    for (_, points), cloud in zip(frames, recorded, strict=True):
        np.testing.assert_array_equal(cloud.points, points)


def test_record_without_a_publisher_says_so(tmp_path):
    result = subprocess.run(
        _cli("record", "--out", str(tmp_path / "out"), "--topic", "/nobody",
             "--discovery-timeout", "1"), env=ros_environment(), capture_output=True, text=True,
        timeout=180)
    assert result.returncode == 2
    assert "no publisher of ['/nobody'] appeared" in result.stderr


def _reliable(depth):
    qos = QoSProfile(depth=depth)
    qos.reliability = ReliabilityPolicy.RELIABLE
    return qos


def _wait_until(predicate, timeout_s):
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _clouds(count, seed):
    rng = np.random.default_rng(seed)
    return [(STAMP0 + i * 100_000_000, rng.normal(size=(200, 4)).astype(np.float32))
            for i in range(count)]


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_record_stopped_by_a_signal_writes_the_bag_and_exits_cleanly(tmp_path, stop):
    clouds = _clouds(5, seed=2)
    publisher_node = SpinningNode("record_signal_publisher")
    publisher = publisher_node.node.create_publisher(PointCloud2, TOPIC, _reliable(10))
    publisher_node.spin()
    recorder = subprocess.Popen(_cli("record", "--out", str(tmp_path / "out"), "--topic", TOPIC),
                                env=ros_environment(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    try:
        assert _wait_until(lambda: publisher.get_subscription_count() > 0
                           or recorder.poll() is not None, 60), "record never subscribed"
        assert recorder.poll() is None, recorder.communicate()
        for stamp, points in clouds:
            publisher.publish(cloud_message(points, XYZI_LAYOUT, 16, stamp))
        assert publisher.wait_for_all_acked(Duration(seconds=30))
        time.sleep(1.0)  # acknowledged by DDS; now record's executor takes them
        recorder.send_signal(stop)
        out, err = recorder.communicate(timeout=60)
    finally:
        if recorder.poll() is None:
            recorder.kill()
            recorder.communicate()
        publisher_node.close()
    assert recorder.returncode == 0, err
    assert "Traceback" not in err and "Exception" not in err, err
    assert f"record: {TOPIC} 5 messages -> {tmp_path / 'out'}" in out
    # sqlite3 by default: every distribution's rosbag2 reads it without a storage plugin
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["metadata.yaml", "out.db3"]
    metadata = yaml.safe_load((tmp_path / "out" / "metadata.yaml").read_text(encoding="utf-8"))
    assert metadata["rosbag2_bagfile_information"]["version"] == 8
    recorded = list(read_clouds(tmp_path / "out", [TOPIC]))
    assert len(recorded) == len(clouds)
    for (_, points), cloud in zip(clouds, recorded):
        np.testing.assert_array_equal(cloud.points, points)


def test_play_waits_for_a_late_subscriber_which_then_gets_every_cloud(tmp_path):
    clouds = _clouds(40, seed=3)
    write_cloud_bag(tmp_path / "in", clouds, topic=TOPIC)
    listener = SpinningNode("late_subscriber")
    received = []
    arrived = threading.Condition()

    def on_cloud(msg):
        with arrived:
            received.append(stamp_of(msg))
            arrived.notify_all()

    player = subprocess.Popen(_cli("play", str(tmp_path / "in")), env=ros_environment(),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert _wait_until(lambda: listener.node.count_publishers(TOPIC) > 0
                           or player.poll() is not None, 60), "play never advertised"
        time.sleep(LATE_SUBSCRIBER_S)
        listener.node.create_subscription(PointCloud2, TOPIC, on_cloud, _reliable(100))
        listener.spin()
        played = player.communicate(timeout=120)[0]
        with arrived:
            arrived.wait_for(lambda: len(received) == len(clouds), timeout=10)
    finally:
        if player.poll() is None:
            player.kill()
            player.communicate()
        listener.close()
    assert player.returncode == 0, played
    assert received == [stamp for stamp, _ in clouds]
    assert "play: 1/1 topics matched a subscriber after" in played
    assert f"published {len(clouds)} messages" in played


def test_play_without_a_subscriber_plays_anyway_after_the_delay(tmp_path):
    write_cloud_bag(tmp_path / "in", _clouds(3, seed=4), topic="/nobody/listens")
    result = subprocess.run(_cli("play", str(tmp_path / "in"), "--delay", "0.5", "--rate", "10"),
                            env=ros_environment(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert ("play: 0/1 topics matched a subscriber; playing anyway after --delay 0.5 s"
            in result.stdout)
    assert "published 3 messages" in result.stdout
