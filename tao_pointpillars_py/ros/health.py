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

What the answered clouds look like to the model (:mod:`..core.input_health`): the share of
their points inside the model's range and their intensity p50 / p99 next to the model's
training data's; WARN, naming the parameter to change (``cloud_to_model``,
``intensity_range``), when the pooled figures are off.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
import threading
from typing import Deque, Mapping

from ..core.input_health import (CloudHealth, input_figures, input_problems, InputReference,
                                 window_health)
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
        self._inputs: Deque[tuple[float, CloudHealth]] = deque()  # the window's answered clouds
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

    def answered(self, now_s: float, latency_ms: float,
                 health: CloudHealth | None = None) -> None:
        """Record an answer, its latency and what the cloud looked like to the model."""
        self.latencies.add(now_s, latency_ms)
        with self._lock:
            self._totals["answered"] += 1
            if health is not None:
                self._inputs.append((now_s, health))
                self._expire_inputs(now_s)

    def _expire_inputs(self, now_s: float) -> None:
        while self._inputs and self._inputs[0][0] <= now_s - self.window_s:
            self._inputs.popleft()

    def input_status(self, now_s: float, reference: InputReference
                     ) -> tuple[list[tuple[str, str]], list[str]]:
        """Give the window's input figures (key/values) and what is off about them."""
        with self._lock:
            self._expire_inputs(now_s)
            clouds = [health for _, health in self._inputs]
        window = window_health(clouds)
        if window is None:
            return [], []
        return input_figures(window, reference), input_problems(window, reference)

    def _record(self, kind: str, now_s: float) -> None:
        self._events[kind].add(now_s)
        with self._lock:
            self._totals[kind] += 1

    def totals(self) -> dict[str, int]:
        """Clouds received, answered, dropped and skipped since the start (a copy)."""
        with self._lock:
            return dict(self._totals)

    def status(self, now_s: float, name: str, context: Mapping[str, str] = {},
               reference: InputReference | None = None) -> StreamStatus:
        """
        Summarize the window ending at ``now_s`` as a diagnostic status named ``name``.

        With ``reference`` (the detector's), the answered clouds' input figures and problems
        are part of it.
        """
        figures, input_warnings = ([], []) if reference is None else self.input_status(
            now_s, reference)
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
        problems += input_warnings
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
        values += figures + list(context.items())
        return StreamStatus(level, name, message, self.frame_id, tuple(values))
