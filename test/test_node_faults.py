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
Faults of the node process: bad start-up configuration, and SIGINT / SIGTERM.

A configuration the node cannot start with ends it with status 1 and one log line,
``cannot start: <what is wrong, the file, what to do>``, and no traceback.

SIGINT and SIGTERM are both a request to stop, so the node ends with status 0 (not the
conventional 128 + signal of a process killed by the signal): rclpy's handlers shut the
context down and the node's ``main()`` turns the signal into a quiet return from ``spin``.
This holds while it runs and while it starts; a signal that lands while Python is still
importing the node's modules, before ``main()`` runs, gets Python's default behaviour.
"""

import signal
import time

import pytest

pytest.importorskip("rclpy", reason="ROS 2 not installed: run scripts/setup-ros.sh")
pytest.importorskip("vision_msgs.msg", reason="vision_msgs missing: run scripts/setup-ros.sh")

from ros_fixtures import start_node  # noqa: E402
from tao_pointpillars_py.commands.demo import stop_process  # noqa: E402
from test_faults import broken_model  # noqa: E402

#: kind of bad model file -> words of the node's message after the file name
MODEL_FAULTS = {
    "missing": "does not exist; set model_path to an ONNX model",
    "truncated": "is not a readable ONNX model: it is truncated or corrupted",
    "text": "is not a readable ONNX model: it is a text file",
    "no-metadata": "lacks the metadata_props class_names, point_cloud_range",
}
FIXES = {
    "missing": "(e.g. the reference models/pointpillars_zvision.onnx)",
    "truncated": "copy the complete .onnx file again, or re-export it with `tao-pointpillars "
                 "export`",
    "no-metadata": "export it with `tao-pointpillars export`",
}


def wait_for_log(log, text, process, timeout_s=60.0):
    """Wait until ``text`` is in the node's log; fail if the node exits first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if text in log.read_text():
            return
        if process.poll() is not None:
            raise AssertionError(f"node exited ({process.returncode}):\n{log.read_text()}")
        time.sleep(0.02)
    raise AssertionError(f"no {text!r} in the node's log:\n{log.read_text()}")


def assert_stopped_with_one_message(process, log, *fragments):
    assert process.wait(timeout=60) == 1
    text = log.read_text()
    assert text.count("cannot start: ") == 1, text
    line = next(line for line in text.splitlines() if "cannot start: " in line)
    assert "[FATAL]" in line and all(f in line for f in fragments), text
    assert "Traceback" not in text, text


@pytest.mark.parametrize("kind", sorted(MODEL_FAULTS))
def test_a_bad_model_file_stops_the_node_with_one_message(tmp_path, kind):
    model = broken_model(kind, tmp_path)
    log = tmp_path / "node.log"
    process = start_node("-p", f"model_path:={model}", log_path=log)
    assert_stopped_with_one_message(process, log, str(model), MODEL_FAULTS[kind],
                                    FIXES.get(kind, FIXES["truncated"]))


def test_a_configuration_refused_after_the_model_loaded_stops_quietly(tmp_path):
    log = tmp_path / "node.log"  # the node's __init__ fails half-way: no traceback either
    process = start_node("-p", "class_names:=[Car, Pedestrian, Cyclist]", log_path=log)
    assert_stopped_with_one_message(process, log, "set class_names to ['Vehicle', "
                                                  "'Pedestrian', 'Cyclist']")


def test_a_parameter_of_the_wrong_type_stops_the_node_with_one_message(tmp_path):
    log = tmp_path / "node.log"
    process = start_node("-p", "max_points:=many", log_path=log)
    assert_stopped_with_one_message(
        process, log, "Trying to set parameter 'max_points' to 'many' of type 'STRING', "
                      "expecting type 'INTEGER'", "params/pointpillars.yaml")


def test_malformed_ros_args_stop_the_node_with_one_message(tmp_path):
    log = tmp_path / "node.log"
    process = start_node("-p", "score_threshold", log_path=log)
    assert_stopped_with_one_message(process, log, "Couldn't parse parameter override rule: "
                                                  "'-p score_threshold'", "check the --ros-args")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("when,logged", [("running", "answering"),
                                         ("starting", "intensity range")])
def test_a_signal_stops_the_node_cleanly_within_seconds(tmp_path, signum, when, logged):
    # "starting": right after the model loaded, before (or, racing, just after) spin
    log = tmp_path / "node.log"
    process = start_node(log_path=log)
    try:
        wait_for_log(log, logged, process)
        started = time.monotonic()
        process.send_signal(signum)
        assert process.wait(timeout=10) == 0
        assert time.monotonic() - started < 5.0
    finally:
        stop_process(process, timeout_s=15)
    text = log.read_text()
    assert "Traceback" not in text and "Error" not in text, text
