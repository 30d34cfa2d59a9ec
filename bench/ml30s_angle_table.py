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
Derive the simulator's ML-30S-A1 angle table from the vendor's calibration file.

Reads a ``.cal`` file as the Zvision driver does (``tools.cc`` ``ReadCalibrationFile``: 6400
non-empty lines, a point-group index then 8 (azimuth, elevation) pairs in degrees) and writes
the pairs, in file order, as int32 millidegrees (the file's three decimals, exactly) into a
compressed ``.npz`` with one array ``millidegrees`` (6400, 8, 2).
Run: ``.venv/bin/python bench/ml30s_angle_table.py ../shared/real_data/zvision/ML30S_A1_Default.cal
tao_pointpillars_py/sim/data/ml30s_a1_angles.npz``
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def read_calibration(path: Path) -> np.ndarray:
    """(6400, 8, 2) azimuth, elevation in degrees of an ML-30S-A1 ``.cal`` file."""
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    if len(rows) != 6400 or any(len(row) != 17 for row in rows):
        raise SystemExit(f"{path}: not an ML-30S-A1 angle table (6400 lines of 17 numbers)")
    return np.array(rows, dtype=np.float64)[:, 1:].reshape(6400, 8, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("calibration", type=Path, help="ML30S_A1_Default.cal")
    parser.add_argument("out", type=Path, help="the .npz to write")
    args = parser.parse_args()
    degrees = read_calibration(args.calibration)
    millidegrees = np.round(degrees * 1000.0).astype(np.int32)
    if not np.allclose(millidegrees / 1000.0, degrees, atol=1e-9):
        raise SystemExit("the table has more than three decimals; store it otherwise")
    np.savez_compressed(args.out, millidegrees=millidegrees)
    print(f"{args.out}: {args.out.stat().st_size} bytes, azimuth "
          f"{degrees[..., 0].min():.3f}..{degrees[..., 0].max():.3f} deg, elevation "
          f"{degrees[..., 1].min():.3f}..{degrees[..., 1].max():.3f} deg")


if __name__ == "__main__":
    main()
