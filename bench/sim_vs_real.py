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
The ML-30S-A1 simulator against the real capture: intensity fit and comparison figure.

Decodes every complete frame of the real ML-30S-A1 capture as the driver does
(``data/zvision_pcap.py``; intensity = reflectance masked to 0x3FF, ros2-foxy) and simulates
``--frames`` frames of ``tao-pointpillars sim --sensor ml30s-a1`` (seed ``--seed``, the default
mounting heights). Prints the figures of both (returns per frame, vertical field of view of the
returns, intensity median / p99 / max / share of zeros) and, with ``--fit``, the power law
``gain * v ** gamma`` that maps the simulated relative intensities ``v`` onto the capture's
median and p99 (the constants of ``sim/ml30s.py``). Draws per-elevation return counts and
intensities and intensity histograms side by side into ``--figure``.
Run: ``.venv/bin/python bench/sim_vs_real.py --fit --figure docs/images/simulator_vs_real.png``
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from tao_pointpillars_py.data import zvision_pcap
from tao_pointpillars_py.sim import ml30s
from tao_pointpillars_py.sim.config import SimConfig
from tao_pointpillars_py.sim.frame import simulate_frame

REAL = Path(__file__).resolve().parents[1] / "test" / "data_files" / "zvision"
ELEVATION_BINS = np.arange(-54.0, 23.0, 1.0)
BANDS = ((-53.0, -30.0), (-30.0, -5.0), (-5.0, 22.0))


class Returns(NamedTuple):
    """Pooled returns of several frames: elevation (deg) and intensity (driver units)."""

    elevation_deg: np.ndarray
    intensity: np.ndarray
    frames: int


class _RelativeIntensity(ml30s.Ml30sA1):
    """The ML-30S-A1 reporting the relative intensity ``v`` instead of driver units."""

    def intensity(self, reflectance: np.ndarray, cos_incidence: np.ndarray,
                  distance: np.ndarray, noise: np.ndarray, config: SimConfig) -> np.ndarray:
        return ml30s.relative_intensity(reflectance, cos_incidence, distance, noise, config)


def real_returns(pcap: Path, calibration: Path) -> Returns:
    """Every return of every complete frame of the capture."""
    table = zvision_pcap.read_angle_table(calibration)
    frames = zvision_pcap.decode_capture(pcap, calibration)
    elevation = [table.elevation_deg[frame.returns] for frame in frames]
    intensity = [frame.return_points()[:, 3].astype(np.float64) for frame in frames]
    return Returns(np.concatenate(elevation), np.concatenate(intensity), len(frames))


def simulated_returns(seed: int, frames: int, sensor: ml30s.Ml30sA1) -> Returns:
    """Pool the returns of frames 0..frames-1 of ``sim --sensor ml30s-a1 --seed seed``."""
    config = ml30s.mounted_config(SimConfig(), ml30s.DEFAULT_MOUNT_HEIGHT_RANGE)
    elevation = np.degrees(ml30s.angle_table()[1])
    simulated = [simulate_frame(seed, index, config, sensor) for index in range(frames)]
    return Returns(np.concatenate([elevation[f.ray] for f in simulated]),
                   np.concatenate([f.points[:, 3].astype(np.float64) for f in simulated]),
                   frames)


def describe(name: str, returns: Returns) -> str:
    """One line of figures."""
    p50, p99 = np.percentile(returns.intensity, [50, 99])
    return (f"{name}: {returns.frames} frames, {len(returns.intensity) / returns.frames:.0f} "
            f"returns/frame, elevation {returns.elevation_deg.min():.2f} .. "
            f"{returns.elevation_deg.max():.2f} deg, intensity median {p50:.1f} p99 {p99:.1f} "
            f"max {returns.intensity.max():.0f} zeros {np.mean(returns.intensity == 0):.1%}")


def draw(real: Returns, sim: Returns, path: Path) -> None:
    """Per-elevation return counts and intensities, intensity histograms: sim vs real."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rays, _ = np.histogram(np.degrees(ml30s.angle_table()[1]), ELEVATION_BINS)
    centres = (ELEVATION_BINS[:-1] + ELEVATION_BINS[1:]) / 2
    figure, axes = plt.subplots(2, 3, figsize=(13, 7), dpi=72)
    ax = axes[0, 0]
    ax.step(centres, rays, where="mid", color="0.6", label="rays (angle table)")
    for returns, name, colour in ((real, "real", "C0"), (sim, "sim", "C1")):
        counts, _ = np.histogram(returns.elevation_deg, ELEVATION_BINS)
        ax.step(centres, counts / returns.frames, where="mid", color=colour,
                label=f"{name} returns")
    ax.set(title="returns per frame per 1° elevation row", xlabel="elevation (deg)")
    ax.legend(fontsize=8)
    _intensity_by_elevation(axes[0, 1], real, sim, centres)
    _histogram(axes[0, 2], real, sim, None, "all returns")
    for ax, band in zip(axes[1], BANDS):
        _histogram(ax, real, sim, band, f"elevation {band[0]:.0f}° .. {band[1]:.0f}°")
    figure.suptitle(f"ML-30S-A1: real capture ({real.frames} frames) vs "
                    f"sim --sensor ml30s-a1 ({sim.frames} frames)")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def _intensity_by_elevation(ax: Any, real: Returns, sim: Returns, centres: np.ndarray) -> None:
    for returns, name, colour in ((real, "real", "C0"), (sim, "sim", "C1")):
        row = np.digitize(returns.elevation_deg, ELEVATION_BINS) - 1
        order = np.argsort(row, kind="stable")
        groups = np.split(returns.intensity[order], np.cumsum(np.bincount(
            row, minlength=len(centres)))[:-1])
        p50 = np.array([np.median(g) if len(g) > 20 else np.nan for g in groups[:len(centres)]])
        p90 = np.array([np.percentile(g, 90) if len(g) > 20 else np.nan
                        for g in groups[:len(centres)]])
        ax.plot(centres, p50, color=colour, label=f"{name} median")
        ax.plot(centres, p90, color=colour, linestyle="--", label=f"{name} p90")
    ax.set(title="intensity per elevation row", xlabel="elevation (deg)",
           ylabel="driver units")
    ax.legend(fontsize=8)


def _histogram(ax: Any, real: Returns, sim: Returns, band: tuple[float, float] | None,
               title: str) -> None:
    bins = np.arange(0.0, 161.0, 2.0)
    for returns, name, colour in ((real, "real", "C0"), (sim, "sim", "C1")):
        values = returns.intensity
        if band is not None:
            values = values[(returns.elevation_deg >= band[0])
                            & (returns.elevation_deg < band[1])]
        ax.hist(values, bins=bins, density=True, histtype="step", color=colour,
                label=f"{name} (median {np.median(values):.0f}, p99 "
                      f"{np.percentile(values, 99):.0f})")
    ax.set(title=f"intensity, {title}", xlabel="driver units", yscale="log")
    ax.legend(fontsize=8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pcap", type=Path, default=REAL / "ML30S_A1_Default.pcap")
    parser.add_argument("--cal", type=Path, default=REAL / "ML30S_A1_Default.cal")
    parser.add_argument("--seed", type=int, default=1000, help="simulated scene seed")
    parser.add_argument("--frames", type=int, default=200, help="simulated frames")
    parser.add_argument("--fit", action="store_true",
                        help="fit (gain, gamma) to the capture's median and p99 first")
    parser.add_argument("--figure", type=Path, default=None, help="PNG to draw")
    args = parser.parse_args()
    real = real_returns(args.pcap, args.cal)
    print(describe("real", real))
    sensor = ml30s.Ml30sA1()
    if args.fit:
        relative = simulated_returns(args.seed, args.frames, _RelativeIntensity())
        p50, p99 = np.percentile(real.intensity, [50, 99])
        gain, gamma = ml30s.fit_intensity_curve(relative.intensity, p50, p99)
        print(f"fit: v median {np.median(relative.intensity):.4f} p99 "
              f"{np.percentile(relative.intensity, 99):.4f} -> gain {gain:.2f} gamma {gamma:.3f}")
        sensor = ml30s.Ml30sA1(round(gain, 1), round(gamma, 2))
    print(f"sensor: gain {sensor.intensity_gain} gamma {sensor.intensity_gamma}")
    sim = simulated_returns(args.seed, args.frames, sensor)
    print(describe("sim", sim))
    if args.figure is not None:
        draw(real, sim, args.figure)
        print(f"figure: {args.figure} ({args.figure.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
