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

"""Tests of tao_pointpillars_py.sim.lidar_rig: one scan cut into several lidars' views."""

import numpy as np

from tao_pointpillars_py.core.detections import Detections
from tao_pointpillars_py.core.fusion import to_base_frame
from tao_pointpillars_py.sim import simulate_frame
from tao_pointpillars_py.sim.lidar_rig import rig_extrinsics, UGV_LIDARS, views


def test_views_are_the_scan_seen_from_each_mounting():
    points = simulate_frame(3, 0).points
    cut = views(points)
    assert [frame for frame, _ in cut.values()] == [
        "lidar_front", "lidar_right", "lidar_rear", "lidar_left"]
    extrinsics = rig_extrinsics()
    for frame, view in cut.values():
        if frame == "lidar_rear":
            assert len(view) == 0  # the scan (+-70 deg about +x) has nothing behind
            continue
        azimuth = np.degrees(np.arctan2(view[:, 1], view[:, 0]))
        assert np.all(np.abs(azimuth) <= 70.0 + 1e-6)
        # back in the base frame, every point of a view is a point of the scan
        boxes = np.c_[view[:, :3], np.ones((len(view), 3)), np.zeros(len(view))]
        back = to_base_frame(Detections(boxes.astype(np.float32), np.ones(len(view)),
                                        np.zeros(len(view), np.int64)), extrinsics[frame])
        sample = back.boxes[::max(1, len(view) // 100), :3]
        gaps = np.linalg.norm(sample[:, None, :] - points[None, :, :3], axis=2).min(axis=1)
        assert gaps.max() < 1e-3
    front, left = len(cut[UGV_LIDARS[0][0]][1]), len(cut[UGV_LIDARS[3][0]][1])
    assert front > 1000 and left > 1000  # the sim's objects lie ahead: both lidars see them
