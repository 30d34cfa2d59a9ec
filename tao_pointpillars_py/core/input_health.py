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
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

INTENSITY_PERCENTILES = (50.0, 99.0)
TRAINING_INTENSITY_KEYS = ("training.intensity_p50", "training.intensity_p99")


def in_range_mask(points: np.ndarray,
                  point_cloud_range: Sequence[float]) -> np.ndarray:
    """Boolean mask of the points (N, >=3) with ``min <= coord < max`` on x, y and z."""
    r = [np.float32(v) for v in point_cloud_range]
    mask = points[:, 0] >= r[0]
    for axis in range(3):
        if axis:
            mask &= points[:, axis] >= r[axis]
        mask &= points[:, axis] < r[axis + 3]
    return mask


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
