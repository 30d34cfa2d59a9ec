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
The Zvision ML-30S-A1 as the simulator's sensor: its angle table, intensity and driver frame.

Rays: the unit's calibration table (``sim/data/ml30s_a1_angles.npz``, derived from the
vendor's ``ML30S_A1_Default.cal``, BSD-3-Clause): 6400 point groups x 8 (azimuth, elevation)
pairs, reordered per group with the driver's ``fov_index`` so that ray *i* is the driver's
point index *i* (51,200 per frame; elevation -52.7 .. +21.0 deg, azimuth -78.7 .. +77.7 deg,
not a grid). The driver's geometry is ``x = d cos(ele) sin(azi)``, ``y = d cos(ele) cos(azi)``,
``z = d sin(ele)``: +y forward. The scene is cast in the simulator's frame (x forward, y left),
so ray *i* points at ``(cos(ele) cos(azi), -cos(ele) sin(azi), sin(ele))`` there.

Intensity: the default sensor's reflectance model, ``v = reflectance * |cos(incidence)| /
(1 + (r / 120)^2) * (1 + 0.05 n)``, mapped into driver units by a power law fitted on the real
capture, ``round(gain * v ** gamma)`` clipped to [0, 255] (integers, as the driver reports
them). :func:`fit_intensity_curve` finds (gain, gamma) such that the median and p99 of the
simulated returns of typical scenes hit the capture's (bench/sim_vs_real.py, docs/
simulator_vs_real.md).

Driver frame (:func:`to_driver_frame`): +y forward, the published cloud's layout of 51,200
slots in point order with (0, 0, 0, 0) where no return came; the boxes turned with it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
import functools
from importlib import resources

import numpy as np

from .config import SimConfig
from .frame import SimFrame
from .lidar import bucket_rays, RaySet
from ..errors import ConfigError

__all__ = ["DEFAULT_MOUNT_HEIGHT_RANGE", "DEFAULT_SENSOR", "FOV_INDEX", "Ml30sA1",
           "POINTS_PER_FRAME", "SENSORS", "angle_table", "fit_intensity_curve",
           "mounted_config", "sensor_named", "to_driver_frame"]

DEFAULT_SENSOR = "default"
ML30S_A1 = "ml30s-a1"
SENSORS = (DEFAULT_SENSOR, ML30S_A1)
POINTS_PER_FRAME = 51_200
#: the driver's order of the 8 (azimuth, elevation) pairs of a point group
#: (``tools.cc`` ``ComputeCalibrationData``, the ML30SA1 case)
FOV_INDEX = np.array([0, 6, 1, 7, 2, 4, 3, 5])
#: sensor height above the ground (m) drawn per frame for the ML-30S-A1: around the 1.2 m the
#: real capture's ground sits below its sensor
DEFAULT_MOUNT_HEIGHT_RANGE = (0.9, 1.5)
#: driver units = round(gain * v ** gamma), fitted by bench/sim_vs_real.py (see module doc)
INTENSITY_GAIN = 147.2
INTENSITY_GAMMA = 2.39
MAX_INTENSITY = 255.0


@functools.lru_cache(maxsize=1)
def angle_table() -> tuple[np.ndarray, np.ndarray]:
    """(51200,) azimuth and elevation in radians (driver's convention), in point order."""
    source = resources.files(__package__) / "data" / "ml30s_a1_angles.npz"
    with source.open("rb") as file:
        millidegrees = np.load(file)["millidegrees"]
    pairs = millidegrees[:, FOV_INDEX, :].reshape(-1, 2)
    radians = np.radians(pairs / 1000.0)
    radians.setflags(write=False)
    return radians[:, 0], radians[:, 1]


@functools.lru_cache(maxsize=1)
def _rays() -> RaySet:
    azimuth, elevation = angle_table()
    cos_el = np.cos(elevation)
    directions = np.stack([cos_el * np.cos(azimuth), -cos_el * np.sin(azimuth),
                           np.sin(elevation)], axis=1)
    return bucket_rays(directions)


@dataclass(frozen=True)
class Ml30sA1:
    """The ML-30S-A1 (:class:`~tao_pointpillars_py.sim.frame.Sensor`): angle table, intensity."""

    intensity_gain: float = INTENSITY_GAIN
    intensity_gamma: float = INTENSITY_GAMMA

    def __post_init__(self) -> None:
        if not self.intensity_gain > 0 or not self.intensity_gamma > 0:
            raise ConfigError("Ml30sA1.intensity_gain and intensity_gamma must be positive")

    def rays(self) -> RaySet:
        """Give the 51,200 rays of the angle table, in the simulator's frame and point order."""
        return _rays()

    def intensity(self, reflectance: np.ndarray, cos_incidence: np.ndarray,
                  distance: np.ndarray, noise: np.ndarray, config: SimConfig) -> np.ndarray:
        """Driver units ``round(gain * v ** gamma)`` in [0, 255], (R,) float32."""
        value = relative_intensity(reflectance, cos_incidence, distance, noise, config)
        scaled = self.intensity_gain * value ** self.intensity_gamma
        return np.clip(np.round(scaled), 0.0, MAX_INTENSITY).astype(np.float32)


def relative_intensity(reflectance: np.ndarray, cos_incidence: np.ndarray,
                       distance: np.ndarray, noise: np.ndarray, config: SimConfig
                       ) -> np.ndarray:
    """Compute the default sensor's intensity model over its scale, ``v`` >= 0 (float64)."""
    falloff = 1.0 / (1.0 + (distance / config.intensity_falloff_range) ** 2)
    value = reflectance * cos_incidence * falloff * (1.0 + config.intensity_noise * noise)
    return np.maximum(value, 0.0)


def fit_intensity_curve(values: np.ndarray, median: float, p99: float) -> tuple[float, float]:
    """
    (gain, gamma) with ``gain * v ** gamma`` at the median and p99 of ``values`` equal to those.

    ``values``: relative intensities :func:`relative_intensity` of simulated returns. A power
    law keeps the order of the values, so their quantiles map onto the targets exactly
    (before rounding to integers).
    """
    v50, v99 = np.percentile(values, [50.0, 99.0])
    if not 0 < v50 < v99 or not 0 < median < p99:
        raise ConfigError(f"cannot fit an intensity curve: need 0 < median < p99 for both the "
                          f"values ({v50:.4g}, {v99:.4g}) and the targets ({median}, {p99})")
    gamma = float(np.log(p99 / median) / np.log(v99 / v50))
    return float(median / v50 ** gamma), gamma


def mounted_config(config: SimConfig, mount_height_range: tuple[float, float]) -> SimConfig:
    """``config`` with the sensor height drawn uniformly in ``mount_height_range`` (m)."""
    low, high = (float(value) for value in mount_height_range)
    if not 0 < low <= high:
        raise ConfigError(f"--mount-height-range must be LOW HIGH metres with 0 < LOW <= HIGH, "
                          f"got {low} {high}")
    return replace(config, mount_height=(low + high) / 2, mount_height_jitter=(high - low) / 2)


def sensor_named(name: str) -> Ml30sA1 | None:
    """Give the sensor of ``--sensor NAME``: None for the default grid."""
    if name == DEFAULT_SENSOR:
        return None
    if name == ML30S_A1:
        return Ml30sA1()
    raise ConfigError(f"unknown sensor {name!r}; choose one of {', '.join(SENSORS)}")


def to_driver_frame(frame: SimFrame, slots: int = POINTS_PER_FRAME) -> SimFrame:
    """
    ``frame`` as the Zvision driver publishes it: +y forward, one slot per ray.

    Points turn by +90 deg about z (``x_driver = -y``, ``y_driver = x``) and go to slot
    ``ray``; slots without a return stay (0, 0, 0, 0) with ``point_object`` -1. Boxes turn
    with them (yaw + 90 deg, wrapped into [-pi, pi)).
    """
    if len(frame.ray) and int(frame.ray.max()) >= slots:
        raise ConfigError(f"ray index {int(frame.ray.max())} does not fit in {slots} slots; "
                          f"the driver frame needs the ML-30S-A1 sensor (--sensor ml30s-a1)")
    points = np.zeros((slots, 4), dtype=np.float32)
    points[frame.ray, 0] = -frame.points[:, 1]
    points[frame.ray, 1] = frame.points[:, 0]
    points[frame.ray, 2:] = frame.points[:, 2:]
    point_object = np.full(slots, -1, dtype=np.int32)
    point_object[frame.ray] = frame.point_object
    boxes = frame.boxes.copy()
    boxes[:, 0], boxes[:, 1] = -frame.boxes[:, 1], frame.boxes[:, 0]
    boxes[:, 6] = (frame.boxes[:, 6].astype(np.float64) + np.pi / 2 + np.pi) % (2 * np.pi) - np.pi
    return replace(frame, points=points, boxes=boxes, point_object=point_object,
                   ray=np.arange(slots, dtype=np.int64))
