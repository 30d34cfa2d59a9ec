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
Windowed statistics of a stream: timed samples of the last seconds, percentiles and rates.

One :class:`TimedWindow` per thing counted (clouds received, latencies of the answers, ...) is
fed as events happen; readers ask for the samples, counts or a :class:`LatencySummary` of the
window ending now. Times are passed in by the caller (monotonic seconds), so tests need no
sleeping.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
import math
import threading
from typing import Deque, Iterable, Sequence

import numpy as np


def percentiles(values: Sequence[float] | np.ndarray, qs: Sequence[float]) -> list[float]:
    """Give the ``qs``-th percentiles of ``values`` (linear interpolation); NaN each for none."""
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0:
        return [math.nan] * len(qs)
    return [float(v) for v in np.percentile(array, list(qs))]


@dataclass(frozen=True)
class LatencySummary:
    """Statistics over the frames of one window; milliseconds and frames per second."""

    frames: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float

    @property
    def rate_hz(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def __str__(self) -> str:
        return (f"{self.frames} frames in {self.seconds:.1f} s ({self.rate_hz:.1f} Hz), "
                f"latency p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms, "
                f"max {self.max_ms:.1f} ms")


class TimedWindow:
    """
    Samples (time [s], value) of the last ``window_s`` seconds, (now - window_s, now].

    ``start_s`` is when the stream began (the rate's time base while it is younger than the
    window); None: the first sample's time. Thread-safe.
    """

    def __init__(self, window_s: float = 5.0, start_s: float | None = None) -> None:
        if window_s <= 0:
            raise ValueError(f"window_s must be > 0, got {window_s}")
        self.window_s = window_s
        self.start_s = start_s
        self._samples: Deque[tuple[float, float]] = deque()
        self._lock = threading.Lock()

    def add(self, now_s: float, value: float = 0.0) -> None:
        """Record a sample (an event, when its value does not matter) at ``now_s``."""
        with self._lock:
            if self.start_s is None:
                self.start_s = now_s
            self._samples.append((now_s, value))
            self._expire(now_s)

    def values(self, now_s: float, within_s: float | None = None) -> np.ndarray:
        """Values (K,) float64 of the samples in the window ending at ``now_s``, or its end."""
        within_s = self.window_s if within_s is None else min(within_s, self.window_s)
        with self._lock:
            self._expire(now_s)
            return np.array([value for time_s, value in self._samples
                             if time_s > now_s - within_s], dtype=np.float64)

    def count(self, now_s: float, within_s: float | None = None) -> int:
        """Count the samples in the window ending at ``now_s``, or in its last ``within_s``."""
        return int(self.values(now_s, within_s).size)

    def summary(self, now_s: float) -> LatencySummary:
        """Summarize the values as latencies [ms] over the window ending at ``now_s``."""
        return latency_summary([self], now_s, self.window_s)

    def _expire(self, now_s: float) -> None:
        while self._samples and self._samples[0][0] <= now_s - self.window_s:
            self._samples.popleft()


def latency_summary(windows: Iterable[TimedWindow], now_s: float,
                    window_s: float) -> LatencySummary:
    """Summarize the latencies [ms] of several windows together, over ``window_s`` to ``now_s``."""
    windows = list(windows)
    values = np.concatenate([np.zeros(0)] + [w.values(now_s, window_s) for w in windows])
    starts = [w.start_s for w in windows if w.start_s is not None]
    started = min(starts) if starts else now_s - window_s
    # the rate's time base is the window, or less while the stream is younger than it
    span = min(window_s, max(now_s - started, 1e-9))
    if values.size == 0:
        return LatencySummary(0, span, 0.0, 0.0, 0.0)
    p50, p99 = percentiles(values, (50, 99))
    return LatencySummary(int(values.size), span, p50, p99, float(values.max()))
