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

"""Tests of tao_pointpillars_py.ros.health: rates, drops, latency, input health and the level."""

import numpy as np
import pytest

from tao_pointpillars_py.core.input_health import CloudHealth, InputReference
from tao_pointpillars_py.ros.health import ERROR, OK, StreamHealth, WARN

RANGE = (0.0, -25.6, -3.0, 40.96, 25.6, 3.0)


def _values(status):
    return dict(status.values)


def test_a_stream_that_keeps_up_is_ok_with_its_rates_and_latency():
    health = StreamHealth(window_s=5.0)
    for i in range(50):  # 10 Hz for 5 s, each answered 40 ms later
        health.received(0.01 + i * 0.1, "lidar_front")
        health.answered(0.05 + i * 0.1, 40.0 + (i % 5))
    status = health.status(5.0, "pointpillars: /ns1/points", {"backend": "onnxruntime"})
    values = _values(status)
    assert status.level == OK and status.message == "keeping up"
    assert status.hardware_id == "lidar_front"
    assert values["input rate [Hz]"] == "10.00" and values["output rate [Hz]"] == "10.00"
    assert values["latency p50 [ms]"] == "42.0" and values["backend"] == "onnxruntime"
    assert values["dropped in window"] == "0"


def test_drops_and_slow_answers_warn_and_say_why():
    health = StreamHealth(window_s=5.0)
    for i in range(50):
        health.received(0.01 + i * 0.1)
        if i % 2:
            health.dropped(0.01 + i * 0.1)
        elif i < 48:
            health.answered(0.16 + i * 0.1, 150.0)
    status = health.status(5.0, "s")
    assert status.level == WARN
    assert "25 clouds dropped" in status.message
    assert "latency p99 150 ms exceeds the input period 100 ms" in status.message
    assert _values(status)["dropped total"] == "25"


@pytest.mark.parametrize("events, level, message", [
    ([], OK, "no clouds in the last 5 s"),
    ([("received", 1.0), ("received", 2.0)], ERROR, "none is answered"),
    ([("received", 1.0), ("skipped", 1.0), ("received", 2.0)], ERROR, "none is answered"),
])
def test_silence_and_a_stuck_node_are_told_apart(events, level, message):
    health = StreamHealth(window_s=5.0)
    for kind, when in events:
        getattr(health, kind)(when)
    status = health.status(5.0, "s")
    assert status.level == level and message in status.message


def test_events_leave_the_window_but_stay_in_the_totals():
    health = StreamHealth(window_s=1.0)
    health.received(0.0)
    health.skipped(0.0)
    health.received(0.5)
    health.answered(0.6, 10.0)
    assert health.status(1.2, "s").level == OK  # the skip at 0.0 left the window
    values = _values(health.status(1.2, "s"))
    assert values["skipped in window"] == "0" and values["skipped total"] == "1"


def test_the_last_skip_reason_is_reported_once_a_cloud_was_skipped():
    health = StreamHealth(window_s=1.0)
    health.received(0.0)
    assert "last skip reason" not in _values(health.status(0.5, "s"))
    health.skipped(0.1, "PointCloud2 lacks field(s) ['x']")
    health.skipped(0.2, "field 'y' has unsupported PointField datatype 0")
    values = _values(health.status(5.0, "s"))  # long after the skips left the window
    assert values["last skip reason"] == "field 'y' has unsupported PointField datatype 0"
    assert values["skipped total"] == "2"


def test_latencies_are_kept_longer_than_the_diagnostics_window_when_asked():
    health = StreamHealth(window_s=1.0, latency_window_s=10.0, start_s=0.0)
    health.received(0.5)
    health.answered(0.6, 10.0)
    health.received(4.5)
    health.answered(4.6, 30.0)
    assert _values(health.status(5.0, "s"))["latency p50 [ms]"] == "30.0"
    np.testing.assert_array_equal(health.latencies.values(5.0), [10.0, 30.0])


def _answered_clouds(health, clouds, start=0.0):
    for i, cloud in enumerate(clouds):
        health.received(start + 0.1 * i, "zvision_lidar")
        health.answered(start + 0.1 * i + 0.03, 30.0, cloud)


def test_input_figures_sit_next_to_the_models_and_in_range_clouds_stay_ok():
    health = StreamHealth(window_s=5.0)
    _answered_clouds(health, [CloudHealth(40_800, 51_200, 0.98, (2.0, 42.0))] * 10)
    reference = InputReference(RANGE, (0.0, 1.0), (0.0, 255.0), None, "0 0 0 0 0 -90")
    status = health.status(1.5, "s", {"backend": "onnxruntime"}, reference)
    values = _values(status)
    assert status.level == OK and status.message == "keeping up"
    assert values["points in model range [%]"] == "98.0"
    assert values["returns per cloud"] == "40800 of 51200 slots"
    assert values["intensity p50 / p99"] == "2 / 42"
    assert values["intensity p50 / p99 [model units]"] == "0.00784 / 0.165"
    assert values["training intensity p50 / p99"] == "not recorded in the model"
    assert values["model range [m]"] == "x 0..40.96, y -25.6..25.6, z -3..3 m"
    assert values["backend"] == "onnxruntime"
    assert "points in model range [%]" not in _values(health.status(1.5, "s"))  # no reference


def test_a_cloud_in_the_wrong_frame_and_a_dark_driver_warn_with_what_to_set():
    health = StreamHealth(window_s=5.0)
    _answered_clouds(health, [CloudHealth(40_800, 51_200, 0.54, (2.0, 42.0))] * 10)
    reference = InputReference(RANGE, (0.0, 1.0), (0.0, 255.0), (0.117, 0.6))
    status = health.status(1.5, "s", {}, reference)
    values = _values(status)
    assert status.level == WARN
    assert "only 54% of the points lie inside the model's range" in status.message
    assert "with no cloud_to_model; set cloud_to_model to" in status.message
    assert "set intensity_range to [0, 17.1] to line the medians up" in status.message
    assert values["training intensity p50 / p99"] == "29.8 / 153"
    assert values["training intensity p50 / p99 [model units]"] == "0.117 / 0.6"


def test_input_health_leaves_with_the_window():
    health = StreamHealth(window_s=1.0)
    reference = InputReference(RANGE, (0.0, 1.0), (0.0, 255.0))
    _answered_clouds(health, [CloudHealth(100, 100, 0.1, (2.0, 4.0))] * 3)
    assert health.status(0.5, "s", {}, reference).level == WARN
    _answered_clouds(health, [CloudHealth(100, 100, 0.9, (2.0, 4.0))] * 3, start=2.0)
    status = health.status(2.5, "s", {}, reference)
    assert status.level == OK and _values(status)["points in model range [%]"] == "90.0"
    assert "points in model range [%]" not in _values(health.status(9.0, "s", {}, reference))
