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
Edges and colours of RViz box markers, ROS-free (the node wraps them in messages).

Boxes are (N, 7) float32 (x, y, z, dx, dy, dz, yaw): centre, size along the box's own axes,
yaw counter-clockwise about +z from +x (TAO-PointPillars convention). Corners and orientation
quaternions are box maths: :mod:`.boxes`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .boxes import box_corners

#: The 12 edges of a box as pairs of corner indices (corners from
#: :func:`~tao_pointpillars_py.core.boxes.box_corners`, front-right first): bottom face, top
#: face, then the four vertical edges, each list starting at the front-left corner.
BOX_EDGES = np.array([[1, 2], [2, 3], [3, 0], [0, 1],
                      [5, 6], [6, 7], [7, 4], [4, 5],
                      [1, 5], [2, 6], [3, 7], [0, 4]], dtype=np.int64)

#: RGBA in [0, 1] per known class name; other classes take :data:`FALLBACK_COLOURS` in turn.
CLASS_COLOURS: dict[str, tuple[float, float, float, float]] = {
    "Vehicle": (0.12, 0.56, 1.0, 1.0),     # blue
    "Pedestrian": (1.0, 0.55, 0.0, 1.0),   # orange
    "Cyclist": (0.2, 0.8, 0.2, 1.0),       # green
}
FALLBACK_COLOURS: tuple[tuple[float, float, float, float], ...] = (
    (0.85, 0.2, 0.85, 1.0), (1.0, 0.9, 0.1, 1.0), (0.1, 0.9, 0.9, 1.0), (0.9, 0.3, 0.3, 1.0))


def box_edge_points(boxes: np.ndarray) -> np.ndarray:
    """End points (N, 24, 3) of each box's 12 edges, pairwise, as a LINE_LIST marker wants."""
    corners = box_corners(np.asarray(boxes).reshape(-1, 7))
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
