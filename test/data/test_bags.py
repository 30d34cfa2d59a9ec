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

"""Tests of data.bags: rosbag2 round trips of PointCloud2 (sqlite3 and mcap)."""

from bag_fixtures import bag_information, offered_profiles
import numpy as np
import pytest
from rosbags.interfaces import (Qos, QosDurability, QosHistory, QosLiveliness, QosReliability,
                                QosTime)
from rosbags.rosbag2 import Reader, StoragePlugin, Writer
from rosbags.typesys import get_typestore, Stores

from tao_pointpillars_py.data.bags import (BAG_VERSION, count_clouds, offered_qos, read_clouds,
                                           STORAGES, write_cloud_bag)
from tao_pointpillars_py.errors import CloudFormatError

T0 = 1_700_000_000_000_000_000


def frames(count=3, seed=0):
    rng = np.random.default_rng(seed)
    return [(T0 + i * 100_000_000,
             np.column_stack([rng.uniform(-50, 50, (20 + i, 3)),
                              rng.integers(0, 256, 20 + i)]).astype(np.float32))
            for i in range(count)]


@pytest.mark.parametrize("storage", ["sqlite3", "mcap"])
def test_cloud_bag_round_trips_points_and_timestamps(tmp_path, storage):
    written = frames()
    assert write_cloud_bag(tmp_path / "bag", iter(written), storage=storage) == 3
    read = list(read_clouds(tmp_path / "bag"))
    assert [c.timestamp_ns for c in read] == [t for t, _ in written]
    assert {(c.topic, c.frame_id) for c in read} == {("/ns1/zvision_lidar_points",
                                                      "lidar_front")}
    for cloud, (_, points) in zip(read, written):
        np.testing.assert_array_equal(cloud.points, points)
    assert count_clouds(tmp_path / "bag") == 3


@pytest.mark.parametrize("storage,suffix", [("sqlite3", ".db3"), ("mcap", ".mcap")])
def test_cloud_bag_uses_requested_storage_and_zvision_message(tmp_path, storage, suffix):
    write_cloud_bag(tmp_path / "bag", frames(1), topic="/lidar", frame_id="f", storage=storage)
    assert [p.suffix for p in (tmp_path / "bag").iterdir() if p.suffix != ".yaml"] == [suffix]
    typestore = get_typestore(Stores.ROS2_HUMBLE)
    with Reader(tmp_path / "bag") as reader:
        (connection, timestamp, raw), = list(reader.messages())
    msg = typestore.deserialize_cdr(raw, connection.msgtype)
    assert connection.msgtype == "sensor_msgs/msg/PointCloud2" and connection.topic == "/lidar"
    assert (msg.header.stamp.sec, msg.header.stamp.nanosec) == (1_700_000_000, 0)
    assert timestamp == T0
    assert (msg.height, msg.width, msg.point_step, msg.row_step) == (1, 20, 32, 640)
    assert msg.is_dense and not msg.is_bigendian and msg.header.frame_id == "f"
    assert [(f.name, f.offset, f.datatype, f.count) for f in msg.fields] == [
        ("x", 0, 7, 1), ("y", 4, 7, 1), ("z", 8, 7, 1), ("intensity", 16, 7, 1)]


@pytest.mark.parametrize("storage", STORAGES)
def test_written_bags_have_the_metadata_humbles_rosbag2_reads(tmp_path, storage):
    write_cloud_bag(tmp_path / "bag", frames(1), storage=storage)
    assert bag_information(tmp_path / "bag")["version"] == 8
    # rmw's numbers: history 1 keep last, reliability 1 reliable, durability 2 volatile
    (offered,) = offered_profiles(tmp_path / "bag").values()
    assert [(q["history"], q["depth"], q["reliability"], q["durability"])
            for q in offered] == [(1, 10, 1, 2)]


def write_two_topic_bag(path, storage):
    """Bag with /a (PointCloud2, packed float64 layout), /b (PointCloud2) and /s (String)."""
    typestore = get_typestore(Stores.ROS2_HUMBLE)
    types = typestore.types
    plugin = StoragePlugin.MCAP if storage == "mcap" else StoragePlugin.SQLITE3
    pts = np.array([[1, 2, 3, 4], [5, 6, 7, 8]], dtype=np.float64)
    with Writer(path, version=8, storage_plugin=plugin) as writer:
        conns = {t: writer.add_connection(t, "sensor_msgs/msg/PointCloud2", typestore=typestore)
                 for t in ("/a", "/b")}
        text = writer.add_connection("/s", "std_msgs/msg/String", typestore=typestore)
        for i, topic in enumerate(["/a", "/b", "/a"]):
            msg = types["sensor_msgs/msg/PointCloud2"](
                header=types["std_msgs/msg/Header"](
                    stamp=types["builtin_interfaces/msg/Time"](sec=0, nanosec=0),
                    frame_id=topic[1:]),
                height=1, width=2, is_bigendian=False, point_step=32, row_step=64,
                fields=[types["sensor_msgs/msg/PointField"](name=n, offset=8 * k, datatype=8,
                                                            count=1)
                        for k, n in enumerate(["x", "y", "z", "intensity"])],
                data=np.frombuffer((pts + i).tobytes(), np.uint8), is_dense=True)
            writer.write(conns[topic], 10 + i,
                         typestore.serialize_cdr(msg, "sensor_msgs/msg/PointCloud2"))
        writer.write(text, 11, typestore.serialize_cdr(types["std_msgs/msg/String"](data="x"),
                                                       "std_msgs/msg/String"))
    return pts


@pytest.mark.parametrize("storage", ["sqlite3", "mcap"])
@pytest.mark.parametrize("topics,expected", [
    (None, [(10, "/a"), (11, "/b"), (12, "/a")]),
    (["/a"], [(10, "/a"), (12, "/a")]),
    (["/b"], [(11, "/b")]),
])
def test_read_clouds_filters_topics_and_skips_other_types(tmp_path, storage, topics, expected):
    pts = write_two_topic_bag(tmp_path / "bag", storage)
    read = list(read_clouds(tmp_path / "bag", topics))
    assert [(c.timestamp_ns, c.topic) for c in read] == expected
    for cloud in read:
        assert cloud.frame_id == cloud.topic[1:]
        np.testing.assert_array_equal(cloud.points, pts + cloud.timestamp_ns - 10)
    assert count_clouds(tmp_path / "bag", topics) == len(expected)


def test_read_clouds_rejects_unknown_topic(tmp_path):
    write_cloud_bag(tmp_path / "bag", frames(1))
    with pytest.raises(CloudFormatError, match="/nope"):
        list(read_clouds(tmp_path / "bag", ["/nope"]))


def test_read_clouds_reports_missing_bag(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing"):
        count_clouds(tmp_path / "missing")


def test_write_cloud_bag_streams_from_a_generator_and_refuses_existing_path(tmp_path):
    written = write_cloud_bag(tmp_path / "bag", (f for f in frames(2)))
    assert written == 2
    with pytest.raises(FileExistsError, match="exists"):
        write_cloud_bag(tmp_path / "bag", frames(1))


INFINITE_NS = 2**63 - 1  # rmw's infinite duration, what discovery reports for an unset one


def test_offered_qos_keeps_a_discovered_offer_as_rosbag2_records_it(tmp_path):
    # a best-effort lidar in another process, as get_publishers_info_by_topic reports it
    lidar = offered_qos(history=3, depth=0, reliability=2, durability=2,
                        deadline_ns=INFINITE_NS, lifespan_ns=INFINITE_NS, liveliness=1,
                        liveliness_lease_duration_ns=INFINITE_NS,
                        avoid_ros_namespace_conventions=False)
    infinite = QosTime(sec=9_223_372_036, nsec=854_775_807)
    assert lidar == Qos(QosHistory.UNKNOWN, 0, QosReliability.BEST_EFFORT,
                        QosDurability.VOLATILE, infinite, infinite, QosLiveliness.AUTOMATIC,
                        infinite, False)
    latched = offered_qos(history=1, depth=1, reliability=1, durability=1,
                          deadline_ns=1_500_000_000, lifespan_ns=0, liveliness=99,
                          liveliness_lease_duration_ns=0,
                          avoid_ros_namespace_conventions=True)
    assert latched.deadline == QosTime(sec=1, nsec=500_000_000)
    assert latched.liveliness == QosLiveliness.UNKNOWN  # a number rmw does not know
    typestore = get_typestore(Stores.ROS2_HUMBLE)
    with Writer(tmp_path / "bag", version=BAG_VERSION) as writer:
        writer.add_connection("/x", "std_msgs/msg/String", typestore=typestore,
                              offered_qos_profiles=[lidar, latched])
    with Reader(tmp_path / "bag") as reader:
        (connection,) = reader.connections
    assert connection.ext.offered_qos_profiles == [lidar, latched]
    (offered,) = offered_profiles(tmp_path / "bag").values()
    assert offered[0] == {
        "history": 3, "depth": 0, "reliability": 2, "durability": 2,
        "deadline": {"sec": 9_223_372_036, "nsec": 854_775_807},
        "lifespan": {"sec": 9_223_372_036, "nsec": 854_775_807}, "liveliness": 1,
        "liveliness_lease_duration": {"sec": 9_223_372_036, "nsec": 854_775_807},
        "avoid_ros_namespace_conventions": False}
