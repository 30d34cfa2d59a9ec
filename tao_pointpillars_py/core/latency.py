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

"""Rolling latency and rate statistics of a stream of frames, for logs and diagnostics."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
import threading
from typing import Deque

import numpy as np


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


class LatencyWindow:
    """
    Latencies of the frames finished in the last ``window_s`` seconds, (now - window, now].

    ``start_s`` is when the stream began (the rate's time base while it is younger than the
    window). Thread-safe. Times are passed in by the caller (monotonic seconds), so tests need no
    sleeping.
    """

    def __init__(self, window_s: float = 5.0, start_s: float | None = None) -> None:
        if window_s <= 0:
            raise ValueError(f"window_s must be > 0, got {window_s}")
        self.window_s = window_s
        self._samples: Deque[tuple[float, float]] = deque()
        self._started_s = start_s  # None: the first frame's time
        self._lock = threading.Lock()

    def add(self, now_s: float, latency_ms: float) -> None:
        """Record a frame finished at ``now_s`` that took ``latency_ms``."""
        with self._lock:
            if self._started_s is None:
                self._started_s = now_s
            self._samples.append((now_s, latency_ms))
            self._expire(now_s)

    def summary(self, now_s: float) -> LatencySummary:
        """Statistics of the frames within the window ending at ``now_s``."""
        with self._lock:
            self._expire(now_s)
            values = np.array([latency for _, latency in self._samples], dtype=np.float64)
            started = now_s - self.window_s if self._started_s is None else self._started_s
        # the rate's time base is the window, or less while the stream is younger than it
        span = min(self.window_s, max(now_s - started, 1e-9))
        if values.size == 0:
            return LatencySummary(0, span, 0.0, 0.0, 0.0)
        return LatencySummary(int(values.size), span,
                              float(np.percentile(values, 50)),
                              float(np.percentile(values, 99)), float(values.max()))

    def _expire(self, now_s: float) -> None:
        while self._samples and self._samples[0][0] <= now_s - self.window_s:
            self._samples.popleft()
