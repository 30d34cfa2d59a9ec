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
Box maths: corners, exact rotated IoU (BEV and 3D), anchor IoU, yaw quaternions and poses.

Boxes are ``(N, 7)`` arrays ``(x, y, z, dx, dy, dz, yaw)`` in metres / radians: (x, y, z) is the
box centre, dx lies along x at yaw 0 and yaw turns counter-clockwise from +x.

The rotated IoU is exact: each candidate pair's rectangles are intersected by clipping every edge
of one against the other (see :func:`paired_bev_intersection`), vectorized over all pairs at once.
Only pairs whose bounding circles overlap are clipped (:func:`overlapping_pairs`), so sparse
scenes cost far less than ``N * M`` clippings.

A frame's pose in another (a lidar's mounting, an :class:`Extrinsic`) moves points
(:func:`transform_points`) and upright boxes (:func:`transform_boxes`) between them;
orientations travel in ROS as (x, y, z, w) quaternions (:func:`yaw_quaternion`,
:func:`quaternion_yaw`, :func:`quaternion_matrix`).
"""

from __future__ import annotations

from dataclasses import dataclass
import math
from typing import cast, Optional, Sequence

import numpy as np

# Unit-square corners in counter-clockwise order, starting front-right.
_UNIT_CORNERS = np.array([[0.5, -0.5], [0.5, 0.5], [-0.5, 0.5], [-0.5, -0.5]])
_UNIT_X, _UNIT_Y = _UNIT_CORNERS[:, 0:1], _UNIT_CORNERS[:, 1:2]
# Planes of an axis-aligned rectangle in the order x <= hx, y <= hy, x >= -hx, y >= -hy, and the
# direction of the rectangle's edge on each when walked counter-clockwise.
_PLANE_DX = np.array([0.0, -1.0, 0.0, 1.0])[:, None, None]
_PLANE_DY = np.array([1.0, 0.0, -1.0, 0.0])[:, None, None]
#: Pairs per batch in :func:`paired_bev_intersection`.
_CHUNK = 4096


def limit_period(values: np.ndarray, offset: float = 0.5,
                 period: float = np.pi) -> np.ndarray:
    """Wrap ``values`` into ``[-offset * period, (1 - offset) * period)`` (OpenPCDet)."""
    values = np.asarray(values)
    return values - np.floor(values / period + offset) * period


def _as_boxes(boxes: np.ndarray, name: str) -> np.ndarray:
    boxes = np.asarray(boxes, dtype=np.float64)
    if boxes.ndim != 2 or boxes.shape[1] != 7:
        raise ValueError(f"{name} must have shape (N, 7) (x, y, z, dx, dy, dz, yaw), "
                         f"got {boxes.shape}")
    return boxes


def bev_corners(boxes: np.ndarray) -> np.ndarray:
    """BEV corners (N, 4, 2) float64 of boxes (N, 7), counter-clockwise from front-right, in m."""
    boxes = _as_boxes(boxes, "boxes")
    cos, sin = np.cos(boxes[:, 6]), np.sin(boxes[:, 6])
    local = _UNIT_CORNERS[None] * boxes[:, None, 3:5]             # (N, 4, 2)
    x = local[..., 0] * cos[:, None] - local[..., 1] * sin[:, None]
    y = local[..., 0] * sin[:, None] + local[..., 1] * cos[:, None]
    return np.stack([x, y], axis=-1) + boxes[:, None, 0:2]


def box_corners(boxes: np.ndarray) -> np.ndarray:
    """
    Corners (N, 8, 3) float64 of boxes (N, 7).

    Corners 0-3 are the bottom face, the :func:`bev_corners` at the bottom height; corners 4-7
    the top face in the same order.
    """
    boxes = _as_boxes(boxes, "boxes")
    corners = np.empty((boxes.shape[0], 8, 3), dtype=np.float64)
    corners[:, :4, :2] = corners[:, 4:, :2] = bev_corners(boxes)
    corners[:, :4, 2] = (boxes[:, 2] - boxes[:, 5] / 2.0)[:, None]
    corners[:, 4:, 2] = (boxes[:, 2] + boxes[:, 5] / 2.0)[:, None]
    return corners


def overlapping_pairs(a: np.ndarray, b: Optional[np.ndarray] = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """
    Index pairs (ia, ib), int64 (K,), of boxes whose BEV bounding circles overlap.

    With ``b`` None, pairs within ``a`` with ``ia < ib``. Boxes of ``b`` are hashed into square
    cells as wide as the largest circle diameter, so a box of ``a`` only needs the 3 x 3 cells
    around its own; no ``N x M`` matrix is formed. Pairs come sorted by ``ia``. Boxes with a
    non-finite centre or size overlap nothing.
    """
    within = b is None
    a = _as_boxes(a, "a")
    b = a if within else _as_boxes(cast(np.ndarray, b), "b")
    finite_a = np.isfinite(a[:, [0, 1, 3, 4]]).all(axis=1)
    finite_b = finite_a if within else np.isfinite(b[:, [0, 1, 3, 4]]).all(axis=1)
    if finite_a.all() and finite_b.all():
        return _circle_pairs(a, b, within)
    keep_a, keep_b = np.flatnonzero(finite_a), np.flatnonzero(finite_b)
    ia, ib = _circle_pairs(a[keep_a], b[keep_b], within)
    return keep_a[ia], keep_b[ib]


def _circle_pairs(a: np.ndarray, b: np.ndarray,
                  within: bool) -> tuple[np.ndarray, np.ndarray]:
    empty = np.zeros(0, dtype=np.int64)
    if len(a) == 0 or len(b) == 0:
        return empty, empty
    ra = 0.5 * np.hypot(a[:, 3], a[:, 4])
    rb = 0.5 * np.hypot(b[:, 3], b[:, 4])
    cell = 2.0 * max(float(ra.max()), float(rb.max()))
    if not cell > 0.0:
        return empty, empty
    low = np.minimum(a[:, :2].min(axis=0), b[:, :2].min(axis=0))
    cell_a = np.floor((a[:, :2] - low) / cell).astype(np.int64) + 1     # >= 1: room for -1
    cell_b = np.floor((b[:, :2] - low) / cell).astype(np.int64) + 1
    rows = int(max(cell_a[:, 1].max(), cell_b[:, 1].max())) + 2
    key_b = cell_b[:, 0] * rows + cell_b[:, 1]
    order = np.argsort(key_b, kind="stable")
    keys = key_b[order]
    # Cells (cx + d, cy - 1 .. cy + 1) are one contiguous key range for each d in -1, 0, 1.
    mid = (cell_a[:, 0:1] + np.array([-1, 0, 1])) * rows + cell_a[:, 1:2]   # (N, 3)
    lo = np.searchsorted(keys, mid - 1, side="left").ravel()
    counts = np.searchsorted(keys, mid + 1, side="right").ravel() - lo
    total = int(counts.sum())
    ia = np.repeat(np.repeat(np.arange(len(a), dtype=np.int64), 3), counts)
    rank = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    ib = order[np.repeat(lo, counts) + rank]
    if within:
        upper = ia < ib
        ia, ib = ia[upper], ib[upper]
    dx = a[:, 0][ia] - b[:, 0][ib]
    dy = a[:, 1][ia] - b[:, 1][ib]
    reach = ra[ia] + rb[ib]
    keep = dx * dx + dy * dy < reach * reach
    return ia[keep], ib[keep]


def paired_bev_intersection(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """
    BEV intersection area (K,) float64, m^2, of box ``a[k]`` with box ``b[k]`` (both (K, 7)).

    The boundary of the intersection of two convex polygons is made of the parts of each
    polygon's edges that lie inside the other one. Each edge is clipped (Liang-Barsky) against
    the other rectangle in that rectangle's own frame, where it is axis-aligned, and the area is
    the sum of ``cross(p, q) / 2`` over the clipped parts (Green's theorem). An edge lying on an
    edge of the other box with the same direction is counted once (from ``a``); with opposite
    directions (boxes touching from outside) it bounds no area and is dropped.
    """
    a, b = _as_boxes(a, "a"), _as_boxes(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"paired boxes need equal shapes, got {a.shape} and {b.shape}")
    if len(a) <= _CHUNK:
        return _intersection_chunk(a, b)
    # Chunks keep the (4, 4, K) temporaries in cache: about twice as fast as one big batch.
    return np.concatenate([_intersection_chunk(a[s:s + _CHUNK], b[s:s + _CHUNK])
                           for s in range(0, len(a), _CHUNK)])


def _intersection_chunk(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    dx, dy = b[:, 0] - a[:, 0], b[:, 1] - a[:, 1]
    cos_a, sin_a = np.cos(a[:, 6]), np.sin(a[:, 6])
    cos_b, sin_b = np.cos(b[:, 6]), np.sin(b[:, 6])
    cos_r, sin_r = cos_a * cos_b + sin_a * sin_b, sin_a * cos_b - cos_a * sin_b  # yaw_a - yaw_b
    b_in_a = (cos_a * dx + sin_a * dy, cos_a * dy - sin_a * dx)        # b's centre, a's frame
    a_in_b = (-(cos_b * dx + sin_b * dy), sin_b * dx - cos_b * dy)     # a's centre, b's frame
    eps = 1e-10 * (1.0 + np.maximum(a[:, 3:5].max(axis=1), b[:, 3:5].max(axis=1)))
    # Both sums take cross products about a's centre, so they add up.
    part_a = _clipped_edge_area(a_in_b, (cos_r, sin_r), a[:, 3], a[:, 4], 0.5 * b[:, 3],
                                0.5 * b[:, 4], a_in_b, eps, closed_when_parallel=True)
    zero = np.zeros(len(a))
    part_b = _clipped_edge_area(b_in_a, (cos_r, -sin_r), b[:, 3], b[:, 4], 0.5 * a[:, 3],
                                0.5 * a[:, 4], (zero, zero), eps, closed_when_parallel=False)
    return np.maximum(part_a + part_b, 0.0)


def _successor(values: np.ndarray, axis: int) -> np.ndarray:
    """Shift the corner ``axis`` (0 or 1) by one: the next corner's values, cyclically."""
    if axis == 0:
        return np.concatenate([values[1:], values[:1]], axis=0)
    return np.concatenate([values[:, 1:], values[:, :1]], axis=1)


def _clipped_edge_area(center: tuple[np.ndarray, np.ndarray],
                       rotation: tuple[np.ndarray, np.ndarray], size_x: np.ndarray,
                       size_y: np.ndarray, half_x: np.ndarray, half_y: np.ndarray,
                       origin: tuple[np.ndarray, np.ndarray], eps: np.ndarray,
                       closed_when_parallel: bool) -> np.ndarray:
    """
    Sum of cross(p - o, q - o) / 2 over the parts [p, q] of a box's edges inside a rectangle.

    All (K,) and in the rectangle's frame, where it spans ``[-half, half]``: the box has centre
    ``center``, rotation ``(cos, sin)`` and size ``(size_x, size_y)``; ``origin`` is o. Arrays
    are laid out (planes, edges, K) so that reductions run over short leading axes.
    """
    cos, sin = rotation
    lx, ly = _UNIT_X * size_x, _UNIT_Y * size_y                         # (4 corners, K)
    px = center[0] + cos * lx - sin * ly
    py = center[1] + sin * lx + cos * ly
    ex, ey = _successor(px, 0) - px, _successor(py, 0) - py            # edge i: corner i -> i+1
    slack = np.stack([half_x - px, half_y - py, half_x + px, half_y + py])  # >= 0: inside
    if closed_when_parallel:
        # A plane is closed (slack >= -eps) for an edge running along the rectangle's own edge
        # on it, open (slack >= eps) otherwise: a shared edge is counted once, on this side.
        same = (ex * _PLANE_DX + ey * _PLANE_DY) > 0.0
        tol = (2.0 * eps) * same - eps
    else:
        tol = -eps
    g0, g1 = slack + tol, _successor(slack, 1) + tol                  # at the edge's two ends
    in0, in1 = g0 >= 0.0, g1 >= 0.0
    a0, a1 = np.abs(g0), np.abs(g1)
    t = a0 / (a0 + a1 + 1e-300)                                        # where the edge crosses
    t_lo = (t * (in1 > in0)).max(axis=0)                               # last plane entered
    t_hi = 1.0 - ((1.0 - t) * (in0 > in1)).max(axis=0)                 # first plane left
    alive = (in0 | in1).all(axis=0) & (t_hi > t_lo)
    x0, y0 = px - origin[0], py - origin[1]
    ax, ay = x0 + t_lo * ex, y0 + t_lo * ey
    bx, by = x0 + t_hi * ex, y0 + t_hi * ey
    return 0.5 * ((ax * by - ay * bx) * alive).sum(axis=0)


def _z_overlap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Height overlap (K,) of paired boxes whose z is the box centre."""
    top = np.minimum(a[:, 2] + 0.5 * a[:, 5], b[:, 2] + 0.5 * b[:, 5])
    bottom = np.maximum(a[:, 2] - 0.5 * a[:, 5], b[:, 2] - 0.5 * b[:, 5])
    return np.maximum(top - bottom, 0.0)


def _rotated_iou(a: np.ndarray, b: np.ndarray, use_height: bool) -> np.ndarray:
    a, b = _as_boxes(a, "a"), _as_boxes(b, "b")
    iou = np.zeros((len(a), len(b)), dtype=np.float32)
    ia, ib = overlapping_pairs(a, b)
    if len(ia) == 0:
        return iou
    inter = paired_bev_intersection(a[ia], b[ib])
    size_a, size_b = a[ia, 3] * a[ia, 4], b[ib, 3] * b[ib, 4]
    if use_height:
        inter = inter * _z_overlap(a[ia], b[ib])
        size_a, size_b = size_a * a[ia, 5], size_b * b[ib, 5]
    union = size_a + size_b - inter
    iou[ia, ib] = np.where(union > 0.0, inter / np.where(union > 0.0, union, 1.0), 0.0)
    return iou


def rotated_iou_bev(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Exact bird's-eye-view IoU (N, M) float32 of rotated boxes a (N, 7) and b (M, 7)."""
    return _rotated_iou(a, b, use_height=False)


def rotated_iou_3d(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Exact 3D IoU (N, M) float32: BEV intersection x z-overlap / (vol_a + vol_b - inter)."""
    return _rotated_iou(a, b, use_height=True)


def nearest_bev_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """
    Axis-aligned BEV IoU (N, M) float32 after snapping each yaw to the nearest of 0, pi/2.

    Cheap approximation used for anchor matching (OpenPCDet ``boxes3d_nearest_bev_iou``).
    """
    a, b = _as_boxes(a, "a"), _as_boxes(b, "b")
    ea, eb = _nearest_aligned_extent(a), _nearest_aligned_extent(b)
    lo = np.maximum(ea[:, None, :2], eb[None, :, :2])
    hi = np.minimum(ea[:, None, 2:], eb[None, :, 2:])
    inter = np.prod(np.clip(hi - lo, 0.0, None), axis=2)
    area_a = np.prod(ea[:, 2:] - ea[:, :2], axis=1)
    area_b = np.prod(eb[:, 2:] - eb[:, :2], axis=1)
    union = area_a[:, None] + area_b[None] - inter
    iou = np.where(union > 0.0, inter / np.where(union > 0.0, union, 1.0), 0.0)
    return iou.astype(np.float32)


def _nearest_aligned_extent(boxes: np.ndarray) -> np.ndarray:
    """(x_min, y_min, x_max, y_max) (N, 4) of boxes with yaw snapped to 0 or pi/2."""
    swap = np.abs(limit_period(boxes[:, 6], 0.5, np.pi)) >= np.pi / 4
    size = np.where(swap[:, None], boxes[:, [4, 3]], boxes[:, 3:5])
    return np.concatenate([boxes[:, :2] - 0.5 * size, boxes[:, :2] + 0.5 * size], axis=1)


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


def quaternion_matrix(x: float, y: float, z: float, w: float) -> np.ndarray:
    """Rotation matrix (3, 3) float64 of a unit quaternion (x, y, z, w)."""
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]], dtype=np.float64)


@dataclass(frozen=True)
class Extrinsic:
    """Pose of a frame (a lidar's) in the base frame: rotation (3, 3) and translation (3,)."""

    frame_id: str
    rotation: np.ndarray
    translation: np.ndarray

    @classmethod
    def from_xyz_rpy(cls, frame_id: str, xyz: Sequence[float],
                     rpy_deg: Sequence[float]) -> Extrinsic:
        """Build from a translation [m] and roll, pitch, yaw [deg] (rotation Rz Ry Rx)."""
        roll, pitch, yaw = (math.radians(a) for a in rpy_deg)
        rx = np.array([[1, 0, 0], [0, math.cos(roll), -math.sin(roll)],
                       [0, math.sin(roll), math.cos(roll)]])
        ry = np.array([[math.cos(pitch), 0, math.sin(pitch)], [0, 1, 0],
                       [-math.sin(pitch), 0, math.cos(pitch)]])
        rz = np.array([[math.cos(yaw), -math.sin(yaw), 0], [math.sin(yaw), math.cos(yaw), 0],
                       [0, 0, 1]])
        return cls(frame_id, rz @ ry @ rx, np.asarray(xyz, dtype=np.float64))

    @classmethod
    def from_quaternion(cls, frame_id: str, xyz: Sequence[float],
                        xyzw: Sequence[float]) -> Extrinsic:
        """Build from a translation [m] and a unit quaternion (x, y, z, w), as tf2 gives them."""
        x, y, z, w = (float(v) for v in xyzw)
        return cls(frame_id, quaternion_matrix(x, y, z, w), np.asarray(xyz, dtype=np.float64))

    @property
    def heading(self) -> float:
        """Yaw [rad] of the frame's x axis in the base frame."""
        return math.atan2(float(self.rotation[1, 0]), float(self.rotation[0, 0]))

    @property
    def is_identity(self) -> bool:
        """Tell whether the pose moves nothing (within 1e-12): transforms may then be skipped."""
        return bool(np.allclose(self.rotation, np.eye(3), rtol=0.0, atol=1e-12)
                    and np.allclose(self.translation, 0.0, rtol=0.0, atol=1e-12))

    def inverse(self, frame_id: str) -> Extrinsic:
        """Give the base frame's pose in this frame, named ``frame_id`` (the inverse transform)."""
        rotation = self.rotation.T
        return Extrinsic(frame_id, rotation, -(rotation @ self.translation))


def transform_points(points: np.ndarray, extrinsic: Extrinsic) -> np.ndarray:
    """
    Move points (N, C >= 3) from the extrinsic's frame into the base frame; float32 (N, C).

    Columns 0-2 (x, y, z) are rotated and translated in float32 (about 1 ms for 51,200 points;
    a turn by a multiple of 90 degrees only swaps and negates them, the rounded zeros of the
    matrix add less than a float32 step to any non-zero coordinate); the other columns
    (intensity, ...) are copied unchanged.
    """
    points = np.asarray(points, dtype=np.float32)
    if points.ndim != 2 or points.shape[1] < 3:
        raise ValueError(f"points must have shape (N, >= 3) (x, y, z, ...), got {points.shape}")
    moved = np.empty_like(points)
    np.matmul(points[:, :3], extrinsic.rotation.T.astype(np.float32), out=moved[:, :3])
    moved[:, :3] += extrinsic.translation.astype(np.float32)
    moved[:, 3:] = points[:, 3:]
    return moved


def transform_boxes(boxes: np.ndarray, extrinsic: Extrinsic) -> np.ndarray:
    """
    Move boxes (N, 7) from the extrinsic's frame into the base frame; float64.

    Boxes stay upright: centres are transformed fully, yaw turns by the frame's heading and is
    wrapped into [-pi, pi). With a roll or pitch the box is only approximately the same box:
    its size is kept and it stays axis-aligned to the base frame's z.
    """
    boxes = _as_boxes(boxes, "boxes")
    moved = boxes.copy()
    moved[:, :3] = boxes[:, :3] @ extrinsic.rotation.T + extrinsic.translation
    moved[:, 6] = limit_period(boxes[:, 6] + extrinsic.heading, 0.5, 2 * math.pi)
    return moved
