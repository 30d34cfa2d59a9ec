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
What a cloud looks like to the model: share of points inside its range, intensity percentiles.

The same two figures describe a model's training data (written into its metadata at export as
``training.intensity_p50`` / ``training.intensity_p99``, in the model's intensity units) and
each cloud the node or ``detect`` receives, so a cloud in the wrong frame or a driver with
another intensity scale shows up as a number next to the model's own.

Per cloud, :func:`cloud_health` looks at every k-th point of the cloud in the model's frame (at
most :data:`HEALTH_SAMPLE_POINTS`); :func:`window_health` pools clouds, and
:func:`input_problems` says what to change when the pooled figures are off (the node's
``/diagnostics`` WARN, ``detect``'s summary).
"""

from __future__ import annotations

from dataclasses import dataclass
import math
from typing import Mapping, Sequence

import numpy as np

from .pillars import inside_range

INTENSITY_PERCENTILES = (50.0, 99.0)
TRAINING_INTENSITY_KEYS = ("training.intensity_p50", "training.intensity_p99")
#: points of a cloud looked at (every k-th): share and percentiles stay within about a
#: percent of the whole cloud's, for ~0.1 ms a cloud
HEALTH_SAMPLE_POINTS = 4096
#: a share of points inside the model's range below this is a cloud in the wrong frame. The
#: real ML-30S-A1 recording has 98% in range turned into the model's frame and 54% as the
#: driver publishes it (+y forward): half would not tell the two apart
MIN_IN_RANGE_SHARE = 0.75
#: a median intensity further off the training data's than this factor (either way) is a
#: driver in other units than ``intensity_range`` says
MAX_INTENSITY_RATIO = 4.0
#: the pose a y-forward Zvision driver's cloud needs, for the messages
ZVISION_CLOUD_TO_MODEL = "0 0 0 0 0 -90"


def in_range_mask(points: np.ndarray,
                  point_cloud_range: Sequence[float]) -> np.ndarray:
    """Boolean mask of the points (N, >=3) that pillarization keeps (its range rule)."""
    return inside_range(points[:, 0], points[:, 1], points[:, 2], point_cloud_range)


def intensity_percentiles(intensity: np.ndarray) -> tuple[float, float] | None:
    """(p50, p99) of an intensity column; None when it is empty."""
    if intensity.size == 0:
        return None
    p50, p99 = np.percentile(np.asarray(intensity, dtype=np.float64), INTENSITY_PERCENTILES)
    return float(p50), float(p99)


def pooled_intensity_percentiles(clouds: Sequence[np.ndarray],
                                 point_cloud_range: Sequence[float],
                                 per_cloud: int = 4096,
                                 seed: int = 0) -> tuple[float, float] | None:
    """(p50, p99) of the in-range intensities of many clouds, from a seeded sample of each."""
    rng = np.random.default_rng(seed)
    samples = []
    for points in clouds:
        values = points[in_range_mask(points, point_cloud_range), 3]
        if values.shape[0] > per_cloud:
            values = values[rng.choice(values.shape[0], per_cloud, replace=False)]
        samples.append(values)
    return intensity_percentiles(np.concatenate(samples) if samples else np.zeros(0))


def training_intensity_metadata(percentiles: tuple[float, float] | None) -> dict[str, str]:
    """Metadata entries for a model trained on data with these intensity percentiles."""
    if percentiles is None:
        return {}
    return {key: f"{value:.6g}" for key, value in zip(TRAINING_INTENSITY_KEYS, percentiles)}


def training_intensity_from_metadata(
        metadata: Mapping[str, str]) -> tuple[float, float] | None:
    """(p50, p99) a model was trained on, in its intensity units; None if not recorded."""
    try:
        return (float(metadata[TRAINING_INTENSITY_KEYS[0]]),
                float(metadata[TRAINING_INTENSITY_KEYS[1]]))
    except (KeyError, ValueError):
        return None


@dataclass(frozen=True)
class CloudHealth:
    """
    What one cloud looks like to the model.

    ``returns``: points with a return (finite, not an empty (0, 0, 0) slot) before thinning;
    ``slots``: the cloud's width x height (0: unknown); ``in_range_share``: share of the
    returns inside the model's range, in the model's frame (NaN without returns);
    ``intensity``: p50 / p99 of the in-range points, in the cloud's units (None: none in range).
    """

    returns: int
    slots: int
    in_range_share: float
    intensity: tuple[float, float] | None


def cloud_health(model_points: np.ndarray, point_cloud_range: Sequence[float],
                 returns: int | None = None, slots: int = 0,
                 sample_points: int = HEALTH_SAMPLE_POINTS) -> CloudHealth:
    """
    Give a cloud's health from its points (N, 4) in the model's frame, cloud intensity units.

    Every k-th point is looked at, at most ``sample_points``. ``returns`` is the count before
    thinning (default: N).
    """
    count = model_points.shape[0]
    if count == 0:
        return CloudHealth(returns or 0, slots, math.nan, None)
    step = -(-count // sample_points)
    sample = model_points[::step]
    inside = in_range_mask(sample, point_cloud_range)
    share = float(np.count_nonzero(inside)) / sample.shape[0]
    return CloudHealth(count if returns is None else returns, slots, share,
                       intensity_percentiles(sample[inside, 3]))


@dataclass(frozen=True)
class InputReference:
    """
    What the model expects of its input and how the clouds are turned into it.

    ``cloud_intensity_range`` is the ``intensity_range`` parameter (the clouds' units, mapped
    linearly onto ``model_intensity_range``); ``training_intensity`` the (p50, p99) of the
    model's training data in its units (None: not recorded); ``cloud_to_model`` the pose
    applied to the clouds as text ("": none).
    """

    point_cloud_range: tuple[float, ...]
    model_intensity_range: tuple[float, float]
    cloud_intensity_range: tuple[float, float]
    training_intensity: tuple[float, float] | None = None
    cloud_to_model: str = ""

    def to_model_units(self, value: float) -> float:
        """Map a cloud intensity into the model's units, clipped, as the detector does."""
        (s_lo, s_hi), (t_lo, t_hi) = self.cloud_intensity_range, self.model_intensity_range
        mapped = t_lo + (value - s_lo) * (t_hi - t_lo) / (s_hi - s_lo)
        return min(max(mapped, t_lo), t_hi)

    def to_cloud_units(self, value: float) -> float:
        """Map a model intensity back into the clouds' units (the inverse, unclipped)."""
        (s_lo, s_hi), (t_lo, t_hi) = self.cloud_intensity_range, self.model_intensity_range
        return s_lo + (value - t_lo) * (s_hi - s_lo) / (t_hi - t_lo)

    @property
    def training_intensity_in_cloud_units(self) -> tuple[float, float] | None:
        """The training data's (p50, p99) in the clouds' units, through intensity_range."""
        if self.training_intensity is None:
            return None
        p50, p99 = self.training_intensity
        return self.to_cloud_units(p50), self.to_cloud_units(p99)

    def range_text(self) -> str:
        """Write the model's range as x, y, z intervals [m]."""
        r = self.point_cloud_range
        return (f"x {r[0]:g}..{r[3]:g}, y {r[1]:g}..{r[4]:g}, "
                f"z {r[2]:g}..{r[5]:g} m")


@dataclass(frozen=True)
class WindowHealth:
    """
    Many clouds' health pooled: medians of the per-cloud figures.

    ``in_range_share`` weighs each cloud by its returns; ``intensity`` is the median of the
    per-cloud p50s and of the p99s (cloud units; None when no cloud had points in range).
    """

    clouds: int
    returns: float
    slots: float
    in_range_share: float
    intensity: tuple[float, float] | None

    def intensity_in_model_units(self, reference: InputReference) -> tuple[float, float] | None:
        """Give the pooled (p50, p99) in the model's units (the mapping keeps their order)."""
        if self.intensity is None:
            return None
        return (reference.to_model_units(self.intensity[0]),
                reference.to_model_units(self.intensity[1]))


def window_health(clouds: Sequence[CloudHealth]) -> WindowHealth | None:
    """Pool the health of ``clouds``; None for none."""
    if not clouds:
        return None
    returns = np.array([c.returns for c in clouds], dtype=np.float64)
    shares = np.array([c.in_range_share for c in clouds], dtype=np.float64)
    counted = np.isfinite(shares) & (returns > 0)
    share = (float(np.average(shares[counted], weights=returns[counted])) if counted.any()
             else math.nan)
    lit = [c.intensity for c in clouds if c.intensity is not None]
    intensity = (None if not lit else
                 (float(np.median([p[0] for p in lit])), float(np.median([p[1] for p in lit]))))
    return WindowHealth(len(clouds), float(np.median(returns)),
                        float(np.median([c.slots for c in clouds])), share, intensity)


def input_problems(window: WindowHealth, reference: InputReference) -> list[str]:
    """Say what is off about the pooled clouds, each with the parameter to change; [] if none."""
    problems = []
    if window.in_range_share < MIN_IN_RANGE_SHARE:  # NaN (no returns): nothing to say
        applied = (f"with cloud_to_model '{reference.cloud_to_model}'"
                   if reference.cloud_to_model else "with no cloud_to_model")
        problems.append(
            f"only {window.in_range_share:.0%} of the points lie inside the model's range "
            f"({reference.range_text()}) {applied}; set cloud_to_model to the pose of the "
            f"cloud's frame in the model's (x forward, z up), e.g. "
            f"\"{ZVISION_CLOUD_TO_MODEL}\" for a +y-forward Zvision driver")
    problem = _intensity_problem(window, reference)
    if problem:
        problems.append(problem)
    return problems


def _intensity_problem(window: WindowHealth, reference: InputReference) -> str:
    model = window.intensity_in_model_units(reference)
    trained, trained_cloud = (reference.training_intensity,
                              reference.training_intensity_in_cloud_units)
    if model is None or trained is None or trained_cloud is None or window.intensity is None:
        return ""
    if trained[0] > 0:
        ratio = model[0] / trained[0]
    else:  # a model trained on a median of 0: only a brighter cloud is off
        ratio = 1.0 if model[0] <= trained[0] else math.inf
    if 1.0 / MAX_INTENSITY_RATIO <= ratio <= MAX_INTENSITY_RATIO:
        return ""
    cloud_p50 = window.intensity[0]
    how = (f"{ratio:.1f}x brighter" if ratio > 1 else
           f"{1 / ratio:.1f}x darker" if ratio > 0 else "far darker")
    lo, hi = reference.cloud_intensity_range
    return (f"the clouds' median intensity {cloud_p50:.3g} ({model[0]:.3g} in the model's "
            f"units) is {how} than the model's training data's {trained_cloud[0]:.3g} "
            f"({trained[0]:.3g}) through intensity_range [{lo:g}, {hi:g}]; "
            + _intensity_range_advice(window.intensity, reference))


def _intensity_range_advice(intensity: tuple[float, float], reference: InputReference) -> str:
    """Suggest the intensity_range that maps the clouds' median (else p99) onto the training's."""
    (s_lo, _), (t_lo, t_hi) = reference.cloud_intensity_range, reference.model_intensity_range
    trained = reference.training_intensity or (t_lo, t_lo)
    for name, cloud, model in (("medians", intensity[0], trained[0]),
                               ("p99s", intensity[1], trained[1])):
        if cloud > s_lo and model > t_lo:
            hi = s_lo + (cloud - s_lo) * (t_hi - t_lo) / (model - t_lo)
            return f"set intensity_range to [{s_lo:g}, {hi:.3g}] to line the {name} up"
    return "set intensity_range to the range of the driver's intensity values"


def _pair(values: tuple[float, float] | None, none: str) -> str:
    return none if values is None else f"{values[0]:.3g} / {values[1]:.3g}"


def input_figures(window: WindowHealth, reference: InputReference) -> list[tuple[str, str]]:
    """
    Name and format the pooled figures next to the model's (``/diagnostics`` key/values).

    Intensities in the clouds' units (the training data's mapped back through
    ``intensity_range``), then in the model's.
    """
    untrained = "not recorded in the model"
    share = ("no returns" if math.isnan(window.in_range_share)
             else f"{100 * window.in_range_share:.1f}")
    trained_cloud = _pair(reference.training_intensity_in_cloud_units, untrained)
    model = _pair(window.intensity_in_model_units(reference), "no points in range")
    return [
        ("returns per cloud", f"{window.returns:.0f} of {window.slots:.0f} slots"),
        ("points in model range [%]", share),
        ("model range [m]", reference.range_text()),
        ("intensity p50 / p99", _pair(window.intensity, "no points in range")),
        ("training intensity p50 / p99", trained_cloud),
        ("intensity p50 / p99 [model units]", model),
        ("training intensity p50 / p99 [model units]",
         _pair(reference.training_intensity, untrained)),
    ]
