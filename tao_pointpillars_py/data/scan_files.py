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
KITTI-style scan files (little-endian float32 x, y, z, r per point) and a summary of clouds.

A KITTI velodyne ``.bin`` holds N x 4 float32 values and nothing else: x, y, z in metres and
the reflectance (KITTI: 0..1; other exporters: the driver's units).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np

from ..errors import PointPillarsError

#: bytes of one point: four little-endian float32
SCAN_POINT_BYTES = 16


class ScanFileError(PointPillarsError, ValueError):
    """A scan file is not N x 4 float32 values."""


def read_scan_file(path: str | Path) -> np.ndarray:
    """Read one ``.bin`` scan as (N, 4) float32 x, y, z, r; ScanFileError if it is not one."""
    path = Path(path)
    check_scan_file(path)
    return np.fromfile(path, dtype="<f4").reshape(-1, 4).astype(np.float32)


def check_scan_file(path: Path) -> None:
    """Raise ScanFileError unless ``path`` is a file of whole 16-byte points."""
    if not path.is_file():
        raise ScanFileError(f"scan file {path} does not exist")
    size = path.stat().st_size
    if size % SCAN_POINT_BYTES:
        raise ScanFileError(
            f"{path} has {size} bytes, not a multiple of {SCAN_POINT_BYTES} (4 float32 x, y, z, "
            f"r per point): it is not a KITTI-style scan, or it was cut short "
            f"({size % SCAN_POINT_BYTES} bytes left over after {size // SCAN_POINT_BYTES} points)")


def write_scan_file(path: str | Path, points: np.ndarray) -> None:
    """Write (N, 4) points as a KITTI-style ``.bin`` (little-endian float32)."""
    points = np.asarray(points)
    if points.ndim != 2 or points.shape[1] != 4:
        raise ScanFileError(f"points must have shape (N, 4), got {points.shape}")
    Path(path).write_bytes(points.astype("<f4").tobytes())


def sorted_scan_files(paths: Iterable[str | Path]) -> list[Path]:
    """
    Expand folders into their ``*.bin`` files and sort everything by file name.

    Raises ScanFileError when nothing is left or a path does not exist.
    """
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files += path.glob("*.bin")
        elif path.exists():
            files.append(path)
        else:
            raise ScanFileError(f"scan file {path} does not exist")
    if not files:
        raise ScanFileError("no scan files: give .bin files or folders holding them")
    return sorted(files, key=lambda p: (p.name, str(p)))


@dataclass
class CloudSummary:
    """
    Running figures over clouds: count, points per cloud, x/y/z ranges, intensity spread.

    Only points given to :meth:`add` count, e.g. the slots that hold a return.
    """

    points_per_cloud: list[int] = field(default_factory=list)
    low: np.ndarray = field(default_factory=lambda: np.full(3, np.inf))
    high: np.ndarray = field(default_factory=lambda: np.full(3, -np.inf))
    intensities: list[np.ndarray] = field(default_factory=list)

    def add(self, points: np.ndarray) -> None:
        """Count one cloud's (N, >= 4) x, y, z, intensity points."""
        self.points_per_cloud.append(int(points.shape[0]))
        if points.shape[0]:
            self.low = np.minimum(self.low, points[:, :3].min(axis=0))
            self.high = np.maximum(self.high, points[:, :3].max(axis=0))
            self.intensities.append(np.asarray(points[:, 3], dtype=np.float32))

    def intensity_figures(self) -> tuple[float, float, float]:
        """Intensity median, 99th percentile and maximum over every point added."""
        if not self.intensities:
            return (float("nan"),) * 3
        values = np.concatenate(self.intensities)
        return (float(np.median(values)), float(np.percentile(values, 99)),
                float(values.max()))

    def lines(self, what: str = "points") -> list[str]:
        """Printable summary lines."""
        counts = np.asarray(self.points_per_cloud)
        if not counts.size:
            return ["no clouds"]
        lines = [f"{counts.size} clouds, {what} per cloud: min {counts.min()}, "
                 f"mean {counts.mean():.0f}, max {counts.max()}"]
        if np.isfinite(self.low).all():
            lines += [f"{axis}: {lo:.2f} .. {hi:.2f} m"
                      for axis, lo, hi in zip("xyz", self.low, self.high)]
            median, p99, top = self.intensity_figures()
            lines.append(f"intensity: median {median:g}, p99 {p99:g}, max {top:g}")
        return lines
