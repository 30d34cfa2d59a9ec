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
Health of one input stream over a sliding window: what the node reports on ``/diagnostics``.

Per input topic: input and output rate, clouds dropped by the overload policy (a newer cloud
arrived before the waiting one was answered) and skipped (malformed, or inference failed),
and the latency from arrival to answer (p50 / p99). The level is WARN when clouds were dropped
or skipped in the window, or when the p99 latency exceeds the input period (the node cannot
keep up); ERROR when clouds arrive but none is answered.
"""

from __future__ import annotations

from dataclasses import dataclass
import threading
from typing import Mapping

from ..core.stats import percentiles, TimedWindow

OK, WARN, ERROR = 0, 1, 2  # diagnostic_msgs/DiagnosticStatus levels


@dataclass(frozen=True)
class StreamStatus:
    """One DiagnosticStatus: level, name, message, hardware id and key/value pairs."""

    level: int
    name: str
    message: str
    hardware_id: str
    values: tuple[tuple[str, str], ...]


class StreamHealth:
    """
    Events of one input topic in the last ``window_s`` seconds (monotonic times passed in).

    The latencies of the answers are kept ``latency_window_s`` seconds (at least ``window_s``)
    in :attr:`latencies`, for a longer summary than the diagnostics' (the node's log);
    ``start_s`` is when the stream began (the rate's time base there). Thread-safe: the
    subscription callback, the inference thread and the diagnostics timer each record or read.
    """

    def __init__(self, window_s: float = 5.0, latency_window_s: float = 0.0,
                 start_s: float | None = None) -> None:
        self._events = {k: TimedWindow(window_s) for k in ("received", "dropped", "skipped")}
        self.window_s = window_s  # TimedWindow refused a window_s <= 0
        #: latency [ms] of each answer, from the cloud's arrival
        self.latencies = TimedWindow(max(window_s, latency_window_s), start_s)
        self._totals = {"received": 0, "dropped": 0, "skipped": 0, "answered": 0}
        self._lock = threading.Lock()
        self.frame_id = ""
        self.last_skip_reason = ""  # every reason reaches /diagnostics; the log is throttled

    def received(self, now_s: float, frame_id: str = "") -> None:
        self._record("received", now_s)
        if frame_id:
            self.frame_id = frame_id

    def dropped(self, now_s: float) -> None:
        self._record("dropped", now_s)

    def skipped(self, now_s: float, reason: str = "") -> None:
        with self._lock:
            self.last_skip_reason = reason
        self._record("skipped", now_s)

    def answered(self, now_s: float, latency_ms: float) -> None:
        self.latencies.add(now_s, latency_ms)
        with self._lock:
            self._totals["answered"] += 1

    def _record(self, kind: str, now_s: float) -> None:
        self._events[kind].add(now_s)
        with self._lock:
            self._totals[kind] += 1

    def totals(self) -> dict[str, int]:
        """Clouds received, answered, dropped and skipped since the start (a copy)."""
        with self._lock:
            return dict(self._totals)

    def status(self, now_s: float, name: str, context: Mapping[str, str] = {}
               ) -> StreamStatus:
        """Summarize the window ending at ``now_s`` as a diagnostic status named ``name``."""
        counts = {k: events.count(now_s) for k, events in self._events.items()}
        latencies = self.latencies.values(now_s, self.window_s)
        with self._lock:
            totals = dict(self._totals)
            last_skip_reason = self.last_skip_reason
        input_hz = counts["received"] / self.window_s
        output_hz = latencies.size / self.window_s
        p50, p99 = percentiles(latencies, (50, 99))
        period_ms = 1000.0 / input_hz if input_hz > 0 else float("inf")
        problems = []
        if counts["dropped"]:
            problems.append(f"{counts['dropped']} clouds dropped (inference slower than input)")
        if counts["skipped"]:
            problems.append(f"{counts['skipped']} clouds skipped (malformed or inference failed)")
        if latencies.size and p99 > period_ms:
            problems.append(f"latency p99 {p99:.0f} ms exceeds the input period "
                            f"{period_ms:.0f} ms")
        if counts["received"] and not latencies.size:
            level, message = ERROR, "clouds arrive but none is answered"
        elif problems:
            level, message = WARN, "; ".join(problems)
        elif not counts["received"]:
            level, message = OK, f"no clouds in the last {self.window_s:g} s"
        else:
            level, message = OK, "keeping up"
        values = [("input rate [Hz]", f"{input_hz:.2f}"), ("output rate [Hz]", f"{output_hz:.2f}"),
                  ("dropped in window", str(counts["dropped"])),
                  ("skipped in window", str(counts["skipped"])),
                  ("latency p50 [ms]", f"{p50:.1f}"), ("latency p99 [ms]", f"{p99:.1f}"),
                  ("window [s]", f"{self.window_s:g}"),
                  ("received total", str(totals["received"])),
                  ("answered total", str(totals["answered"])),
                  ("dropped total", str(totals["dropped"])),
                  ("skipped total", str(totals["skipped"]))]
        if last_skip_reason:
            values.append(("last skip reason", last_skip_reason))
        values += list(context.items())
        return StreamStatus(level, name, message, self.frame_id, tuple(values))
