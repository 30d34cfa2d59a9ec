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
Synthetic Zvision ML-30S-like lidar scenes with ground truth (ROS-free, numpy only).

Lidar model
    Solid-state scanner at the origin, about 1.0 m (+-3 cm per frame) above the ground: a
    320 x 160 grid (51,200 rays, 10 Hz) spanning azimuth -70..+70 deg (centred on +x) and
    elevation -35..+35 deg, with clipped gaussian per-ray angular jitter (0.02 deg sigma).
    Rays are cast analytically in float64 and the nearest hit wins (natural occlusion); no hit
    within 80 m gives no point. A hit returns a point with probability
    ``(1 - 0.01) / (1 + exp((r - r50) / 5.5))``, r50 = 45 m * (reflectance / 0.5) ** 0.25
    (about 0.99 below 20 m, 0.7 at 40 m, ~0 past 60 m for mid reflectance; dark targets fade
    sooner). Range noise is gaussian, sigma = 2 cm + 0.5 mm per metre. Intensity (driver
    units, float32 in [0, 255]) is ``255 * reflectance * |cos(incidence)| / (1 + (r / 120)^2)``
    with 5 % relative gaussian noise. Points come in ray order: elevation rows top to bottom,
    within a row azimuth from right (-y) to left (+y); sky rays are skipped
    (N ~ 24k-36k, median ~28k).

Scene distribution
    Ground: plane through z = -mount height at the origin, slope up to 2 deg in any direction,
    plus three smooth sinusoidal bumps (total amplitude <= 3 cm, wavelengths 8-25 m).
    A road (heading mostly along +x, sometimes any) with optional kerbs, walls / fences and
    buildings along its sides. Labeled objects stand on the ground (box bottom = ground height
    at the centre), do not overlap in bird's-eye view (circle-chain test against everything
    placed before, clutter included), never have their centre behind a tall wall or building,
    and 75 % of them keep a clear BEV line of sight (the rest may be occluded by other
    objects). Counts are drawn per frame (fewer when no free spot is found); objects lie mostly in
    x 2-40 m, |y| <= 25 m, |azimuth| < 68 deg (10 % elsewhere, still labeled):
    3-10 vehicles (car 70 %, van 20 %, truck 10 %; wheels, body and cabin / cargo boxes;
    reflectance 0.2-0.9, darker glass), 3-10 pedestrians (legs, arms, torso, head; box
    0.5-0.9 x 0.5-0.7 x 1.5-1.9 m), 2-6 cyclists (bicycle with wheels, frame, handlebar, and a
    rider; box 1.6-1.9 x 0.5-0.8 x 1.6-1.9 m). Vehicle boxes are tight around the parts;
    pedestrian and cyclist boxes are the sampled annotation-style box containing the parts.
    8-22 unlabeled clutter items (poles with signs, pedestrian-height sign posts, bins, trees,
    bushes, crates, pedestrian-sized narrow crates, columns with a ball on top) make size alone
    an unreliable cue. ``num_points`` counts the returned points (after dropout) whose nearest
    hit is the object.

Other sensor
    ``simulate_frame(seed, index, config, sensor=ml30s.Ml30sA1())`` casts the real Zvision
    ML-30S-A1's angle table instead of the grid (elevation -52.7..+21 deg, not a grid), with
    an intensity calibrated on the real capture; ``ml30s.to_driver_frame`` gives the driver's
    frame and layout (docs/simulator_vs_real.md).

Everything is drawn from ``np.random.default_rng([seed, index])``: a frame depends only on
(seed, index, config, sensor).

May import: core, inference, data and the base modules (errors, package_files); never rclpy.
"""

from .config import SimConfig
from .frame import SimFrame, simulate_frame

__all__ = ["SimConfig", "SimFrame", "simulate_frame"]
