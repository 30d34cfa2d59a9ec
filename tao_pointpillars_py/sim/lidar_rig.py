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
Several lidars around one vehicle, made from one simulated cloud: multi-lidar test data.

The simulated scan (lidar at the origin of ``base``) is cut into the views of lidars mounted
at ``Extrinsic`` poses: each view keeps the points inside that lidar's horizontal field of
view and expresses them in the lidar's own frame. Views of neighbouring lidars overlap, so an
object there is seen twice, as on the Zvision UGV with its four ML-30S (front, right, rear,
left). Occlusion is the origin's (the views come from one scan): good enough to test the
node's per-lidar answers and their fusion, not a sensor model.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.boxes import Extrinsic
from ..core.fusion import parse_extrinsics

#: the four lidars of the Zvision UGV bags: topic, frame, mounting "x y z roll pitch yaw"
#: (metres, degrees; a 70 deg yaw step gives 70 deg overlaps between 140 deg views)
UGV_LIDARS = (
    ("/ns1/zvision_lidar_points", "lidar_front 0.0 0.0 0.0 0 0 0"),
    ("/ns2/zvision_lidar_points", "lidar_right 0.0 -0.3 0.0 0 0 -70"),
    ("/ns3/zvision_lidar_points", "lidar_rear -0.3 0.0 0.0 0 0 180"),
    ("/ns4/zvision_lidar_points", "lidar_left 0.0 0.3 0.0 0 0 70"),
)
FIELD_OF_VIEW_DEG = 140.0


def rig_extrinsics(lidars: tuple[tuple[str, str], ...] = UGV_LIDARS) -> dict[str, Extrinsic]:
    """Parse the mountings of a rig, by frame id."""
    return parse_extrinsics([text for _, text in lidars])


def lidar_view(points: np.ndarray, extrinsic: Extrinsic,
               fov_deg: float = FIELD_OF_VIEW_DEG) -> np.ndarray:
    """Give the (M, 4) points of base-frame ``points`` (N, 4) that this lidar sees, its frame."""
    local = (points[:, :3].astype(np.float64) - extrinsic.translation) @ extrinsic.rotation
    azimuth = np.degrees(np.arctan2(local[:, 1], local[:, 0]))
    seen = (np.abs(azimuth) <= fov_deg / 2) & (local[:, 0] > 0)
    view = np.empty((int(seen.sum()), 4), dtype=np.float32)
    view[:, :3] = local[seen]
    view[:, 3] = points[seen, 3]
    return view


def views(points: np.ndarray, lidars: tuple[tuple[str, str], ...] = UGV_LIDARS,
          fov_deg: float = FIELD_OF_VIEW_DEG) -> dict[str, tuple[str, np.ndarray]]:
    """Cut one base-frame scan into each lidar's view: topic -> (frame_id, points)."""
    extrinsics = rig_extrinsics(lidars)
    result = {}
    for topic, text in lidars:
        frame_id = text.split()[0]
        result[topic] = (frame_id, lidar_view(points, extrinsics[frame_id], fov_deg))
    return result


def heading_deg(extrinsic: Extrinsic) -> float:
    """Give the lidar's heading in the base frame, degrees."""
    return math.degrees(extrinsic.heading)
