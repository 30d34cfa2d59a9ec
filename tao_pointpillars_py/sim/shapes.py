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
Object shapes built from primitives, in the object's frame (x along heading, z up from base).

Labeled shapes return their ground-truth box as (centre (3,), size (3,)) in the same frame;
for vehicles it is the tight box around the parts, for pedestrians and cyclists the sampled
annotation-style box (which contains every part).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .primitives import BOX, CYLINDER, ELLIPSOID, enclosing_extent, Part


class Shape(NamedTuple):
    """Parts of one object and its ground-truth box (object frame, metres)."""

    parts: list[Part]
    box_center: np.ndarray
    box_size: np.ndarray


def _shape(parts: list[Part], nominal: tuple[float, float, float] | None = None) -> Shape:
    lo, hi = enclosing_extent(parts)
    if nominal is not None:
        half = np.array(nominal[:2]) / 2
        lo = np.minimum(lo, [-half[0], -half[1], 0.0])
        hi = np.maximum(hi, [half[0], half[1], nominal[2]])
    return Shape(parts, (lo + hi) / 2, hi - lo)


def _box(x: float, y: float, z: float, dx: float, dy: float, dz: float, refl: float) -> Part:
    return Part(BOX, (x, y, z), (dx, dy, dz), refl)


def _cyl(x: float, y: float, z0: float, z1: float, r: float, refl: float) -> Part:
    return Part(CYLINDER, (x, y, (z0 + z1) / 2), (2 * r, 2 * r, z1 - z0), refl)


def _sphere(x: float, y: float, z: float, r: float, refl: float) -> Part:
    return Part(ELLIPSOID, (x, y, z), (2 * r, 2 * r, 2 * r), refl)


def vehicle(rng: np.random.Generator) -> Shape:
    """Car (70 %), van (20 %) or truck (10 %): wheels, lower body and cabin / cargo boxes."""
    u = rng.uniform
    kind = rng.choice(3, p=[0.7, 0.2, 0.1])
    body = u(0.2, 0.9)
    glass = max(0.05, body * u(0.3, 0.6))
    tyre = u(0.05, 0.12)
    if kind == 2:
        length, width, height = u(6.5, 9.0), u(2.3, 2.6), u(2.8, 3.5)
        clear, wheel = u(0.35, 0.5), u(0.9, 1.05)
    elif kind == 1:
        length, width, height = u(4.8, 5.6), u(1.9, 2.1), u(1.9, 2.3)
        clear, wheel = u(0.18, 0.28), u(0.65, 0.75)
    else:
        length, width, height = u(3.8, 4.9), u(1.6, 1.9), u(1.4, 1.65)
        clear, wheel = u(0.13, 0.22), u(0.58, 0.7)
    axle = length / 2 - u(0.7, 0.95) - (0.6 if kind == 2 else 0.0)
    wy = width / 2 - 0.13
    parts = [_box(sx * axle, sy * wy, wheel / 2, wheel, 0.22, wheel, tyre)
             for sx in (-1, 1) for sy in (-1, 1)]
    if kind == 2:
        top = clear + u(0.5, 0.7)
        parts.append(_box(0.0, 0.0, (clear + top) / 2, length, width - 0.1, top - clear, tyre))
        cab = u(1.8, 2.4)
        cab_top = height * u(0.8, 0.92)
        parts.append(_box(length / 2 - cab / 2, 0.0, (top + cab_top) / 2, cab, width,
                          cab_top - top, body))
        cargo = length - cab - 0.3
        parts.append(_box(-length / 2 + cargo / 2, 0.0, (top + height) / 2, cargo, width,
                          height - top, u(0.2, 0.9)))
        return _shape(parts)
    belt = height * (u(0.45, 0.55) if kind == 1 else u(0.55, 0.65))
    parts.append(_box(0.0, 0.0, (clear + belt) / 2, length, width, belt - clear, body))
    cabin = length * (u(0.75, 0.88) if kind == 1 else u(0.45, 0.6))
    shift = -(length - cabin) / 2 + u(0.0, 0.1) if kind == 1 else length * u(-0.12, 0.04)
    parts.append(_box(shift, 0.0, (belt + height) / 2, cabin, width - u(0.08, 0.2),
                      height - belt, glass))
    return _shape(parts)


def pedestrian(rng: np.random.Generator) -> Shape:
    """Two legs and two arms (vertical cylinders), a torso box and a spherical head."""
    u = rng.uniform
    dx, dy, dz = u(0.5, 0.9), u(0.5, 0.7), u(1.5, 1.9)
    clothes, skin = u(0.2, 0.6), u(0.2, 0.5)
    r_leg, r_arm, r_head = u(0.06, 0.09), u(0.04, 0.05), u(0.1, 0.12)
    hip = dz * u(0.45, 0.5)
    shoulder = dz - 2 * r_head - u(0.03, 0.06)
    phase = u(-1.0, 1.0)
    stride = phase * (dx / 2 - r_leg)
    leg_y = u(0.07, 0.11)
    torso_w = max(0.28, dy - 4 * r_arm - 0.02)
    torso_d = u(0.18, 0.28)
    arm_y = min(torso_w / 2 + r_arm + 0.01, dy / 2 - r_arm)
    swing = -phase * (dx / 2 - r_arm) * 0.6
    legs = u(0.15, 0.5)
    parts = [
        _cyl(stride, leg_y, 0.0, hip, r_leg, legs),
        _cyl(-stride, -leg_y, 0.0, hip, r_leg, legs),
        _box(0.0, 0.0, (hip * 0.95 + shoulder) / 2, torso_d, torso_w, shoulder - hip * 0.95,
             clothes),
        _cyl(swing, arm_y, hip + 0.05, shoulder, r_arm, clothes),
        _cyl(-swing, -arm_y, hip + 0.05, shoulder, r_arm, clothes),
        _sphere(0.0, 0.0, dz - r_head, r_head, skin),
    ]
    if rng.random() < 0.3 and torso_d / 2 + 0.15 <= dx / 2:
        parts.append(_box(-torso_d / 2 - 0.07, 0.0, shoulder - 0.25, 0.14, 0.3, 0.4,
                          u(0.1, 0.7)))
    return _shape(parts, (dx, dy, dz))


def cyclist(rng: np.random.Generator) -> Shape:
    """Bicycle (two wheel plates, frame, handlebar) with a rider (legs, torso, arms, head)."""
    u = rng.uniform
    dx, dy, dz = u(1.6, 1.9), u(0.5, 0.8), u(1.6, 1.9)
    frame, clothes, tyre = u(0.2, 0.7), u(0.2, 0.6), u(0.05, 0.12)
    wheel = u(0.6, 0.7)
    axle = dx / 2 - wheel / 2
    bar_z, bar_w = u(0.95, 1.05), min(u(0.45, 0.6), dy)
    bar_x = axle - 0.12
    saddle = u(0.85, 0.95)
    r_head = u(0.1, 0.12)
    shoulder = dz - 2 * r_head - u(0.03, 0.06)
    torso_w = min(0.4, dy - 0.12)
    parts = [
        _box(axle, 0.0, wheel / 2, wheel, 0.05, wheel, tyre),
        _box(-axle, 0.0, wheel / 2, wheel, 0.05, wheel, tyre),
        _box(0.0, 0.0, wheel / 2 + 0.15, 2 * axle, 0.06, 0.3, frame),
        _box(bar_x, 0.0, (wheel / 2 + bar_z) / 2, 0.05, 0.05, bar_z - wheel / 2, frame),
        _box(bar_x, 0.0, bar_z, 0.05, bar_w, 0.05, frame),
        _cyl(-0.1, 0.1, 0.3, saddle, 0.06, clothes),
        _cyl(0.05, -0.1, 0.3, saddle, 0.06, clothes),
        _box(-0.05, 0.0, saddle + (shoulder - saddle) * 0.25, 0.26, torso_w,
             (shoulder - saddle) * 0.5, clothes),
        _box(0.1, 0.0, saddle + (shoulder - saddle) * 0.75, 0.26, torso_w,
             (shoulder - saddle) * 0.5, clothes),
        _box((0.1 + bar_x) / 2, torso_w / 2 + 0.03, (shoulder + bar_z) / 2, bar_x - 0.1, 0.06,
             shoulder - bar_z, clothes),
        _box((0.1 + bar_x) / 2, -torso_w / 2 - 0.03, (shoulder + bar_z) / 2, bar_x - 0.1, 0.06,
             shoulder - bar_z, clothes),
        _sphere(0.15, 0.0, dz - r_head, r_head, u(0.2, 0.5)),
    ]
    return _shape(parts, (dx, dy, dz))


def clutter(rng: np.random.Generator) -> list[Part]:
    """One unlabeled item: pole, sign post, bin, tree, bush, crate or a pedestrian-sized decoy."""
    u = rng.uniform
    kind = rng.choice(8, p=[0.16, 0.12, 0.12, 0.14, 0.14, 0.12, 0.12, 0.08])
    if kind == 0:                                   # pole, maybe with a sign
        h, r = u(2.5, 7.0), u(0.04, 0.12)
        parts = [_cyl(0.0, 0.0, 0.0, h, r, u(0.2, 0.6))]
        if rng.random() < 0.5:
            s = u(0.4, 0.8)
            parts.append(_box(r + 0.03, 0.0, u(1.8, h - s / 2), 0.04, s, s, u(0.6, 1.0)))
        return parts
    if kind == 1:                                   # pedestrian-height sign post
        h, s = u(1.3, 2.0), u(0.35, 0.6)
        return [_cyl(0.0, 0.0, 0.0, h - s, 0.05, u(0.2, 0.6)),
                _box(0.0, 0.0, h - s / 2, 0.05, s, s, u(0.4, 1.0))]
    if kind == 2:                                   # bin / bollard
        return [_cyl(0.0, 0.0, 0.0, u(0.6, 1.2), u(0.1, 0.35), u(0.1, 0.6))]
    if kind == 3:                                   # tree: trunk and crown
        trunk, crown, crown_z = u(1.5, 3.5), u(1.0, 3.0), u(1.0, 2.5)
        return [_cyl(0.0, 0.0, 0.0, trunk + 0.5, u(0.1, 0.3), u(0.2, 0.5)),
                Part(ELLIPSOID, (0.0, 0.0, trunk + crown_z * 0.8),
                     (2 * crown, 2 * crown, 2 * crown_z), u(0.3, 0.7))]
    if kind == 4:                                   # bush
        rz = u(0.3, 0.9)
        return [Part(ELLIPSOID, (0.0, 0.0, rz * u(0.5, 0.8)),
                     (2 * u(0.4, 1.5), 2 * u(0.4, 1.5), 2 * rz), u(0.3, 0.7))]
    if kind == 5:                                   # crate / box
        dz = u(0.4, 1.5)
        return [_box(0.0, 0.0, dz / 2, u(0.5, 2.0), u(0.5, 2.0), dz, u(0.1, 0.8))]
    if kind == 6:                                   # narrow pedestrian-sized crate / cabinet
        dz = u(1.3, 1.9)
        return [_box(0.0, 0.0, dz / 2, u(0.4, 0.8), u(0.4, 0.7), dz, u(0.1, 0.7))]
    h, r = u(1.1, 1.6), u(0.15, 0.25)             # column with a ball on top
    ball = u(0.12, 0.2)
    return [_cyl(0.0, 0.0, 0.0, h, r, u(0.2, 0.6)),
            _sphere(0.0, 0.0, h + ball, ball, u(0.2, 0.6))]
