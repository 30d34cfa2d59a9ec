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

"""Simulator settings: lidar model and scene distribution, with defaults for a Zvision ML-30S."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError


@dataclass(frozen=True)
class SimConfig:
    """
    Lidar and scene parameters of :func:`~tao_pointpillars_py.sim.simulate_frame`.

    Angles in degrees, lengths in metres, reflectances in [0, 1]. Count ranges are inclusive
    ``(low, high)`` pairs drawn uniformly per frame.

    Lidar attributes:
        num_azimuth, num_elevation: ray grid columns x rows (320 x 160 = 51,200 rays).
        azimuth_fov_deg, elevation_fov_deg: full field of view, centred on +x and the horizon.
        angular_jitter_deg: gaussian per-ray jitter (sigma) of azimuth and elevation; clipped
            at 3 sigma.
        mount_height, mount_height_jitter: sensor height above the ground at the origin and the
            half-width of its uniform per-frame variation.
        max_range: rays that hit nothing nearer return no point.
        range_noise_sigma, range_noise_per_m: gaussian range noise sigma = a + b * range.
        return_range_50, return_range_scale: return probability is the logistic
            ``1 / (1 + exp((r - r50) / scale))`` with r50 = return_range_50 at
            ``reference_reflectance``, scaled by ``(reflectance / reference) **
            reflectance_exponent``.
        base_dropout: extra range-independent probability of losing a return.
        intensity_scale: driver units of a reflectance-1 target hit head-on near the sensor.
        intensity_falloff_range: intensity multiplied by ``1 / (1 + (r / this) ** 2)``.
        intensity_noise: relative gaussian noise (sigma) of intensity.

    Scene attributes:
        max_ground_slope_deg: ground plane slope drawn uniformly in [0, this], any direction.
        ground_roughness: amplitude bound (m) of the smooth bumps added to the ground plane.
        ground_reflectance: uniform range of the per-frame ground reflectance.
        num_vehicles, num_pedestrians, num_cyclists: labeled objects per frame.
        num_distractors: unlabeled clutter items per frame (poles, trees, crates, ...).
        region_x, region_y_abs, region_azimuth_deg: where labeled objects are placed mostly.
        outside_fraction: probability that a labeled object is placed outside that region.
    """

    num_azimuth: int = 320
    num_elevation: int = 160
    azimuth_fov_deg: float = 140.0
    elevation_fov_deg: float = 70.0
    angular_jitter_deg: float = 0.02
    mount_height: float = 1.0
    mount_height_jitter: float = 0.03
    max_range: float = 80.0
    range_noise_sigma: float = 0.02
    range_noise_per_m: float = 0.0005
    return_range_50: float = 45.0
    return_range_scale: float = 5.5
    reference_reflectance: float = 0.5
    reflectance_exponent: float = 0.25
    base_dropout: float = 0.01
    intensity_scale: float = 255.0
    intensity_falloff_range: float = 120.0
    intensity_noise: float = 0.05

    max_ground_slope_deg: float = 2.0
    ground_roughness: float = 0.03
    ground_reflectance: tuple[float, float] = (0.25, 0.5)
    num_vehicles: tuple[int, int] = (3, 10)
    num_pedestrians: tuple[int, int] = (3, 10)
    num_cyclists: tuple[int, int] = (2, 6)
    num_distractors: tuple[int, int] = (8, 22)
    region_x: tuple[float, float] = (2.0, 40.0)
    region_y_abs: float = 25.0
    region_azimuth_deg: float = 68.0
    outside_fraction: float = 0.1

    def __post_init__(self) -> None:
        if self.num_azimuth < 2 or self.num_elevation < 2:
            raise ConfigError("num_azimuth and num_elevation must be >= 2")
        if not 0 < self.azimuth_fov_deg < 180 or not 0 < self.elevation_fov_deg < 180:
            raise ConfigError("azimuth_fov_deg and elevation_fov_deg must be in (0, 180)")
        positive = ("mount_height", "max_range", "return_range_50", "return_range_scale",
                    "reference_reflectance", "intensity_scale", "intensity_falloff_range")
        for name in positive:
            if not getattr(self, name) > 0:
                raise ConfigError(f"SimConfig.{name} must be positive, got "
                                  f"{getattr(self, name)}")
        non_negative = ("angular_jitter_deg", "mount_height_jitter", "range_noise_sigma",
                        "range_noise_per_m", "reflectance_exponent", "intensity_noise",
                        "max_ground_slope_deg", "ground_roughness")
        for name in non_negative:
            if getattr(self, name) < 0:
                raise ConfigError(f"SimConfig.{name} must be >= 0, got {getattr(self, name)}")
        if self.mount_height_jitter >= self.mount_height:
            raise ConfigError("mount_height_jitter must be smaller than mount_height")
        for name in ("base_dropout", "outside_fraction"):
            if not 0 <= getattr(self, name) <= 1:
                raise ConfigError(f"SimConfig.{name} must be in [0, 1]")
        for name in ("num_vehicles", "num_pedestrians", "num_cyclists", "num_distractors"):
            low, high = getattr(self, name)
            if not 0 <= low <= high:
                raise ConfigError(f"SimConfig.{name} must be (low, high) with 0 <= low <= high")
        lo, hi = self.ground_reflectance
        if not 0 <= lo <= hi <= 1:
            raise ConfigError("ground_reflectance must be (low, high) within [0, 1]")
        if not 0 < self.region_x[0] < self.region_x[1] or self.region_y_abs <= 0:
            raise ConfigError("region_x must be (low, high) with 0 < low < high and "
                              "region_y_abs positive")
        if not 0 < self.region_azimuth_deg <= self.azimuth_fov_deg / 2:
            raise ConfigError("region_azimuth_deg must be in (0, azimuth_fov_deg / 2]")
