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
Geometry and colours of RViz box markers, ROS-free (the node wraps them in messages).

Boxes are (N, 7) float32 (x, y, z, dx, dy, dz, yaw): centre, size along the box's own axes,
yaw counter-clockwise about +z from +x (TAO-PointPillars convention).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

#: The 12 edges of a box as pairs of corner indices (corners from :func:`box_corners_3d`):
#: bottom face, top face, then the four vertical edges.
BOX_EDGES = np.array([[0, 1], [1, 2], [2, 3], [3, 0],
                      [4, 5], [5, 6], [6, 7], [7, 4],
                      [0, 4], [1, 5], [2, 6], [3, 7]], dtype=np.int64)

#: RGBA in [0, 1] per known class name; other classes take :data:`FALLBACK_COLOURS` in turn.
CLASS_COLOURS: dict[str, tuple[float, float, float, float]] = {
    "Vehicle": (0.12, 0.56, 1.0, 1.0),     # blue
    "Pedestrian": (1.0, 0.55, 0.0, 1.0),   # orange
    "Cyclist": (0.2, 0.8, 0.2, 1.0),       # green
}
FALLBACK_COLOURS: tuple[tuple[float, float, float, float], ...] = (
    (0.85, 0.2, 0.85, 1.0), (1.0, 0.9, 0.1, 1.0), (0.1, 0.9, 0.9, 1.0), (0.9, 0.3, 0.3, 1.0))


def box_corners_3d(boxes: np.ndarray) -> np.ndarray:
    """
    Corners (N, 8, 3) float64 of boxes (N, 7).

    Corners 0-3 are the bottom face counter-clockwise seen from above, starting at the
    front-left (+dx/2, +dy/2); corners 4-7 are the top face in the same order.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 7)
    half = boxes[:, 3:6] / 2.0
    signs = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]], dtype=np.float64)
    local = signs[None, :, :] * half[:, None, :2]                       # (N, 4, 2)
    cos, sin = np.cos(boxes[:, 6])[:, None], np.sin(boxes[:, 6])[:, None]
    x = boxes[:, None, 0] + cos * local[..., 0] - sin * local[..., 1]
    y = boxes[:, None, 1] + sin * local[..., 0] + cos * local[..., 1]
    corners = np.empty((boxes.shape[0], 8, 3), dtype=np.float64)
    corners[:, :4, 0] = corners[:, 4:, 0] = x
    corners[:, :4, 1] = corners[:, 4:, 1] = y
    corners[:, :4, 2] = (boxes[:, 2] - half[:, 2])[:, None]
    corners[:, 4:, 2] = (boxes[:, 2] + half[:, 2])[:, None]
    return corners


def box_edge_points(boxes: np.ndarray) -> np.ndarray:
    """End points (N, 24, 3) of each box's 12 edges, pairwise, as a LINE_LIST marker wants."""
    corners = box_corners_3d(boxes)
    return corners[:, BOX_EDGES.reshape(-1), :]


def class_colours(class_names: Sequence[str]) -> list[tuple[float, float, float, float]]:
    """RGBA per class, fixed for the known classes and stable for others (by position)."""
    colours = []
    spare = 0
    for name in class_names:
        if name in CLASS_COLOURS:
            colours.append(CLASS_COLOURS[name])
        else:
            colours.append(FALLBACK_COLOURS[spare % len(FALLBACK_COLOURS)])
            spare += 1
    return colours


def yaw_quaternion(yaw: np.ndarray) -> np.ndarray:
    """Quaternions (N, 4) float64 as (x, y, z, w) of rotations by ``yaw`` (N,) about +z."""
    half = np.asarray(yaw, dtype=np.float64).reshape(-1) / 2.0
    quat = np.zeros((half.shape[0], 4), dtype=np.float64)
    quat[:, 2] = np.sin(half)
    quat[:, 3] = np.cos(half)
    return quat


def quaternion_yaw(x: float, y: float, z: float, w: float) -> float:
    """Yaw about +z of a quaternion (the inverse of :func:`yaw_quaternion` for pure yaw)."""
    return float(np.arctan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z)))
