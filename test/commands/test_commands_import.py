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

"""Tests of ``tao-pointpillars import-pcap`` and ``import-bin``: real bags read back."""

from pathlib import Path

import numpy as np
import pytest

from tao_pointpillars_py.cli import main
from tao_pointpillars_py.core.pointcloud2 import points_from_cloud
from tao_pointpillars_py.data.bags import open_reader, read_clouds
from tao_pointpillars_py.data.scan_files import write_scan_file

ZVISION = Path(__file__).resolve().parents[1] / "data_files" / "zvision"
PCAP = ZVISION / "ML30S_A1_Default.pcap"
CAL = ZVISION / "ML30S_A1_Default.cal"
FLOAT32, UINT8, UINT16, FLOAT64 = 7, 2, 4, 8


def cloud_messages(bag):
    """Every PointCloud2 of the bag: (topic, bag timestamp, deserialized message)."""
    with open_reader(bag) as reader:
        return [(c.topic, t, reader.deserialize(raw, c.msgtype))
                for c, t, raw in reader.messages()]


def import_pcap(tmp_path, *options, storage="sqlite3"):
    bag = tmp_path / f"zvision_{storage}"
    assert main(["import-pcap", str(PCAP), "--calibration", str(CAL), "--out", str(bag),
                 "--storage", storage, *options]) == 0
    return bag


@pytest.mark.parametrize("storage", ["sqlite3", "mcap"])
def test_import_pcap_writes_the_drivers_ten_clouds(tmp_path, capsys, storage):
    bag = import_pcap(tmp_path, storage=storage)
    messages = cloud_messages(bag)
    assert len(messages) == 10
    for topic, timestamp, msg in messages:
        assert topic == "zvision_lidar_points" and msg.header.frame_id == "zvision_lidar"
        assert [(f.name, f.offset, f.datatype, f.count) for f in msg.fields] == [
            ("x", 0, FLOAT32, 1), ("y", 4, FLOAT32, 1), ("z", 8, FLOAT32, 1),
            ("intensity", 16, FLOAT32, 1)]
        assert (msg.height, msg.width, msg.point_step, msg.row_step) == (1, 51200, 32, 51200 * 32)
        assert msg.is_dense is False and msg.is_bigendian is False
        assert msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec == timestamp
    assert messages[0][1] == 1_589_533_887_172_197_000  # pcap time of the frame's last packet
    out = capsys.readouterr().out
    assert "10 frames of 51200 points (xyzi, point_step 32, is_dense false)" in out
    assert "intensity: median 2, p99 46, max 144" in out
    assert "elevation of the returns: -52.7 .. 20.9 deg" in out


def test_imported_clouds_read_back_y_forward_with_the_measured_figures(tmp_path):
    clouds = list(read_clouds(import_pcap(tmp_path)))
    # the bag holds 51,200 slots per cloud; reading drops the (0, 0, 0) ones without a return
    returns = [c.points for c in clouds]
    assert len(returns) == 10 and not any(np.any(~r[:, :3].any(axis=1)) for r in returns)
    assert len(returns[0]) == 51200 - 10_377
    assert all(abs(len(r) - (51200 - 10_377)) < 150 for r in returns)
    first = returns[0][:, 3]
    assert (np.median(first), np.percentile(first, 99), first.max()) == (2, 45, 143)
    xyz = np.concatenate(returns)[:, :3]
    assert 0.1 < xyz[:, 1].min() < 0.3 and 53 < xyz[:, 1].max() < 55
    assert -21 < xyz[:, 0].min() < -19 and 13 < xyz[:, 0].max() < 15


def test_import_pcap_xyzirt_writes_the_sdk_layout(tmp_path, capsys):
    bag = import_pcap(tmp_path, "--layout", "xyzirt", "--stamp", "lidar", "--topic",
                      "/ns1/zvision_lidar_points", "--frame-id", "lidar_front")
    messages = cloud_messages(bag)
    topic, timestamp, msg = messages[0]
    assert (topic, msg.header.frame_id, timestamp) == (
        "/ns1/zvision_lidar_points", "lidar_front", 36_059_016_000)
    assert [(f.name, f.offset, f.datatype) for f in msg.fields] == [
        ("x", 0, FLOAT32), ("y", 4, FLOAT32), ("z", 8, FLOAT32), ("intensity", 16, UINT8),
        ("ring", 18, UINT16), ("timestamp", 24, FLOAT64)]
    assert (msg.width, msg.point_step, msg.is_dense) == (51200, 32, False)
    points = points_from_cloud(msg)  # the package's own reader takes the UINT8 intensity
    assert points.shape == (51200 - 10_377, 4) and points[:, 3].max() <= 255
    ring = np.asarray(msg.data).view(np.uint8).reshape(-1, 32)[:, 18:20].copy().view("<u2")
    assert sorted(set(ring.ravel())) == list(range(8))
    assert "xyzirt" in capsys.readouterr().out


def test_import_pcap_refuses_a_truncated_capture_and_a_wrong_table(tmp_path, capsys):
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(PCAP.read_bytes()[:5000])
    assert main(["import-pcap", str(cut), "--calibration", str(CAL),
                 "--out", str(tmp_path / "a")]) == 2
    assert "is truncated: record 4" in capsys.readouterr().err
    wrong = tmp_path / "ML30_like.cal"
    wrong.write_text("".join(f"{i} 1 2 3 4 5 6\n" for i in range(1, 10001)))
    assert main(["import-pcap", str(PCAP), "--calibration", str(wrong),
                 "--out", str(tmp_path / "b")]) == 2
    assert "is not an ML-30S-A1 angle table" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_import_bin_round_trip_equals_the_scans_in_name_order(tmp_path, capsys):
    rng = np.random.default_rng(7)
    scans = {name: np.column_stack([rng.uniform(-40, 40, (n, 3)), rng.uniform(0, 1, n)])
             .astype(np.float32) for name, n in (("000002.bin", 50), ("000000.bin", 3),
                                                 ("000001.bin", 1000))}
    for name, points in scans.items():
        write_scan_file(tmp_path / name, points)
    bag = tmp_path / "bag"
    assert main(["import-bin", str(tmp_path / "000002.bin"), str(tmp_path / "000000.bin"),
                 str(tmp_path / "000001.bin"), "--out", str(bag), "--rate", "4",
                 "--topic", "/kitti/points", "--frame-id", "velodyne"]) == 0
    clouds = list(read_clouds(bag))
    assert [c.topic for c in clouds] == ["/kitti/points"] * 3
    assert {c.frame_id for c in clouds} == {"velodyne"}
    assert np.diff([c.timestamp_ns for c in clouds]).tolist() == [250_000_000] * 2
    for cloud, name in zip(clouds, sorted(scans)):
        np.testing.assert_array_equal(cloud.points, scans[name])
    out = capsys.readouterr().out
    assert "3 clouds on /kitti/points in velodyne, 4 Hz from 000000.bin to 000002.bin" in out
    assert "3 clouds, points per cloud: min 3, mean 351, max 1000" in out


def test_import_bin_refuses_a_file_that_is_not_whole_points(tmp_path, capsys):
    write_scan_file(tmp_path / "000000.bin", np.zeros((5, 4), np.float32))
    bad = tmp_path / "000001.bin"
    bad.write_bytes(bytes(100))
    assert main(["import-bin", str(tmp_path), "--out", str(tmp_path / "bag")]) == 2
    assert "000001.bin has 100 bytes, not a multiple of 16" in capsys.readouterr().err
    assert not (tmp_path / "bag").exists()  # refused before anything was written
    assert main(["import-bin", str(bad), "--out", str(tmp_path / "bag2"), "--rate", "0"]) == 2
    assert "--rate must be > 0" in capsys.readouterr().err
