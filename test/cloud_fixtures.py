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

"""The named PointCloud2 point layouts of the tests, built from core.pointcloud2's own offsets."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from tao_pointpillars_py.core.pointcloud2 import (POINT_FIELD_DTYPES, zvision_fields,
                                                  ZVISION_POINT_STEP)

#: numpy type code ("f4") -> sensor_msgs/msg/PointField datatype code (7)
POINT_FIELD_CODES = {numpy_type: code for code, numpy_type in POINT_FIELD_DTYPES.items()}


class CloudLayout(NamedTuple):
    """Where x, y, z and intensity lie in a point: [(offset, numpy type), ...], point size."""

    fields: list[tuple[int, str]]
    point_step: int


def packed(layout: CloudLayout) -> CloudLayout:
    """Give ``layout``'s fields back to back, in its order, without padding."""
    sizes = [np.dtype(numpy_type).itemsize for _, numpy_type in layout.fields]
    offsets = [sum(sizes[:index]) for index in range(len(sizes))]
    return CloudLayout([(offset, numpy_type) for offset, (_, numpy_type)
                        in zip(offsets, layout.fields)], sum(sizes))


#: the Zvision driver's points (PCL PointXYZI): float32 x, y, z, intensity in 32 bytes
ZVISION_DRIVER = CloudLayout([(offset, POINT_FIELD_DTYPES[datatype])
                              for _, offset, datatype, _ in zvision_fields()], ZVISION_POINT_STEP)
#: the same four float32 fields packed in 16 bytes (the simulated lidars' clouds)
XYZI_16 = packed(ZVISION_DRIVER)


def point_records(points: np.ndarray, layout: CloudLayout, bigendian: bool = False,
                  intensity_name: str = "intensity") -> np.ndarray:
    """Lay (N, 4) x, y, z, intensity out as ``layout``'s records (padding bytes zero)."""
    order = ">" if bigendian else "<"
    names = ["x", "y", "z", intensity_name]
    dtype = np.dtype({"names": names,
                      "formats": [order + numpy_type for _, numpy_type in layout.fields],
                      "offsets": [offset for offset, _ in layout.fields],
                      "itemsize": layout.point_step})
    records = np.zeros(points.shape[0], dtype=dtype)
    for column, name in enumerate(names):
        records[name] = points[:, column]
    return records
