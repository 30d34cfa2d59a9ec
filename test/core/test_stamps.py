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

"""Tests of tao_pointpillars_py.core.stamps: time stamps <-> integer nanoseconds."""

import numpy as np
import pytest

from tao_pointpillars_py.core.stamps import NS_PER_S, seconds_to_ns, split_ns, stamp_ns, to_ns
from tao_pointpillars_py.data.bags import cloud_connections, open_reader, write_cloud_bag

#: the simulator's first stamp (2023-11-14), as the node sees it in a header
SIM_START_NS = 1_700_000_000 * NS_PER_S


@pytest.mark.parametrize("ns,sec,nanosec", [
    (0, 0, 0), (1, 0, 1), (999_999_999, 0, 999_999_999), (NS_PER_S, 1, 0),
    (SIM_START_NS + 100_000_000, 1_700_000_000, 100_000_000),
    (1_700_000_123_000_456_789, 1_700_000_123, 456_789)])
def test_nanoseconds_split_into_seconds_and_the_nanoseconds_left(ns, sec, nanosec):
    assert split_ns(ns) == (sec, nanosec)
    assert to_ns(sec, nanosec) == ns


@pytest.mark.parametrize("ns", [0, 1, 123_456_789_012, 2**31 * NS_PER_S + 7, 2**63 - 1, 10**30])
def test_large_values_round_trip_exactly(ns):
    sec, nanosec = split_ns(ns)
    assert 0 <= nanosec < NS_PER_S
    assert to_ns(sec, nanosec) == ns
    assert isinstance(sec, int) and isinstance(nanosec, int)


@pytest.mark.parametrize("ns,sec,nanosec", [
    (-1, -1, 999_999_999), (-NS_PER_S, -1, 0), (-1_500_000_000, -2, 500_000_000)])
def test_negative_values_keep_the_nanoseconds_in_range(ns, sec, nanosec):
    # as a Time message and rmw durations hold them: nanosec is never negative
    assert split_ns(ns) == (sec, nanosec)
    assert to_ns(sec, nanosec) == ns


def test_numpy_integers_and_floats_give_python_ints():
    assert split_ns(np.int64(SIM_START_NS + 5)) == (1_700_000_000, 5)
    assert to_ns(np.int32(3), np.uint32(4)) == 3_000_000_004
    assert type(to_ns(np.int32(3), np.uint32(4))) is int
    assert to_ns(2.0, 1.0) == 2_000_000_001


@pytest.mark.parametrize("seconds,ns", [
    (0.0, 0), (1.5, 1_500_000_000), (0.1, 100_000_000), (0.3, 300_000_000),
    (1e-10, 0), (-0.5, -500_000_000), (2.5e-9, 2)])
def test_seconds_become_nanoseconds_truncated(seconds, ns):
    assert seconds_to_ns(seconds) == ns


def test_a_cloud_header_stamp_is_the_bag_timestamp(tmp_path):
    stamps = [SIM_START_NS, SIM_START_NS + 100_000_000, SIM_START_NS + 999_999_999]
    points = np.zeros((2, 4), np.float32)
    write_cloud_bag(tmp_path / "bag", [(ns, points) for ns in stamps])
    with open_reader(tmp_path / "bag") as reader:
        headers = [(timestamp, reader.deserialize(raw, connection.msgtype).header)
                   for connection, timestamp, raw in reader.messages(
                       connections=cloud_connections(reader, None))]
    assert [timestamp for timestamp, _ in headers] == stamps
    assert [(h.stamp.sec, h.stamp.nanosec) for _, h in headers] == [
        (1_700_000_000, 0), (1_700_000_000, 100_000_000), (1_700_000_000, 999_999_999)]
    assert [stamp_ns(h.stamp) for _, h in headers] == stamps


def test_the_nodes_header_stamp_reads_back_as_its_nanoseconds():
    pytest.importorskip("rclpy", reason="ROS 2 not installed: run scripts/setup-ros.sh")
    from builtin_interfaces.msg import Time
    from tao_pointpillars_py.ros.messages import header_at
    header = header_at(SIM_START_NS + 123_456_789, "lidar_front")
    assert isinstance(header.stamp, Time)
    assert (header.stamp.sec, header.stamp.nanosec) == (1_700_000_000, 123_456_789)
    assert header.frame_id == "lidar_front"
    assert stamp_ns(header.stamp) == SIM_START_NS + 123_456_789
    assert stamp_ns(Time(sec=0, nanosec=999_999_999)) == 999_999_999
