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

"""Solid primitives of a scene (yawed boxes, vertical cylinders, axis-aligned ellipsoids)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Sequence

import numpy as np

BOX, CYLINDER, ELLIPSOID = "box", "cylinder", "ellipsoid"


class Part(NamedTuple):
    """
    One primitive of an object, in the object's frame (x along heading, z up from its base).

    ``size`` is the full extent (dx, dy, dz) of the primitive's axis-aligned bounding box:
    a box's dimensions, a cylinder's (2r, 2r, height), an ellipsoid's doubled radii.
    """

    kind: str
    center: tuple[float, float, float]
    size: tuple[float, float, float]
    reflectance: float


@dataclass(frozen=True)
class Primitives:
    """
    World-frame primitives of one scene (float64), grouped by type.

    ``*_owner`` is the index of the labeled object a primitive belongs to, -1 for clutter.
    Boxes: centre (B, 3), half sizes (B, 3), yaw (B,). Cylinders (vertical): centre xy (C, 2),
    z range (C, 2) bottom/top, radius (C,). Ellipsoids (axis-aligned): centre (E, 3), radii
    (E, 3). Reflectances in [0, 1].
    """

    box_center: np.ndarray
    box_half: np.ndarray
    box_yaw: np.ndarray
    box_reflectance: np.ndarray
    box_owner: np.ndarray
    cyl_center: np.ndarray
    cyl_z: np.ndarray
    cyl_radius: np.ndarray
    cyl_reflectance: np.ndarray
    cyl_owner: np.ndarray
    ell_center: np.ndarray
    ell_radii: np.ndarray
    ell_reflectance: np.ndarray
    ell_owner: np.ndarray

    @property
    def counts(self) -> tuple[int, int, int]:
        """Number of boxes, cylinders and ellipsoids."""
        return (len(self.box_yaw), len(self.cyl_radius), len(self.ell_radii))

    @property
    def reflectance(self) -> np.ndarray:
        """(B + C + E,) reflectance by global primitive id: boxes, cylinders, ellipsoids."""
        return np.concatenate([self.box_reflectance, self.cyl_reflectance, self.ell_reflectance])

    @property
    def owner(self) -> np.ndarray:
        """(B + C + E,) int32 owner indexed by global primitive id."""
        return np.concatenate([self.box_owner, self.cyl_owner, self.ell_owner])


class PrimitiveBuilder:
    """Collects primitives in world coordinates and freezes them into :class:`Primitives`."""

    def __init__(self) -> None:
        self._boxes: list[tuple[float, ...]] = []
        self._cylinders: list[tuple[float, ...]] = []
        self._ellipsoids: list[tuple[float, ...]] = []

    def add_parts(self, parts: Sequence[Part], x: float, y: float, z_base: float, yaw: float,
                  owner: int) -> None:
        """Add an object's parts placed at (x, y, z_base) with heading ``yaw``."""
        c, s = np.cos(yaw), np.sin(yaw)
        for part in parts:
            lx, ly, lz = part.center
            wx, wy, wz = x + c * lx - s * ly, y + s * lx + c * ly, z_base + lz
            sx, sy, sz = part.size
            if part.kind == BOX:
                self._boxes.append((wx, wy, wz, sx / 2, sy / 2, sz / 2, yaw, part.reflectance,
                                    owner))
            elif part.kind == CYLINDER:
                self._cylinders.append((wx, wy, wz - sz / 2, wz + sz / 2, sx / 2,
                                        part.reflectance, owner))
            elif part.kind == ELLIPSOID:
                self._ellipsoids.append((wx, wy, wz, sx / 2, sy / 2, sz / 2, part.reflectance,
                                         owner))
            else:
                raise ValueError(f"unknown primitive kind {part.kind!r}")

    def build(self) -> Primitives:
        """Freeze the collected primitives into arrays."""
        b = np.array(self._boxes, dtype=np.float64).reshape(-1, 9)
        c = np.array(self._cylinders, dtype=np.float64).reshape(-1, 7)
        e = np.array(self._ellipsoids, dtype=np.float64).reshape(-1, 8)
        return Primitives(
            box_center=b[:, 0:3].copy(), box_half=b[:, 3:6].copy(), box_yaw=b[:, 6].copy(),
            box_reflectance=b[:, 7].copy(), box_owner=b[:, 8].astype(np.int32),
            cyl_center=c[:, 0:2].copy(), cyl_z=c[:, 2:4].copy(), cyl_radius=c[:, 4].copy(),
            cyl_reflectance=c[:, 5].copy(), cyl_owner=c[:, 6].astype(np.int32),
            ell_center=e[:, 0:3].copy(), ell_radii=e[:, 3:6].copy(),
            ell_reflectance=e[:, 6].copy(), ell_owner=e[:, 7].astype(np.int32))


def enclosing_extent(parts: Sequence[Part]) -> tuple[np.ndarray, np.ndarray]:
    """Object-frame (lower, upper) corners (3,) of the tight box around all ``parts``."""
    centers = np.array([p.center for p in parts], dtype=np.float64)
    halves = np.array([p.size for p in parts], dtype=np.float64) / 2
    return (centers - halves).min(axis=0), (centers + halves).max(axis=0)
