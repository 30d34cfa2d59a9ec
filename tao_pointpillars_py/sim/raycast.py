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
Vectorized ray casting from the sensor origin against primitives and the ground.

Each primitive is tested only against the rays of the (row, column) block of the ray grid
(or of the cells of a bucketed :class:`~.lidar.RaySet`) that its angular bounds cover, so a
frame costs (rays x primitives) work only where a primitive can be hit. Intersections run as
flat (pair,) float64 arrays per primitive type; the nearest hit per ray wins, which gives
occlusion for free.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .ground import Ground
from .lidar import RayGrid, RaySet
from .primitives import Primitives

NO_HIT = -1
GROUND_HIT = -2
_EPS = 1e-6


class Hits(NamedTuple):
    """
    Nearest hit per ray.

    ``range`` (R,) float64 metres (inf = none), ``primitive`` (R,) int64 global id into
    :attr:`Primitives.reflectance` (or ``GROUND_HIT`` / ``NO_HIT``), ``cos_incidence`` (R,)
    float64 |cos| of the angle between the ray and the surface normal.
    """

    range: np.ndarray  # noqa: A003 (public field name, a builtin only as a class attribute)
    primitive: np.ndarray
    cos_incidence: np.ndarray


def _wrap(angle: np.ndarray) -> np.ndarray:
    return (angle + np.pi) % (2 * np.pi) - np.pi


def _elevation_bounds(z_lo: np.ndarray, z_hi: np.ndarray, d_min: np.ndarray,
                      d_max: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    el_hi = np.arctan2(z_hi, np.where(z_hi > 0, d_min, d_max))
    el_lo = np.arctan2(z_lo, np.where(z_lo < 0, d_min, d_max))
    return el_lo, el_hi


def _circle_bounds(cx: np.ndarray, cy: np.ndarray, radius: np.ndarray, z_lo: np.ndarray,
                   z_hi: np.ndarray) -> tuple[np.ndarray, ...]:
    """Azimuth and elevation bounds of solids inside vertical cylinders (conservative)."""
    d = np.hypot(cx, cy)
    inside = d <= radius
    half = np.arcsin(np.clip(radius / np.maximum(d, _EPS), 0.0, 1.0))
    az_c = np.arctan2(cy, cx)
    az_lo = np.where(inside, -np.pi, az_c - half)
    az_hi = np.where(inside, np.pi, az_c + half)
    el_lo, el_hi = _elevation_bounds(z_lo, z_hi, np.maximum(d - radius, 0.0), d + radius)
    return az_lo, az_hi, el_lo, el_hi


def _box_bounds(p: Primitives) -> tuple[np.ndarray, ...]:
    """Exact azimuth bounds (footprint corners) and conservative elevation bounds of boxes."""
    cx, cy = p.box_center[:, 0], p.box_center[:, 1]
    hx, hy = p.box_half[:, 0], p.box_half[:, 1]
    c, s = np.cos(p.box_yaw), np.sin(p.box_yaw)
    sx = np.array([1.0, 1.0, -1.0, -1.0])
    sy = np.array([1.0, -1.0, 1.0, -1.0])
    lx, ly = hx[:, None] * sx, hy[:, None] * sy
    wx = cx[:, None] + c[:, None] * lx - s[:, None] * ly
    wy = cy[:, None] + s[:, None] * lx + c[:, None] * ly
    az_c = np.arctan2(cy, cx)
    rel = _wrap(np.arctan2(wy, wx) - az_c[:, None])
    ox, oy = -(c * cx + s * cy), -(-s * cx + c * cy)   # origin in the box frame
    inside = (np.abs(ox) <= hx) & (np.abs(oy) <= hy)
    az_lo = np.where(inside, -np.pi, az_c + rel.min(axis=1))
    az_hi = np.where(inside, np.pi, az_c + rel.max(axis=1))
    d_min = np.hypot(np.maximum(np.abs(ox) - hx, 0.0), np.maximum(np.abs(oy) - hy, 0.0))
    d_max = np.hypot(wx, wy).max(axis=1)
    z = p.box_center[:, 2]
    el_lo, el_hi = _elevation_bounds(z - p.box_half[:, 2], z + p.box_half[:, 2], d_min, d_max)
    return az_lo, az_hi, el_lo, el_hi


def _blocks(bounds: tuple[np.ndarray, ...], grid: RayGrid | RaySet, max_jitter: float
            ) -> tuple[np.ndarray, ...]:
    """Column and row ranges [lo, hi) of the grid cells each primitive's bounds cover."""
    az_lo, az_hi, el_lo, el_hi = bounds
    pad_az = 1.0 + max_jitter / grid.azimuth_step
    pad_el = 1.0 + max_jitter / grid.elevation_step
    c_lo = np.floor((az_lo - grid.azimuth_start) / grid.azimuth_step - pad_az)
    c_hi = np.ceil((az_hi - grid.azimuth_start) / grid.azimuth_step + pad_az) + 1
    r_lo = np.floor((grid.elevation_start - el_hi) / grid.elevation_step - pad_el)
    r_hi = np.ceil((grid.elevation_start - el_lo) / grid.elevation_step + pad_el) + 1
    c_lo = np.clip(c_lo, 0, grid.num_azimuth).astype(np.int64)
    c_hi = np.clip(c_hi, 0, grid.num_azimuth).astype(np.int64)
    r_lo = np.clip(r_lo, 0, grid.num_elevation).astype(np.int64)
    r_hi = np.clip(r_hi, 0, grid.num_elevation).astype(np.int64)
    return c_lo, c_hi, r_lo, r_hi


def _cell_pairs(blocks: tuple[np.ndarray, ...], num_azimuth: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """(cell index, primitive index) int64 pairs of every cell in each primitive's block."""
    c_lo, c_hi, r_lo, r_hi = blocks
    width = np.maximum(c_hi - c_lo, 0)
    count = width * np.maximum(r_hi - r_lo, 0)
    prim = np.repeat(np.arange(len(count)), count)
    local = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    w = width[prim]
    cell = (r_lo[prim] + local // w) * num_azimuth + c_lo[prim] + local % w
    return cell, prim


def _pairs(bounds: tuple[np.ndarray, ...], grid: RayGrid | RaySet
           ) -> tuple[np.ndarray, np.ndarray]:
    """(ray index, primitive index) int64 pairs of every ray in each primitive's block."""
    if isinstance(grid, RayGrid):   # one ray per cell: the cell index is the ray index
        return _cell_pairs(_blocks(bounds, grid, grid.max_jitter), grid.num_azimuth)
    cell, prim = _cell_pairs(_blocks(bounds, grid, 0.0), grid.num_azimuth)
    first, count = grid.cell_start[cell], np.diff(grid.cell_start)[cell]
    local = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    return grid.order[np.repeat(first, count) + local], np.repeat(prim, count)


def _intersect_boxes(d: np.ndarray, p: Primitives, prim: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Slab test in each box's frame; returns t (P,) (inf = miss) and |cos| (P,)."""
    yaw = p.box_yaw[prim]
    c, s = np.cos(yaw), np.sin(yaw)
    center, half = p.box_center[prim], p.box_half[prim]
    dl = np.stack([c * d[:, 0] + s * d[:, 1], -s * d[:, 0] + c * d[:, 1], d[:, 2]], axis=1)
    ol = -np.stack([c * center[:, 0] + s * center[:, 1],
                    -s * center[:, 0] + c * center[:, 1], center[:, 2]], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / dl
        t1 = (-half - ol) * inv
        t2 = (half - ol) * inv
    t_min = np.fmin(t1, t2)
    axis = np.argmax(t_min, axis=1)
    t_near = np.take_along_axis(t_min, axis[:, None], axis=1)[:, 0]
    t_far = np.fmax(t1, t2).min(axis=1)
    hit = (t_near <= t_far) & (t_near > _EPS)
    t = np.where(hit, t_near, np.inf)
    cos = np.abs(np.take_along_axis(dl, axis[:, None], axis=1)[:, 0])
    return t, cos


def _intersect_cylinders(d: np.ndarray, p: Primitives, prim: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Vertical finite cylinders: side (nearer root) and the cap facing the ray."""
    cx, cy = p.cyl_center[prim, 0], p.cyl_center[prim, 1]
    z0, z1, r = p.cyl_z[prim, 0], p.cyl_z[prim, 1], p.cyl_radius[prim]
    dx, dy, dz = d[:, 0], d[:, 1], d[:, 2]
    a = np.maximum(dx * dx + dy * dy, _EPS)
    b = -2.0 * (dx * cx + dy * cy)
    cc = cx * cx + cy * cy - r * r
    disc = b * b - 4.0 * a * cc
    with np.errstate(invalid="ignore"):
        t_side = (-b - np.sqrt(disc)) / (2.0 * a)
    z_side = t_side * dz
    side_ok = (disc >= 0) & (t_side > _EPS) & (z_side >= z0) & (z_side <= z1)
    t_side = np.where(side_ok, t_side, np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_cap = np.where(dz < 0, z1, z0) / dz
        cap_ok = ((t_cap > _EPS) & ((t_cap * dx - cx) ** 2 + (t_cap * dy - cy) ** 2 <= r * r))
    t_cap = np.where(cap_ok, t_cap, np.inf)
    use_cap = t_cap < t_side
    t = np.where(use_cap, t_cap, t_side)
    with np.errstate(invalid="ignore"):
        cos_side = np.abs(dx * (t_side * dx - cx) + dy * (t_side * dy - cy)) / r
    cos = np.where(use_cap, np.abs(dz), cos_side)
    return t, np.nan_to_num(cos)


def _intersect_ellipsoids(d: np.ndarray, p: Primitives, prim: np.ndarray
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Axis-aligned ellipsoids via scaling to the unit sphere."""
    center, radii = p.ell_center[prim], p.ell_radii[prim]
    ds = d / radii
    os_ = -center / radii
    a = np.einsum("ij,ij->i", ds, ds)
    b = 2.0 * np.einsum("ij,ij->i", ds, os_)
    cc = np.einsum("ij,ij->i", os_, os_) - 1.0
    disc = b * b - 4.0 * a * cc
    with np.errstate(invalid="ignore"):
        t = (-b - np.sqrt(disc)) / (2.0 * a)
    ok = (disc >= 0) & (t > _EPS)
    t = np.where(ok, t, np.inf)
    normal = (np.where(ok, t, 0.0)[:, None] * d - center) / (radii * radii)
    norm = np.maximum(np.linalg.norm(normal, axis=1), _EPS)
    cos = np.abs(np.einsum("ij,ij->i", d, normal)) / norm
    return t, cos


def cast(grid: RayGrid | RaySet, primitives: Primitives, ground: Ground, max_range: float) -> Hits:
    """Nearest hit of every ray of ``grid`` within ``max_range`` metres."""
    best_t, best_cos = ground.intersect(grid.directions)
    best_t = np.where(best_t <= max_range, best_t, np.inf)
    best_id = np.where(np.isfinite(best_t), GROUND_HIT, NO_HIT).astype(np.int64)
    p = primitives
    n_box, n_cyl, _ = p.counts
    jobs = (
        (_box_bounds(p), _intersect_boxes, 0),
        (_circle_bounds(p.cyl_center[:, 0], p.cyl_center[:, 1], p.cyl_radius,
                        p.cyl_z[:, 0], p.cyl_z[:, 1]), _intersect_cylinders, n_box),
        (_circle_bounds(p.ell_center[:, 0], p.ell_center[:, 1], p.ell_radii[:, :2].max(axis=1),
                        p.ell_center[:, 2] - p.ell_radii[:, 2],
                        p.ell_center[:, 2] + p.ell_radii[:, 2]),
         _intersect_ellipsoids, n_box + n_cyl),
    )
    rays, ts, ids, coss = [], [], [], []
    for bounds, intersect, offset in jobs:
        ray, prim = _pairs(bounds, grid)
        if len(ray) == 0:
            continue
        t, cos = intersect(grid.directions[ray], p, prim)
        keep = t <= max_range
        rays.append(ray[keep])
        ts.append(t[keep])
        ids.append(prim[keep] + offset)
        coss.append(cos[keep])
    if rays:
        ray, t, gid, cos = (np.concatenate(x) for x in (rays, ts, ids, coss))
        np.minimum.at(best_t, ray, t)
        win = t == best_t[ray]
        best_id[ray[win]] = gid[win]
        best_cos[ray[win]] = cos[win]
    return Hits(best_t, best_id, best_cos)
