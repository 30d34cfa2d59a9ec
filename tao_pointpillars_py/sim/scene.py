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
Random street scenes: ground, road-side structures, labeled objects and clutter.

A road with a random heading (mostly along +x) runs past the sensor, with optional kerbs,
walls / fences and buildings along its sides. Vehicles mostly drive along it, cyclists near
its edges, pedestrians mostly on the sidewalks; the rest are placed uniformly in the
detection region with any heading. Nothing overlaps in bird's-eye view: every footprint is
covered by a chain of circles tested against everything placed before. Labeled objects are
never placed behind tall structures, and 75 % of them only where their BEV line of sight
neither crosses nor is crossed by an earlier labeled object's footprint (the rest may be
occluded), so most labeled objects receive points.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

from . import shapes
from .config import SimConfig
from .ground import Ground
from .primitives import BOX, enclosing_extent, Part, PrimitiveBuilder, Primitives

_MARGIN = 0.15          # free space kept around every footprint (m)
_TRIES = 40             # placement attempts per item
_SEGMENT = 4.0          # long structures are split so each piece follows the ground
_SINK = 0.12            # long structures are sunk this far so no gap shows under them
_P_SIGHT = 0.75         # share of labeled objects placed in clear BEV line of sight


@dataclass(frozen=True)
class Scene:
    """One frame's world: ground, primitives, and labeled boxes (M, 7) / labels (M,)."""

    ground: Ground
    primitives: Primitives
    boxes: np.ndarray
    labels: np.ndarray


def _circles(x: float, y: float, yaw: float, dx: float, dy: float) -> np.ndarray:
    """(K, 3) circles (cx, cy, r) covering the rectangle footprint, plus the margin."""
    long_, short = (dx, dy) if dx >= dy else (dy, dx)
    axis = yaw if dx >= dy else yaw + np.pi / 2
    k = max(1, int(np.ceil(long_ / max(short, 0.5))))
    step = long_ / k
    offsets = (np.arange(k) - (k - 1) / 2) * step
    radius = np.hypot(step / 2, short / 2) + _MARGIN
    return np.stack([x + offsets * np.cos(axis), y + offsets * np.sin(axis),
                     np.full(k, radius)], axis=1)


class _Occupancy:
    """BEV circles of everything placed so far (the sensor's own spot included)."""

    def __init__(self) -> None:
        self.circles = np.array([[0.0, 0.0, 2.0]])

    def fits(self, circles: np.ndarray) -> bool:
        d = np.hypot(circles[:, None, 0] - self.circles[None, :, 0],
                     circles[:, None, 1] - self.circles[None, :, 1])
        return bool(np.all(d >= circles[:, None, 2] + self.circles[None, :, 2]))

    def add(self, circles: np.ndarray) -> None:
        self.circles = np.concatenate([self.circles, circles])


@dataclass(frozen=True)
class _Road:
    yaw: float
    center: float         # lateral offset of the centre line from the sensor
    half_width: float
    sidewalk: float

    def to_world(self, s: float, lateral: float) -> tuple[float, float]:
        c, si = np.cos(self.yaw), np.sin(self.yaw)
        return c * s - si * lateral, si * s + c * lateral


class _Placer:
    def __init__(self, rng: np.random.Generator, config: SimConfig, ground: Ground,
                 road: _Road) -> None:
        self.rng, self.config, self.ground, self.road = rng, config, ground, road
        self.occupancy = _Occupancy()
        self.builder = PrimitiveBuilder()
        self.boxes: list[np.ndarray] = []
        self.labels: list[int] = []
        self.walls = np.zeros((0, 5))   # tall structures (cx, cy, yaw, half dx, half dy)
        self.seen_circles = np.zeros((0, 3))    # footprints of labeled objects
        self.seen_centers = np.zeros((0, 2))

    def in_region(self, x: float, y: float) -> bool:
        c = self.config
        return (c.region_x[0] <= x <= c.region_x[1] and abs(y) <= c.region_y_abs
                and abs(np.degrees(np.arctan2(y, x))) < c.region_azimuth_deg)

    def candidate(self, band: tuple[float, float] | None, outside: bool
                  ) -> tuple[float, float]:
        """Draw a position in the road's lateral ``band``, uniform in the region, or outside."""
        u, c = self.rng.uniform, self.config
        if outside:
            x, y = u(-10.0, c.region_x[1] + 25.0), u(-c.region_y_abs - 12, c.region_y_abs + 12)
            return (x, y) if not self.in_region(x, y) else (np.nan, np.nan)
        if band is not None:
            x, y = self.road.to_world(u(-5.0, c.region_x[1] + 5.0), u(min(band), max(band)))
        else:
            x, y = u(*c.region_x), u(-c.region_y_abs, c.region_y_abs)
        return (x, y) if self.in_region(x, y) and self.visible(x, y) else (np.nan, np.nan)

    def visible(self, x: float, y: float) -> bool:
        """Whether no tall structure cuts the BEV line of sight from the sensor to (x, y)."""
        if not len(self.walls):
            return True
        cx, cy, yaw, hx, hy = self.walls.T
        c, s = np.cos(yaw), np.sin(yaw)
        ox, oy = -(c * cx + s * cy), -(-s * cx + c * cy)
        dx, dy = c * x + s * y, -s * x + c * y
        with np.errstate(divide="ignore", invalid="ignore"):
            tx1, tx2 = (-hx - ox) / dx, (hx - ox) / dx
            ty1, ty2 = (-hy - oy) / dy, (hy - oy) / dy
        near = np.fmax(np.fmin(tx1, tx2), np.fmin(ty1, ty2))
        far = np.fmin(np.fmax(tx1, tx2), np.fmax(ty1, ty2))
        return not np.any((near <= far) & (far >= 0.0) & (near <= 1.0))

    def place(self, parts: list[Part], footprint: tuple[float, float, float, float],
              poses: Iterable[tuple[float, float, float]], owner: int, sight: bool = False
              ) -> tuple[float, float, float, float] | None:
        """
        Put ``parts`` at the first free pose (x, y, yaw); footprint (cx, cy, dx, dy).

        With ``sight``, a pose is also rejected where the object would hide, or be hidden by,
        a labeled object placed earlier. Returns the pose used as (x, y, z_base, yaw), or None
        when no pose was free.
        """
        fx, fy, dx, dy = footprint
        for x, y, yaw in poses:
            if not np.isfinite(x):
                continue
            c, s = np.cos(yaw), np.sin(yaw)
            circles = _circles(x + c * fx - s * fy, y + s * fx + c * fy, yaw, dx, dy)
            if self.occupancy.fits(circles) and (not sight or self.clear_sight(x, y, circles)):
                self.occupancy.add(circles)
                if owner >= 0:
                    self.seen_circles = np.concatenate([self.seen_circles, circles])
                    self.seen_centers = np.concatenate([self.seen_centers, [[x, y]]])
                z = float(self.ground.height(x, y))
                self.builder.add_parts(parts, x, y, z, yaw, owner)
                return x, y, z, yaw
        return None

    def clear_sight(self, x: float, y: float, circles: np.ndarray) -> bool:
        """
        Whether BEV sight lines to (x, y) and to earlier labeled objects stay unblocked.

        A sight line counts as blocked where it passes through the inner 70 % of a footprint
        circle, so partial occlusion stays possible.
        """
        def blocked(targets: np.ndarray, discs: np.ndarray) -> bool:
            if not len(targets) or not len(discs):
                return False
            q = discs[None, :, :2]
            p = targets[:, None, :]
            t = np.clip((q * p).sum(-1) / np.maximum((p * p).sum(-1), 1e-9), 0.0, 1.0)
            dist = np.linalg.norm(q - t[..., None] * p, axis=-1)
            return bool(np.any((dist < 0.7 * discs[None, :, 2]) & (t < 1.0)))

        return not (blocked(np.array([[x, y]]), self.seen_circles)
                    or blocked(self.seen_centers, circles))

    def _poses(self, band: tuple[float, float] | None, p_structured: float,
               along_road: float) -> Iterator[tuple[float, float, float]]:
        rng = self.rng
        for _ in range(_TRIES):
            outside = rng.random() < self.config.outside_fraction
            structured = band is not None and rng.random() < p_structured
            x, y = self.candidate(band if structured else None, outside)
            if structured and rng.random() < along_road:
                yaw: float = self.road.yaw + np.pi * rng.integers(2) + rng.normal(0.0, 0.05)
            else:
                yaw = rng.uniform(-np.pi, np.pi)
            yield x, y, yaw

    def labeled(self, label: int, shape: shapes.Shape, band: tuple[float, float] | None,
                p_structured: float, along_road: float) -> None:
        """Place a labeled object; ``along_road``: chance its heading follows the road."""
        bc, bs = shape.box_center, shape.box_size
        pose = self.place(shape.parts, (bc[0], bc[1], bs[0], bs[1]),
                          self._poses(band, p_structured, along_road), len(self.labels),
                          sight=self.rng.random() < _P_SIGHT)
        if pose is not None:
            x, y, z, yaw = pose
            c, s = np.cos(yaw), np.sin(yaw)
            self.boxes.append(np.array([x + c * bc[0] - s * bc[1], y + s * bc[0] + c * bc[1],
                                        z + bc[2], bs[0], bs[1], bs[2],
                                        (yaw + np.pi) % (2 * np.pi) - np.pi]))
            self.labels.append(label)

    def clutter(self, bands: list[tuple[float, float]]) -> None:
        """Place one unlabeled item, mostly on the sidewalks."""
        rng = self.rng
        parts = shapes.clutter(rng)
        lo, hi = enclosing_extent(parts)
        center, size = (lo + hi) / 2, hi - lo

        def poses() -> Iterator[tuple[float, float, float]]:
            for _ in range(_TRIES):
                band = bands[rng.integers(len(bands))] if rng.random() < 0.6 else None
                x, y = self.candidate(band, outside=rng.random() < 0.15)
                yield x, y, rng.uniform(-np.pi, np.pi)

        self.place(parts, (center[0], center[1], size[0], size[1]), poses(), -1)

    def structure(self, s0: float, length: float, lateral: float, width: float,
                  height: float, reflectance: float) -> None:
        """Build a long low-or-tall box along the road, split into ground-following segments."""
        n = max(1, int(np.ceil(length / _SEGMENT)))
        seg = length / n
        part = Part(BOX, (0.0, 0.0, (height - _SINK) / 2), (seg, width, height + _SINK),
                    reflectance)
        for i in range(n):
            x, y = self.road.to_world(s0 + (i + 0.5) * seg, lateral)
            pose = self.place([part], (0.0, 0.0, seg, width), [(x, y, self.road.yaw)], -1)
            if pose is not None and height > 1.0:
                self.walls = np.concatenate(
                    [self.walls, [[x, y, self.road.yaw, seg / 2, width / 2]]])


def _road_side(placer: _Placer, rng: np.random.Generator, road: _Road) -> None:
    u = rng.uniform
    for side in (-1.0, 1.0):
        edge = road.center + side * road.half_width
        if rng.random() < 0.5:
            placer.structure(u(-10.0, 10.0), u(15.0, 50.0), edge + side * 0.1, 0.2,
                             u(0.1, 0.18), u(0.2, 0.5))
        if rng.random() < 0.6:
            thick = u(0.1, 0.35)
            placer.structure(u(-10.0, 20.0), u(8.0, 45.0),
                             edge + side * (road.sidewalk + thick / 2), thick, u(0.8, 3.0),
                             u(0.15, 0.8))
        if rng.random() < 0.3:
            depth = u(5.0, 15.0)
            placer.structure(u(-5.0, 30.0), u(8.0, 30.0),
                             edge + side * (road.sidewalk + u(1.0, 4.0) + depth / 2), depth,
                             u(3.0, 10.0), u(0.2, 0.7))


def sample_scene(rng: np.random.Generator, config: SimConfig) -> Scene:
    """Draw one scene; labeled objects first so clutter fills the gaps around them."""
    u = rng.uniform
    ground = Ground.sample(rng, config)
    yaw = rng.normal(0.0, 0.07) if rng.random() < 0.7 else u(-np.pi / 2, np.pi / 2)
    half = u(3.5, 9.0)
    road = _Road(yaw=yaw, center=u(-0.6, 0.6) * half, half_width=half, sidewalk=u(2.0, 5.0))
    placer = _Placer(rng, config, ground, road)
    _road_side(placer, rng, road)
    lanes = (road.center - half + 1.0, road.center + half - 1.0)
    walks = [(road.center + side * (half + 0.3), road.center + side * (half + road.sidewalk - 0.3))
             for side in (-1.0, 1.0)]
    edges = [(road.center + side * (half - 1.5), road.center + side * (half - 0.3))
             for side in (-1.0, 1.0)]
    counts = [rng.integers(lo, hi + 1) for lo, hi in
              (config.num_vehicles, config.num_pedestrians, config.num_cyclists)]
    for _ in range(counts[0]):
        placer.labeled(0, shapes.vehicle(rng), lanes, 0.7, 0.9)
    for _ in range(counts[2]):
        placer.labeled(2, shapes.cyclist(rng), edges[rng.integers(2)], 0.6, 0.9)
    for _ in range(counts[1]):
        placer.labeled(1, shapes.pedestrian(rng), walks[rng.integers(2)], 0.5, 0.6)
    for _ in range(rng.integers(config.num_distractors[0], config.num_distractors[1] + 1)):
        placer.clutter(walks)
    boxes = np.array(placer.boxes, dtype=np.float32).reshape(-1, 7)
    return Scene(ground, placer.builder.build(), boxes, np.array(placer.labels, np.int64))
