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
``tao-pointpillars import-pcap FILE.pcap --calibration FILE.cal --out BAG``.

A Zvision capture into the bag the vendor's ROS 2 driver would have recorded.

ML-30S-A1 only. Frames are assembled by UDP sequence (160 packets each), decoded a frame at a
time with numpy, and written on ``zvision_lidar_points`` in ``zvision_lidar`` exactly as the
ros2-foxy driver publishes them (+y forward, width 51,200, (0, 0, 0) where no return came,
``is_dense`` false); ``--layout xyzirt`` writes the newer zvlidar_sdk's layout instead. See
:mod:`tao_pointpillars_py.data.zvision_pcap` for the driver sources behind each fact.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..data.bags import CloudBagWriter, STORAGES
from ..data.scan_files import CloudSummary
from ..data.zvision_pcap import (assemble_frames, check_assembly, cloud_records, decode_frame,
                                 describe_assembly, DRIVER_FRAME_ID, DRIVER_TOPIC, frame_stamp,
                                 LAYOUTS, read_angle_table, read_udp_capture, STAMPS,
                                 UDP_DATA_PORT)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the import-pcap options."""
    parser.add_argument("pcap", type=Path, metavar="FILE.pcap",
                        help="classic libpcap capture of the lidar's UDP data (tcpdump -w)")
    parser.add_argument("--calibration", type=Path, required=True, metavar="FILE.cal",
                        help="the lidar's angle table (6400 lines for an ML-30S-A1)")
    parser.add_argument("--out", type=Path, required=True, metavar="BAG",
                        help="rosbag2 folder to write (must not exist)")
    parser.add_argument("--layout", choices=LAYOUTS, default="xyzi",
                        help="xyzi: the ros2-foxy driver's cloud (intensity FLOAT32 at 16, "
                             "masked to 0x3FF); xyzirt: the newer zvlidar_sdk's (intensity "
                             "UINT8, ring UINT16, timestamp FLOAT64)")
    parser.add_argument("--topic", default=DRIVER_TOPIC, help="cloud topic (driver default)")
    parser.add_argument("--frame-id", default=DRIVER_FRAME_ID,
                        help="header.frame_id (driver default)")
    parser.add_argument("--storage", choices=STORAGES, default="sqlite3")
    parser.add_argument("--stamp", choices=STAMPS, default="capture",
                        help="capture: pcap time of each frame's last packet (the live driver "
                             "stamps its receive time); lidar: the lidar's own time in the "
                             "first packet (the driver's use_lidar_time)")
    parser.add_argument("--udp-port", type=int, default=UDP_DATA_PORT,
                        help="the lidar's data port in the capture")


def run(args: argparse.Namespace) -> int:
    """Decode the capture frame by frame into a new bag and print what it holds."""
    capture = read_udp_capture(args.pcap, port=args.udp_port)
    table = read_angle_table(args.calibration)
    assembly = assemble_frames(capture)
    check_assembly(assembly, args.pcap, port=args.udp_port)
    for line in describe_assembly(assembly):
        print(f"warning: {line}")
    summary, elevations = CloudSummary(), []
    with CloudBagWriter(args.out, args.topic, args.frame_id, args.storage) as writer:
        for frame in tqdm(assembly.complete, desc="frames", unit="frame"):
            decoded = decode_frame(capture, frame, table)
            records = cloud_records(decoded, args.layout)
            writer.write_records(frame_stamp(decoded, args.stamp), records, is_dense=False)
            returns = decoded.returns
            summary.add(np.column_stack([decoded.xyz[returns],
                                         records["intensity"][returns].astype(np.float32)]))
            elevations.append(table.elevation_deg[returns])
    print(f"wrote {args.out} ({args.storage}): {len(assembly.complete)} frames of "
          f"{records.size} points ({args.layout}, point_step {records.dtype.itemsize}, "
          f"is_dense false) on {args.topic} in {args.frame_id}, stamped by {args.stamp} time; "
          f"{len(assembly.incomplete)} incomplete frames skipped, {capture.skipped} other "
          f"records in the capture")
    for line in summary.lines("points with a return"):
        print(f"  {line}")
    elevation = np.concatenate(elevations)
    print(f"  elevation of the returns: {elevation.min():.1f} .. {elevation.max():.1f} deg; "
          f"+y is forward (x = d cos(ele) sin(azi), y = d cos(ele) cos(azi))")
    return 0
