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

"""Tests of tao_pointpillars_py.core.stats: timed windows, percentiles and latency summaries."""

import math

import numpy as np
import pytest

from tao_pointpillars_py.core.stats import latency_summary, percentiles, TimedWindow


def test_summary_of_a_steady_stream():
    window = TimedWindow(window_s=5.0)
    for i in range(80):  # 8 Hz (exact binary times) for 10 s, latency 10..89 ms
        window.add(i / 8, 10.0 + i)
    summary = window.summary(79 / 8)
    assert summary.frames == 40                      # only the last 5 s: i = 40..79
    assert summary.rate_hz == pytest.approx(8.0)
    assert summary.p50_ms == pytest.approx(69.5)     # median of 50..89
    assert summary.max_ms == 89.0
    assert 88.0 < summary.p99_ms < 89.0


def test_young_stream_rate_uses_its_own_age():
    window = TimedWindow(window_s=10.0)
    for i in range(5):
        window.add(100.0 + i * 0.5, 1.0)
    assert window.summary(102.0).rate_hz == pytest.approx(2.5)


def test_rate_counts_from_the_given_start():
    window = TimedWindow(window_s=10.0, start_s=0.0)
    window.add(3.9, 1.0)
    assert window.summary(4.0).rate_hz == pytest.approx(0.25)


def test_empty_window_reports_zero():
    window = TimedWindow(window_s=1.0)
    window.add(0.0, 5.0)
    summary = window.summary(10.0)
    assert summary.frames == 0 and summary.rate_hz == 0.0
    assert "0 frames" in str(summary)


def test_window_must_be_positive():
    with pytest.raises(ValueError, match="window_s"):
        TimedWindow(0)


def test_counts_and_values_of_the_last_seconds_of_a_longer_window():
    window = TimedWindow(window_s=10.0)
    for i in range(10):
        window.add(float(i), float(i))
    assert window.count(9.0) == 10
    np.testing.assert_array_equal(window.values(9.0, within_s=3.0), [7.0, 8.0, 9.0])
    assert window.count(9.0, within_s=100.0) == 10   # never more than the window keeps


def test_several_windows_summarize_together_from_the_earliest_start():
    front, rear = TimedWindow(10.0, start_s=0.0), TimedWindow(10.0, start_s=0.0)
    for i in range(10):
        front.add(1.0 + i * 0.2, 10.0)
        rear.add(1.1 + i * 0.2, 30.0)
    summary = latency_summary([front, rear], 4.0, 10.0)
    assert summary.frames == 20 and summary.rate_hz == pytest.approx(5.0)   # 20 in 4 s
    assert summary.p50_ms == pytest.approx(20.0) and summary.max_ms == 30.0


def test_percentiles_interpolate_and_are_nan_for_no_values():
    values = list(range(1, 101))
    assert percentiles(values, (50, 99)) == [50.5, pytest.approx(99.01)]
    assert percentiles([3.0, 1.0, 2.0], (50,)) == [2.0]
    assert all(math.isnan(v) for v in percentiles([], (50, 99)))
