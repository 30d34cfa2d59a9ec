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
Zvision ML-30S-A1 UDP captures (classic libpcap) -> the clouds the vendor's ROS 2 driver publishes.

Every layout fact below follows the vendor driver, GitHub ``ZVISION-lidar/zvision_ros_driver``,
branch ``ros2-foxy`` (paths under ``zvision_lidar/``), and for ``--layout xyzirt`` the newer
zvlidar_sdk on branch ``IS1`` (paths under ``catkin_ws/src/zvlidar_sdk/zvlidar_sdk/src/``):

- ``zvision_lidar_driver/src/driver/zvision_driver.cpp`` (``driver.cpp`` below): 160 packets
  per ML30SA1 scan (116), slot ``i`` filled by the packet whose UDP sequence is ``i`` (295-310),
  the scan stamped with its last packet's stamp (321).
- ``zvision_lidar_driver/src/lib/input.cc``: the UDP payload starts 42 bytes into the frame
  (257); in pcap replay the packet stamp is the replay's wall clock (258), which an importer
  cannot reproduce, so :func:`frame_stamps` offers the capture time or the lidar's own time.
- ``zvision_lidar_pointcloud/src/lib/rawdata.cc`` (``rawdata.cc``) ``RawData::unpack``, the
  ML30SA1 case (147-218): sequence ``data[3] + ((data[2] & 0xF) << 8)`` (144), 40 groups of 8
  points of 4 bytes after a 4-byte header (149-151), point index ``seq*320 + group*8 + laser``
  (152-156), distance and reflectance bits (161-170, reflectance masked to ``0x3FF``), the
  +y-forward geometry (173-175); ``getTimeStampFromUdpPkt`` (512-553): the 20-byte tail.
- ``zvision_lidar_pointcloud/src/tools/tools.cc`` (``tools.cc``): ``ReadCalibrationFile``
  (207-477; the ML30SA1 table is 6400 lines of 17 columns, 393-412) and
  ``ComputeCalibrationData`` (499-519: the ``{0, 6, 1, 7, 2, 4, 3, 5}`` reorder and pi as
  3.1416).
- ``zvision_lidar_pointcloud/src/conversions/convert.cc`` (``convert.cc``): the published cloud,
  ``pcl::PointXYZI`` through ``pcl::toROSMsg`` (177), height 1, width 51,200, ``is_dense``
  false (106-109), topic ``zvision_lidar_points`` (57).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from pathlib import Path
import struct
from typing import Final, Literal

import numpy as np

from ..errors import PointPillarsError

#: UDP port the driver listens on
#: (``zvision_lidar_driver/include/zvision_lidar_driver/input.h:49``).
UDP_DATA_PORT: Final = 2368
#: payload bytes of one ML-30S-A1 packet (input.cc:31 packet_size; rawdata.cc:521 ``1304 - 20``).
PACKET_BYTES: Final = 1304
HEADER_BYTES: Final = 4  # rawdata.cc:151 ``data + 4``
TAIL_BYTES: Final = 20  # rawdata.cc:521 ``data[1304 - 20 + ...]``
GROUPS_PER_PACKET: Final = 40  # rawdata.cc:149
POINTS_PER_GROUP: Final = 8  # rawdata.cc:154
POINTS_PER_PACKET: Final = GROUPS_PER_PACKET * POINTS_PER_GROUP
PACKETS_PER_FRAME: Final = 160  # driver.cpp:116
POINTS_PER_FRAME: Final = PACKETS_PER_FRAME * POINTS_PER_PACKET  # 51,200, convert.cc:107
ANGLE_TABLE_LINES: Final = POINTS_PER_FRAME // POINTS_PER_GROUP  # 6400, tools.cc:393
#: laser k of a group takes the angle-table column FOV_INDEX[k] (tools.cc:502); the newer SDK
#: calls it the point's fov (packet.cpp:637, 1004).
FOV_INDEX: Final = (0, 6, 1, 7, 2, 4, 3, 5)
DISTANCE_UNIT_M: Final = 0.0015  # rawdata.cc:168
#: reflectance mask: ros2-foxy keeps 10 bits (rawdata.cc:170); master and the newer SDK 8
#: (SDK ``zvision_sdk/sdk/src/packet.cpp:1030``).
FOXY_INTENSITY_MASK: Final = 0x3FF
SDK_INTENSITY_MASK: Final = 0xFF
DRIVER_PI: Final = 3.1416  # tools.cc:508 ``/ 180.0 * 3.1416``
#: time between two fires of the 160-line scan mode [us] (SDK packet.cpp:704), a point's time
#: being its packet's lidar time plus this times its fire number in the packet (1068-1069).
FIRE_INTERVAL_US: Final = 1.5625 / 2.0
DRIVER_TOPIC: Final = "zvision_lidar_points"  # convert.cc:57
DRIVER_FRAME_ID: Final = "zvision_lidar"  # driver.cpp:28
LAYOUTS: Final = ("xyzi", "xyzirt")
STAMPS: Final = ("capture", "lidar")

#: The driver's cloud: pcl::PointXYZI through pcl::toROSMsg (convert.cc:177), 32 bytes a point.
XYZI_DTYPE: Final = np.dtype({"names": ["x", "y", "z", "intensity"],
                              "formats": ["<f4", "<f4", "<f4", "<f4"],
                              "offsets": [0, 4, 8, 16], "itemsize": 32})
#: The newer SDK's XYZIRT cloud (SDK ``util/translater.cpp:1111-1128``, 1234-1242).
XYZIRT_DTYPE: Final = np.dtype({"names": ["x", "y", "z", "intensity", "ring", "timestamp"],
                                "formats": ["<f4", "<f4", "<f4", "u1", "<u2", "<f8"],
                                "offsets": [0, 4, 8, 16, 18, 24], "itemsize": 32})

_PCAP_MAGICS: Final = {b"\xd4\xc3\xb2\xa1": ("<", 1_000), b"\xa1\xb2\xc3\xd4": (">", 1_000),
                       b"\x4d\x3c\xb2\xa1": ("<", 1), b"\xa1\xb2\x3c\x4d": (">", 1)}
_LINKTYPE_ETHERNET: Final = 1
_ETHERNET_BYTES: Final = 14


class CaptureFormatError(PointPillarsError, ValueError):
    """A capture or angle table is not what the ML-30S-A1 driver reads."""


@dataclass(frozen=True)
class UdpCapture:
    """The driver's UDP payloads of a capture, in capture order."""

    capture_ns: np.ndarray  #: (M,) int64 pcap record times [ns since the epoch]
    payloads: np.ndarray  #: (M, PACKET_BYTES) uint8
    skipped: int  #: records that are not UDP payloads of PACKET_BYTES to the port

    @property
    def sequences(self) -> np.ndarray:
        """UDP sequence number of each packet (rawdata.cc:144), (M,) int64."""
        return (self.payloads[:, 3].astype(np.int64)
                + ((self.payloads[:, 2].astype(np.int64) & 0x0F) << 8))


def _pcap_records(buffer: bytes, path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Walk the classic libpcap records: (data offsets, lengths, times [ns]) per record."""
    magic = buffer[:4]
    if magic == b"\x0a\x0d\x0d\x0a":
        raise CaptureFormatError(
            f"{path} is pcapng; convert it to classic pcap first: editcap -F pcap {path} OUT.pcap")
    if magic not in _PCAP_MAGICS or len(buffer) < 24:
        raise CaptureFormatError(f"{path} is not a libpcap capture (magic {magic.hex()})")
    order, ns_per_tick = _PCAP_MAGICS[magic]
    linktype = struct.unpack_from(order + "I", buffer, 20)[0] & 0x0FFFFFFF
    if linktype != _LINKTYPE_ETHERNET:
        raise CaptureFormatError(f"{path} has link type {linktype}; only Ethernet (1) captures, "
                                 f"as tcpdump -i <the lidar's interface> writes them, are read")
    offsets: list[int] = []
    lengths: list[int] = []
    times: list[int] = []
    position, record = 24, struct.Struct(order + "IIII")
    while position < len(buffer):  # one step per packet (never per point)
        if position + record.size > len(buffer):
            raise _truncated(path, len(offsets), position, record.size, len(buffer) - position)
        seconds, fraction, included, _ = record.unpack_from(buffer, position)
        start = position + record.size
        if start + included > len(buffer):
            raise _truncated(path, len(offsets), position, included, len(buffer) - start)
        offsets.append(start)
        lengths.append(included)
        times.append(seconds * 1_000_000_000 + fraction * ns_per_tick)
        position = start + included
    return (np.asarray(offsets, np.int64), np.asarray(lengths, np.int64),
            np.asarray(times, np.int64))


def _truncated(path: Path, complete: int, position: int, wanted: int,
               left: int) -> CaptureFormatError:
    return CaptureFormatError(
        f"{path} is truncated: record {complete + 1} at byte {position} needs {wanted} bytes, "
        f"only {left} are left ({complete} complete records before it); copy the capture again, "
        f"or cut it to its complete records: editcap -r {path} OUT.pcap 1-{complete}")


def read_udp_capture(path: str | Path, port: int = UDP_DATA_PORT) -> UdpCapture:
    """
    Read the UDP payloads of PACKET_BYTES sent to ``port`` from a classic libpcap file.

    Ethernet frames (with or without one 802.1Q tag), IPv4 with any header length, no
    fragments; the driver itself reads 42 bytes into every frame (input.cc:257). The record
    headers are walked once; the packet headers are parsed for all packets at once.
    """
    path = Path(path)
    buffer = path.read_bytes()
    offsets, lengths, times = _pcap_records(buffer, path)
    data = np.frombuffer(buffer, dtype=np.uint8)
    big_enough = lengths >= _ETHERNET_BYTES + 20 + 8 + PACKET_BYTES  # headers read stay inside
    start = offsets[big_enough]

    def u16(at: np.ndarray) -> np.ndarray:
        return (data[at].astype(np.int64) << 8) | data[at + 1]

    tagged = u16(start + 12) == 0x8100
    ip = start + _ETHERNET_BYTES + 4 * tagged
    ip_header = (data[ip] & 0x0F).astype(np.int64) * 4
    udp = ip + ip_header
    keep = ((u16(ip - 2) == 0x0800) & (data[ip] >> 4 == 4) & (data[ip + 9] == 17)
            & (u16(ip + 6) & 0x3FFF == 0) & (u16(udp + 2) == port)
            & (u16(udp + 4) == PACKET_BYTES + 8)
            & (udp + 8 + PACKET_BYTES <= start + lengths[big_enough]))
    first_byte = udp[keep] + 8
    payloads = data[first_byte[:, None] + np.arange(PACKET_BYTES)]
    return UdpCapture(times[big_enough][keep], payloads, int(offsets.size - keep.sum()))


@dataclass(frozen=True)
class AngleTable:
    """Per point slot (POINTS_PER_FRAME,): the driver's float32 sines and cosines, degrees."""

    sin_azimuth: np.ndarray
    cos_azimuth: np.ndarray
    sin_elevation: np.ndarray
    cos_elevation: np.ndarray
    azimuth_deg: np.ndarray
    elevation_deg: np.ndarray


def read_angle_table(path: str | Path) -> AngleTable:
    """
    Read an ML-30S-A1 ``.cal`` file as ``ReadCalibrationFile`` + ``ComputeCalibrationData`` do.

    6400 lines (tools.cc:393), each a group number then 8 (azimuth, elevation) pairs in degrees
    (17 columns, tools.cc:398-410); slot ``group*8 + k`` takes pair ``FOV_INDEX[k]`` of its line
    (tools.cc:501-509). Angles are float32 radians of ``deg / 180 * 3.1416`` (tools.cc:508-509)
    with float32 sines and cosines (tools.cc:513-517), as the driver computes them.
    """
    path = Path(path)
    lines = [line for line in path.read_text(encoding="ascii", errors="replace").splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    columns = sorted({len(line.split()) for line in lines})
    hint = ""
    if len(lines) == 10000 and columns == [7]:
        hint = " (10000 lines of 7 columns is an ML-30 / ML30B1 table, tools.cc:364-391)"
    if len(lines) != ANGLE_TABLE_LINES or columns != [17]:
        raise CaptureFormatError(
            f"{path} is not an ML-30S-A1 angle table: it has {len(lines)} data lines of "
            f"{'/'.join(map(str, columns)) or 'no'} columns, the ML-30S-A1's has "
            f"{ANGLE_TABLE_LINES} lines of 17 (a group number, then 8 azimuth/elevation pairs in "
            f"degrees){hint}; pass the .cal file that came with this lidar")
    try:
        values = np.array([line.split()[1:] for line in lines], dtype=np.float64)
    except ValueError as error:
        raise CaptureFormatError(f"{path}: an angle is not a number ({error})") from error
    by_group = values.astype(np.float32).reshape(ANGLE_TABLE_LINES, POINTS_PER_GROUP, 2)
    pairs = by_group[:, list(FOV_INDEX), :].reshape(POINTS_PER_FRAME, 2)
    radians = (pairs.astype(np.float64) / 180.0 * DRIVER_PI).astype(np.float32)
    azimuth, elevation = radians[:, 0], radians[:, 1]
    return AngleTable(np.sin(azimuth), np.cos(azimuth), np.sin(elevation), np.cos(elevation),
                      pairs[:, 0].astype(np.float64), pairs[:, 1].astype(np.float64))


@dataclass(frozen=True)
class FrameSlice:
    """One run of packets between two sequence wraps: their capture indices, in order."""

    packets: np.ndarray  #: (K,) indices into the capture
    missing: int  #: sequence numbers 0..159 that no packet of the run carries
    repeated: int  #: packets whose sequence number an earlier packet of the run had

    @property
    def complete(self) -> bool:
        """Whether every sequence 0..159 came, once."""
        return self.missing == 0 and self.repeated == 0


@dataclass(frozen=True)
class FrameAssembly:
    """A capture split into frames by sequence wraps."""

    frames: list[FrameSlice]
    out_of_range: int = 0  #: packets with a sequence number above 159 (dropped)
    highest_sequence: int = -1
    complete: list[FrameSlice] = field(init=False)
    incomplete: list[FrameSlice] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "complete", [f for f in self.frames if f.complete])
        object.__setattr__(self, "incomplete", [f for f in self.frames if not f.complete])


def assemble_frames(capture: UdpCapture) -> FrameAssembly:
    """
    Split the capture's packets into frames: a new frame starts where the sequence goes back.

    The driver fills slot ``i`` of a scan with the next packet whose sequence is ``i``
    (driver.cpp:282-317); a frame here is complete when it holds each of 0..159 once.
    Sequences above 159 mean another model (the ML-30's run to 124 with another layout) and
    are counted, not decoded.
    """
    sequences = capture.sequences
    in_range = np.flatnonzero(sequences < PACKETS_PER_FRAME)
    ordered = sequences[in_range]
    breaks = np.flatnonzero(np.diff(ordered) < 0) + 1
    frames = []
    for run in np.split(np.arange(ordered.size), breaks) if ordered.size else []:
        seen = np.bincount(ordered[run], minlength=PACKETS_PER_FRAME)
        frames.append(FrameSlice(in_range[run], int((seen == 0).sum()),
                                 int(np.maximum(seen - 1, 0).sum())))
    return FrameAssembly(frames, int(sequences.size - in_range.size),
                         int(sequences.max()) if sequences.size else -1)


@dataclass(frozen=True)
class DecodedFrame:
    """One frame as the driver decodes it, slot ``i`` being point ``i`` (POINTS_PER_FRAME,)."""

    xyz: np.ndarray  #: (51200, 3) float32, (0, 0, 0) where no return came or no packet
    reflectance: np.ndarray  #: (51200,) uint16, the 13 raw reflectance bits
    distance_m: np.ndarray  #: (51200,) float64, 0 where no return
    point_time_s: np.ndarray  #: (51200,) float64 lidar time of each point (SDK), 0 if no packet
    capture_ns: int  #: capture time of the frame's last packet
    lidar_ns: int  #: lidar time of the frame's first packet (its tail, rawdata.cc:512-553)

    @property
    def returns(self) -> np.ndarray:
        """Boolean (51200,): slots that hold a return (distance > 0)."""
        return self.distance_m > 0

    def return_points(self, intensity_mask: int = FOXY_INTENSITY_MASK) -> np.ndarray:
        """(N, 4) float32 x, y, z, intensity of the slots with a return (the driver's frame)."""
        returns = self.returns
        intensity = (self.reflectance[returns] & intensity_mask).astype(np.float32)
        return np.column_stack([self.xyz[returns], intensity]).astype(np.float32)


def lidar_times_ns(payloads: np.ndarray) -> np.ndarray:
    """
    Each packet's own timestamp from its 20-byte tail (rawdata.cc:512-553), int64 [ns].

    PTP when ``data[2] & 0x20``: 6-byte seconds, then milliseconds and microseconds (517-532);
    otherwise GPS: year - 2000, month, day, hour, minute, second, ms, us (535-552).
    """
    tail = payloads[:, PACKET_BYTES - TAIL_BYTES:].astype(np.int64)
    sub_ns = ((tail[:, 6] << 8) + tail[:, 7]) * 1_000_000 + ((tail[:, 8] << 8) + tail[:, 9]) * 1000
    ptp_seconds = np.zeros(len(tail), np.int64)
    for byte in range(6):
        ptp_seconds = (ptp_seconds << 8) + tail[:, byte]
    ptp = (payloads[:, 2] & 0x20) != 0
    gps_seconds = np.array([0 if is_ptp else calendar.timegm(
        (2000 + int(t[0]), int(t[1]), int(t[2]), int(t[3]), int(t[4]), int(t[5])))
        for is_ptp, t in zip(ptp, tail)], dtype=np.int64)
    return np.where(ptp, ptp_seconds, gps_seconds) * 1_000_000_000 + sub_ns


def decode_frame(capture: UdpCapture, frame: FrameSlice, table: AngleTable) -> DecodedFrame:
    """
    Decode one frame's packets at once, as ``RawData::unpack`` does per point.

    distance ``((b0 << 8 | b1) << 3 | b2 >> 5) * 0.0015`` m (rawdata.cc:161-168), reflectance
    ``(b2 & 0x1F) << 8 | b3`` (169), x = d cos(ele) sin(azi), y = d cos(ele) cos(azi),
    z = d sin(ele) (173-175): +y forward. Slots of missing packets stay (0, 0, 0), as the
    driver leaves them (rawdata.cc:216 "not filled when pkt loss").
    """
    payloads = capture.payloads[frame.packets]
    sequences = capture.sequences[frame.packets]
    body = payloads[:, HEADER_BYTES:HEADER_BYTES + 4 * POINTS_PER_PACKET].reshape(
        -1, POINTS_PER_PACKET, 4).astype(np.int64)
    raw_distance = (((body[..., 0] << 8) + body[..., 1]) << 3) + ((body[..., 2] & 0xE0) >> 5)
    slots = (sequences[:, None] * POINTS_PER_PACKET + np.arange(POINTS_PER_PACKET)).reshape(-1)
    distance = np.zeros(POINTS_PER_FRAME)
    distance[slots] = raw_distance.reshape(-1) * DISTANCE_UNIT_M
    reflectance = np.zeros(POINTS_PER_FRAME, np.uint16)
    reflectance[slots] = (((body[..., 2] & 0x1F) << 8) + body[..., 3]).reshape(-1)
    horizontal = distance * table.cos_elevation  # double * float, as in C++
    xyz = np.column_stack([horizontal * table.sin_azimuth, horizontal * table.cos_azimuth,
                           distance * table.sin_elevation]).astype(np.float32)
    packet_ns = lidar_times_ns(payloads)
    fire_us = np.arange(POINTS_PER_PACKET) * FIRE_INTERVAL_US  # fire_index is 0..7 (653)
    point_time = np.zeros(POINTS_PER_FRAME)
    point_time[slots] = (packet_ns[:, None] * 1e-9 + fire_us * 1e-6).reshape(-1)
    return DecodedFrame(xyz, reflectance, distance, point_time,
                        int(capture.capture_ns[frame.packets[-1]]), int(packet_ns[0]))


def decode_capture(pcap: str | Path, calibration: str | Path,
                   port: int = UDP_DATA_PORT) -> list[DecodedFrame]:
    """Decode every complete frame of a capture (what ``import-pcap`` writes, without a bag)."""
    capture = read_udp_capture(pcap, port=port)
    table = read_angle_table(calibration)
    return [decode_frame(capture, frame, table) for frame in assemble_frames(capture).complete]


def cloud_records(frame: DecodedFrame,
                  layout: Literal["xyzi", "xyzirt"] = "xyzi") -> np.ndarray:
    """
    Give the frame as the driver's PointCloud2 records (51,200 of 32 bytes).

    ``xyzi``: what ros2-foxy publishes, intensity FLOAT32 masked to 0x3FF (rawdata.cc:170,176).
    ``xyzirt``: the newer SDK's, intensity UINT8 masked to 0xFF, ring the point's fov id
    (its default ring type, SDK ``processor/processor.cpp:323``; ``util/translater.cpp:1235``),
    timestamp FLOAT64 seconds of the point's lidar time (translater.cpp:1242).
    """
    if layout not in LAYOUTS:
        raise CaptureFormatError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    records = np.zeros(POINTS_PER_FRAME, XYZI_DTYPE if layout == "xyzi" else XYZIRT_DTYPE)
    for column, name in enumerate("xyz"):
        records[name] = frame.xyz[:, column]
    if layout == "xyzi":
        records["intensity"] = frame.reflectance & FOXY_INTENSITY_MASK
    else:
        records["intensity"] = frame.reflectance & SDK_INTENSITY_MASK
        records["ring"] = np.tile(np.asarray(FOV_INDEX, np.uint16),
                                  POINTS_PER_FRAME // POINTS_PER_GROUP)
        records["timestamp"] = frame.point_time_s
    return records


def frame_stamp(frame: DecodedFrame, stamp: Literal["capture", "lidar"] = "capture") -> int:
    """
    Header stamp of a frame [ns]: ``capture`` or ``lidar``.

    ``capture``: the pcap time of the frame's last packet, as the live driver stamps a scan
    with its last packet's receive time (driver.cpp:321). ``lidar``: the first packet's own
    timestamp, the driver's ``use_lidar_time`` (convert.cc:141-145); a lidar whose PTP clock
    never synchronized counts from 1970 (the vendor's sample capture: 36 s).
    """
    if stamp not in STAMPS:
        raise CaptureFormatError(f"stamp must be one of {STAMPS}, got {stamp!r}")
    return frame.capture_ns if stamp == "capture" else frame.lidar_ns


def describe_assembly(assembly: FrameAssembly) -> list[str]:
    """Lines on frames that cannot be decoded: incomplete ones and other models' packets."""
    lines = []
    for number, frame in enumerate(assembly.frames):
        if not frame.complete:
            lines.append(f"frame {number + 1} of the capture is incomplete ({frame.packets.size} "
                         f"packets: {frame.missing} sequence numbers missing, {frame.repeated} "
                         f"repeated); skipped")
    if assembly.out_of_range:
        lines.append(f"{assembly.out_of_range} packets carry sequence numbers up to "
                     f"{assembly.highest_sequence}, above the ML-30S-A1's 0..159; skipped")
    return lines


def check_assembly(assembly: FrameAssembly, path: str | Path, port: int = UDP_DATA_PORT) -> None:
    """Raise what to do when the capture holds no complete ML-30S-A1 frame."""
    if assembly.complete:
        return
    seen = sum(f.packets.size for f in assembly.frames) + assembly.out_of_range
    model = ""
    if 0 < assembly.highest_sequence < PACKETS_PER_FRAME - 1:
        model = (f"; sequences stop at {assembly.highest_sequence}: an ML-30 sends 125 packets a "
                 f"frame in another layout (driver.cpp:78), not supported")
    raise CaptureFormatError(
        f"{path} holds no complete ML-30S-A1 frame (160 packets, sequences 0..159) among its "
        f"{seen} packets of {PACKET_BYTES} bytes to UDP port {port}{model}; "
        f"check the capture is of an ML-30S-A1's data port")
