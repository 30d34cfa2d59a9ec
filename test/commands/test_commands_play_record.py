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

from bag_fixtures import bag_information, offered_profiles
from cloud_fixtures import XYZI_16
import numpy as np
import pytest

pytest.importorskip("rclpy", reason="ROS 2 not installed: run scripts/setup-ros.sh")

from rclpy.duration import Duration  # noqa: E402
from rclpy.qos import (DurabilityPolicy, qos_profile_sensor_data, QoSProfile,  # noqa: E402
                       ReliabilityPolicy)
from ros_fixtures import (cloud_message, ros_environment, SpinningNode,  # noqa: E402
                          stamp_of, wait_until)
from rosbags.highlevel import AnyReader  # noqa: E402
from rosbags.interfaces import QosDurability, QosReliability  # noqa: E402
from sensor_msgs.msg import PointCloud2  # noqa: E402
from std_msgs.msg import Header  # noqa: E402
from tao_pointpillars_py.data.bags import read_clouds, write_cloud_bag  # noqa: E402
from tao_pointpillars_py.data.detection_messages import vision_typestore  # noqa: E402
from tao_pointpillars_py.ros.bag_io import replay_qos  # noqa: E402
from tao_pointpillars_py.ros.messages import label_info  # noqa: E402
from vision_msgs.msg import LabelInfo  # noqa: E402

TOPIC = "/ns1/zvision_lidar_points"
STAMP0 = 1_700_000_000_000_000_000
#: a subscriber this late [s] after play's publisher appeared missed clouds with the old fixed
#: one-second wait
LATE_SUBSCRIBER_S = 1.5
#: once record says it is recording, its subscription matches a publisher within this [s]
RECORD_MATCH_S = 10.0
#: record says what it took only when it stops: the time its executor is given to take what
#: DDS delivered [s] (no condition to wait for from outside the process)
RECORD_TAKE_S = 1.0


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
        wait_until(lambda: publisher.get_subscription_count() > 0
                   or recorder.poll() is not None, 60, "record to subscribe")
        assert recorder.poll() is None, recorder.communicate()
        for stamp, points in clouds:
            publisher.publish(cloud_message(points, *XYZI_16, stamp))
        assert publisher.wait_for_all_acked(Duration(seconds=30))
        time.sleep(RECORD_TAKE_S)  # acknowledged by DDS; now record's executor takes them
        recorder.send_signal(stop)
        out, err = recorder.communicate(timeout=60)
    finally:
        _kill_if_running(recorder)
        publisher_node.close()
    assert recorder.returncode == 0, err
    assert "Traceback" not in err and "Exception" not in err, err
    assert f"record: {TOPIC} 5 messages -> {tmp_path / 'out'}" in out
    # sqlite3 by default: every distribution's rosbag2 reads it without a storage plugin
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["metadata.yaml", "out.db3"]
    assert bag_information(tmp_path / "out")["version"] == 8
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
        wait_until(lambda: listener.node.count_publishers(TOPIC) > 0
                   or player.poll() is not None, 60, "play to advertise")
        time.sleep(LATE_SUBSCRIBER_S)  # the lateness under test
        listener.node.create_subscription(PointCloud2, TOPIC, on_cloud, _reliable(100))
        listener.spin()
        played = player.communicate(timeout=120)[0]
        with arrived:
            arrived.wait_for(lambda: len(received) == len(clouds), timeout=10)
    finally:
        _kill_if_running(player)
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


class Recording:
    """A ``tao-pointpillars record`` process; its stdout and stderr collected on a thread."""

    def __init__(self, out, *topics):
        command = ["record", "--out", str(out)]
        for topic in topics:
            command += ["--topic", topic]
        self.process = subprocess.Popen(_cli(*command), env=ros_environment(),
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True)
        self._lines = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.process.stdout:
            self._lines.append(line)

    @property
    def output(self):
        return "".join(self._lines)

    def wait_until_matched(self, *publishers):
        """Wait until record subscribed and every publisher matched it; fail if not."""
        wait_until(lambda: "record: recording" in self.output
                   or self.process.poll() is not None, 60, "record to subscribe")
        assert self.process.poll() is None, self.output
        try:
            wait_until(lambda: all(p.get_subscription_count() > 0 for p in publishers),
                       RECORD_MATCH_S, "record's subscription to match every publisher")
        except AssertionError as exc:
            raise AssertionError(f"{exc}:\n{self.output}") from None

    def stop(self):
        """Ctrl-C record; give its output once it has ended."""
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=60)
        self._reader.join(timeout=10)
        assert self.process.returncode == 0, self.output
        return self.output

    def kill(self):
        _kill_if_running(self.process)


def _kill_if_running(process):
    """Kill a command process a failed test left running, and reap it."""
    if process.poll() is None:
        process.kill()
        process.wait()


def _publish_paced(publisher, clouds, period_s=0.05):
    # at a lidar's pace, not as a burst: best effort drops what a full queue cannot take
    for stamp, points in clouds:
        publisher.publish(cloud_message(points, *XYZI_16, stamp))
        time.sleep(period_s)


def _assert_same_clouds(recorded, clouds):
    """Check the recorded clouds are the published ones, in any order (stamps are arrivals)."""
    by_first_point = {tuple(points[0]): points for _, points in clouds}
    assert len(recorded) == len(clouds)
    for cloud in recorded:
        np.testing.assert_array_equal(cloud.points, by_first_point[tuple(cloud.points[0])])


def _bag_offers(path):
    with AnyReader([path], default_typestore=vision_typestore()) as reader:
        (connection,) = reader.connections
        return connection, [(q.reliability, q.durability)
                            for q in connection.ext.offered_qos_profiles]


def test_record_hears_a_best_effort_lidar_and_keeps_every_cloud(tmp_path):
    topic = "/record/best_effort_lidar"
    clouds = _clouds(10, seed=5)
    publisher_node = SpinningNode("record_best_effort_publisher")
    # a lidar driver's QoS: best effort, volatile
    publisher = publisher_node.node.create_publisher(PointCloud2, topic, qos_profile_sensor_data)
    publisher_node.spin()
    recording = Recording(tmp_path / "out", topic)
    try:
        recording.wait_until_matched(publisher)
        time.sleep(1.0)  # the other end: best effort reaches a reader once it matched the writer
        _publish_paced(publisher, clouds)
        time.sleep(RECORD_TAKE_S)  # sent; now record's executor takes them
        output = recording.stop()
    finally:
        recording.kill()
        publisher_node.close()
    assert f"record: {topic} {len(clouds)} messages" in output
    _assert_same_clouds(list(read_clouds(tmp_path / "out", [topic])), clouds)
    _, offers = _bag_offers(tmp_path / "out")
    assert offers == [(QosReliability.BEST_EFFORT, QosDurability.VOLATILE)]
    assert f"record: {topic} subscribed best effort, volatile" in output


def test_record_gets_label_info_latched_before_it_started_and_replays_it_latched(tmp_path):
    topic = "/record/bbox/label_info"
    publisher_node = SpinningNode("record_latched_publisher")
    latched = QoSProfile(depth=1)  # the node's LabelInfo QoS
    latched.reliability = ReliabilityPolicy.RELIABLE
    latched.durability = DurabilityPolicy.TRANSIENT_LOCAL
    publisher = publisher_node.node.create_publisher(LabelInfo, topic, latched)
    publisher_node.spin()
    header = Header(frame_id="lidar_front")
    header.stamp.sec, header.stamp.nanosec = divmod(STAMP0, 1_000_000_000)
    # published before record exists: only a transient-local subscription brings it to record
    publisher.publish(label_info(["Vehicle", "Pedestrian", "Cyclist"], 0.4, header))
    recording = Recording(tmp_path / "out", topic)
    try:
        recording.wait_until_matched(publisher)
        assert publisher.wait_for_all_acked(Duration(seconds=30))
        time.sleep(RECORD_TAKE_S)  # acknowledged by DDS; now record's executor takes it
        output = recording.stop()
    finally:
        recording.kill()
        publisher_node.close()
    assert f"record: {topic} 1 messages" in output
    connection, offers = _bag_offers(tmp_path / "out")
    assert offers == [(QosReliability.RELIABLE, QosDurability.TRANSIENT_LOCAL)]
    with AnyReader([tmp_path / "out"], default_typestore=vision_typestore()) as reader:
        ((_, _, raw),) = list(reader.messages())
        got = reader.deserialize(raw, "vision_msgs/msg/LabelInfo")
    assert [c.class_name for c in got.class_map] == ["Vehicle", "Pedestrian", "Cyclist"]
    assert stamp_of(got) == STAMP0
    # played back, it is latched again for late subscribers
    assert replay_qos([connection]).durability == DurabilityPolicy.TRANSIENT_LOCAL
    assert bag_information(tmp_path / "out")["version"] == 8
    # rmw's numbers: 1 reliable, 1 transient local
    (offered,) = offered_profiles(tmp_path / "out").values()
    assert [(q["reliability"], q["durability"]) for q in offered] == [(1, 1)]
    assert f"record: {topic} subscribed reliable, transient local" in output


def test_record_of_best_effort_and_reliable_publishers_goes_best_effort_and_hears_both(
        tmp_path):
    topic = "/record/mixed_lidars"
    clouds = _clouds(10, seed=6)
    publisher_node = SpinningNode("record_mixed_publishers")
    best_effort = publisher_node.node.create_publisher(PointCloud2, topic,
                                                       qos_profile_sensor_data)
    reliable = publisher_node.node.create_publisher(PointCloud2, topic, _reliable(10))
    publisher_node.spin()
    recording = Recording(tmp_path / "out", topic)
    try:
        recording.wait_until_matched(best_effort, reliable)
        time.sleep(1.0)  # the other end: best effort reaches a reader once it matched the writer
        _publish_paced(best_effort, clouds[0::2])
        _publish_paced(reliable, clouds[1::2])
        time.sleep(RECORD_TAKE_S)  # sent; now record's executor takes them
        output = recording.stop()
    finally:
        recording.kill()
        publisher_node.close()
    assert f"record: {topic} {len(clouds)} messages" in output
    assert f"record: {topic} subscribed best effort, volatile" in output
    assert f"1 of 2 publishers of {topic} offer reliable" in output  # rosbag2 warns too
    _assert_same_clouds(list(read_clouds(tmp_path / "out", [topic])), clouds)
    _, offers = _bag_offers(tmp_path / "out")
    assert sorted(offers, key=lambda offer: offer[0].value) == [
        (QosReliability.RELIABLE, QosDurability.VOLATILE),
        (QosReliability.BEST_EFFORT, QosDurability.VOLATILE)]
