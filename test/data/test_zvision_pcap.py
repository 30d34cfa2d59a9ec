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

"""Tests of data.zvision_pcap on the vendor's real ML-30S-A1 capture (test/data_files/zvision)."""

from pathlib import Path
import struct

import numpy as np
import pytest

from tao_pointpillars_py.data.zvision_pcap import (
    assemble_frames, CaptureFormatError, check_assembly, cloud_records, decode_capture,
    decode_frame, describe_assembly, FOV_INDEX, frame_stamp, lidar_times_ns, POINTS_PER_FRAME,
    read_angle_table, read_udp_capture, XYZIRT_DTYPE)

ZVISION = Path(__file__).resolve().parents[1] / "data_files" / "zvision"
PCAP = ZVISION / "ML30S_A1_Default.pcap"
CAL = ZVISION / "ML30S_A1_Default.cal"
#: slots without a return in the capture's first frame (../shared/real_data/zvision/README.md)
EMPTY_SLOTS_FIRST_FRAME = 10_377


@pytest.fixture(scope="module")
def capture():
    return read_udp_capture(PCAP)


@pytest.fixture(scope="module")
def table():
    return read_angle_table(CAL)


@pytest.fixture(scope="module")
def frames(capture, table):
    return [decode_frame(capture, f, table) for f in assemble_frames(capture).complete]


def test_decode_capture_gives_every_complete_frame_and_its_returns_as_points(frames):
    decoded = decode_capture(PCAP, CAL)
    assert len(decoded) == len(frames) == 10
    for ours, theirs in zip(decoded, frames):
        np.testing.assert_array_equal(ours.xyz, theirs.xyz)
    points = decoded[0].return_points()
    assert points.dtype == np.float32 and points.shape == (
        POINTS_PER_FRAME - EMPTY_SLOTS_FIRST_FRAME, 4)
    np.testing.assert_array_equal(points[:, :3], frames[0].xyz[frames[0].returns])
    # the intensity column is the ros2-foxy driver's (masked to 0x3FF), as cloud_records has it
    np.testing.assert_array_equal(points[:, 3],
                                  cloud_records(frames[0])["intensity"][frames[0].returns])
    assert np.all(decoded[0].return_points(0x7)[:, 3] <= 7)


def pcap_records(path=PCAP):
    """(global header, [record bytes with their 16-byte headers]) of a little-endian pcap."""
    data = path.read_bytes()
    records, position = [], 24
    while position < len(data):
        included = struct.unpack_from("<I", data, position + 8)[0]
        records.append(data[position:position + 16 + included])
        position += 16 + included
    return data[:24], records


def test_capture_is_ten_complete_frames_of_160_packets(capture):
    assembly = assemble_frames(capture)
    assert capture.payloads.shape == (1600, 1304) and capture.skipped == 0
    assert len(assembly.complete) == 10 and not assembly.incomplete
    assert all(np.array_equal(capture.sequences[f.packets], np.arange(160))
               for f in assembly.complete)
    assert describe_assembly(assembly) == []


def test_first_frame_has_the_measured_returns_intensity_and_elevations(frames, table):
    first = frames[0]
    returns = first.returns
    assert returns.sum() == POINTS_PER_FRAME - EMPTY_SLOTS_FIRST_FRAME
    assert np.all(first.xyz[~returns] == 0)
    intensity = cloud_records(first)["intensity"][returns]
    assert (np.median(intensity), np.percentile(intensity, 99), intensity.max()) == (2, 45, 143)
    # vertical field of view: the table's -52.7 .. +21.0 deg, the returns nearly all of it
    assert table.elevation_deg.min() == pytest.approx(-52.7, abs=0.05)
    assert table.elevation_deg.max() == pytest.approx(21.0, abs=0.05)
    elevation = table.elevation_deg[returns]
    assert elevation.min() == pytest.approx(-52.7, abs=0.05) and 20 < elevation.max() <= 21.05


def test_every_frame_is_y_forward_with_the_measured_spans(frames):
    xyz = np.concatenate([f.xyz[f.returns] for f in frames])
    counts = [int(f.returns.sum()) for f in frames]
    assert all(abs(POINTS_PER_FRAME - c - EMPTY_SLOTS_FIRST_FRAME) < 150 for c in counts)
    (x_min, y_min, _), (x_max, y_max, _) = xyz.min(axis=0), xyz.max(axis=0)
    assert 0.1 < y_min < 0.3 and 53 < y_max < 55  # +y forward: almost nothing behind
    assert -21 < x_min < -19 and 13 < x_max < 15
    assert np.median(xyz[:, 1]) > 3 * abs(np.median(xyz[:, 0]))


def reference_point(payload, slot_in_packet, cal_line, laser):
    """RawData::unpack for one point, written out as the driver does (rawdata.cc:161-175)."""
    b0, b1, b2, b3 = payload[4 + 4 * slot_in_packet:8 + 4 * slot_in_packet]
    distance = ((((b0 << 8) + b1) << 3) + ((b2 & 0xE0) >> 5)) * 0.0015
    azimuth_deg, elevation_deg = cal_line[2 * FOV_INDEX[laser]:2 * FOV_INDEX[laser] + 2]
    azimuth = float(np.float32(float(np.float32(azimuth_deg)) / 180.0 * 3.1416))
    elevation = float(np.float32(float(np.float32(elevation_deg)) / 180.0 * 3.1416))
    return (distance * np.cos(elevation) * np.sin(azimuth),
            distance * np.cos(elevation) * np.cos(azimuth), distance * np.sin(elevation),
            (((b2 & 0x1F) << 8) + b3) & 0x3FF)


def test_vectorized_decoding_equals_the_driver_point_by_point(capture, frames):
    lines = [line.split()[1:] for line in CAL.read_text().splitlines()]
    frame = frames[3]
    rng = np.random.default_rng(0)
    for slot in rng.choice(POINTS_PER_FRAME, 400, replace=False):
        seq, in_packet = divmod(int(slot), 320)
        payload = [int(b) for b in capture.payloads[3 * 160 + seq]]
        group, laser = divmod(in_packet, 8)
        x, y, z, intensity = reference_point(payload, in_packet,
                                             [float(v) for v in lines[seq * 40 + group]], laser)
        np.testing.assert_allclose(frame.xyz[slot], [x, y, z], atol=2e-5)
        assert cloud_records(frame)["intensity"][slot] == intensity


def test_angle_table_is_reordered_per_group_as_the_driver_does(table):
    # line 1 pairs: ..., column 6 = (36.951, -14.753), column 7 = (71.132, -9.377)
    assert table.azimuth_deg[1] == pytest.approx(36.951) and FOV_INDEX[1] == 6
    assert table.elevation_deg[3] == pytest.approx(-9.377) and FOV_INDEX[3] == 7
    assert table.azimuth_deg[8] == pytest.approx(-39.345)  # line 2, column 0


def test_lidar_time_is_the_tail_ptp_time_and_capture_time_the_pcap_record(capture, frames):
    assert lidar_times_ns(capture.payloads[:1])[0] == 36_059_016_000  # unsynchronized PTP
    assert frame_stamp(frames[0], "lidar") == 36_059_016_000
    assert frame_stamp(frames[0]) == int(capture.capture_ns[159]) == 1_589_533_887_172_197_000
    gps = capture.payloads[:1].copy()
    gps[0, 2] &= 0xDF  # PTP bit off: the tail is year-2000, month, day, h, m, s, ms, us
    gps[0, -20:-10] = [20, 5, 15, 9, 11, 27, 0, 172, 0, 197]
    assert lidar_times_ns(gps)[0] == 1_589_533_887_172_197_000


def test_xyzirt_records_follow_the_sdk_layout(frames):
    records = cloud_records(frames[0], "xyzirt")
    assert records.dtype == XYZIRT_DTYPE and records.dtype.itemsize == 32
    assert list(records["ring"][:8]) == list(FOV_INDEX)
    assert records["intensity"].dtype == np.uint8
    times = records["timestamp"]
    assert times[0] == pytest.approx(36.059016) and times[1] - times[0] == pytest.approx(
        0.78125e-6, rel=1e-3)


def test_missing_packet_leaves_its_frame_incomplete_and_reported(tmp_path, table):
    header, records = pcap_records()
    cut = tmp_path / "lost.pcap"
    cut.write_bytes(header + b"".join(records[:205] + records[206:]))
    assembly = assemble_frames(read_udp_capture(cut))
    assert len(assembly.complete) == 9 and len(assembly.incomplete) == 1
    assert assembly.incomplete[0].missing == 1
    assert "frame 2 of the capture is incomplete (159 packets: 1 sequence numbers missing" in (
        describe_assembly(assembly)[0])


def test_truncated_capture_says_where_and_how_to_cut_it(tmp_path):
    data = PCAP.read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[:24 + 3 * 1362 + 700])
    with pytest.raises(CaptureFormatError, match=r"is truncated: record 4 at byte 4110 .*"
                       r"\(3 complete records.*editcap -r .* 1-3"):
        read_udp_capture(cut)


@pytest.mark.parametrize("content,message", [
    (b"\x0a\x0d\x0d\x0a" + bytes(40), "pcapng; convert it"),
    (b"GET / HTTP/1.1\r\n" + bytes(40), "not a libpcap capture"),
])
def test_other_files_are_refused(tmp_path, content, message):
    path = tmp_path / "x.pcap"
    path.write_bytes(content)
    with pytest.raises(CaptureFormatError, match=message):
        read_udp_capture(path)


def test_other_port_or_model_gives_no_frame_and_says_why(tmp_path):
    capture = read_udp_capture(PCAP, port=2369)
    assert capture.payloads.shape[0] == 0 and capture.skipped == 1600
    with pytest.raises(CaptureFormatError, match="no complete ML-30S-A1 frame.*UDP port 2369"):
        check_assembly(assemble_frames(capture), PCAP, port=2369)
    header, records = pcap_records()
    short = tmp_path / "ml30.pcap"  # sequences stop at 124 as an ML-30's do
    short.write_bytes(header + b"".join(r for i, r in enumerate(records) if i % 160 < 125))
    with pytest.raises(CaptureFormatError, match="sequences stop at 124: an ML-30"):
        check_assembly(assemble_frames(read_udp_capture(short)), short)


def test_wrong_angle_table_names_what_it_is(tmp_path):
    ml30 = tmp_path / "ml30.cal"
    ml30.write_text("".join(f"{i} 1 2 3 4 5 6\n" for i in range(1, 10001)))
    with pytest.raises(CaptureFormatError, match=r"10000 data lines of 7 columns.*6400 lines "
                       r"of 17.*ML-30 / ML30B1 table"):
        read_angle_table(ml30)
    garbled = tmp_path / "garbled.cal"
    garbled.write_text(CAL.read_text().replace("-39.324", "-39,324", 1))
    with pytest.raises(CaptureFormatError, match="an angle is not a number"):
        read_angle_table(garbled)
