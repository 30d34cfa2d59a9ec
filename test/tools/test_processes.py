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

"""Tests of tao_pointpillars_py.tools.processes: stopping a child process as Ctrl-C does."""

import signal
import subprocess
import sys
import time

from tao_pointpillars_py.tools.processes import stop_process

#: a child that says it is ready once its SIGINT handling is in place, then waits
CHILD = """
import signal, sys, time
mode = sys.argv[1]
if mode == "ignore":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
elif mode == "clean-exit":
    signal.signal(signal.SIGINT, lambda *_: sys.exit(3))
else:  # a test run started in the background (`cmd &`) hands SIGINT down ignored
    signal.signal(signal.SIGINT, signal.default_int_handler)
print("ready", flush=True)
time.sleep(60)
"""


def start_child(mode: str) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", CHILD, mode], stdout=subprocess.PIPE)
    assert process.stdout is not None and process.stdout.readline() == b"ready\n"
    process.stdout.close()  # it writes nothing more
    return process


def test_a_process_that_ends_on_sigint_is_stopped_by_it():
    process = start_child("default")  # Python's own handler: KeyboardInterrupt
    started = time.monotonic()
    stop_process(process, timeout_s=20)
    assert process.returncode == -signal.SIGINT
    assert time.monotonic() - started < 10


def test_a_process_that_handles_sigint_exits_with_its_own_status():
    process = start_child("clean-exit")
    stop_process(process, timeout_s=20)
    assert process.returncode == 3


def test_a_process_that_ignores_sigint_is_killed_after_the_timeout():
    process = start_child("ignore")
    started = time.monotonic()
    stop_process(process, timeout_s=0.5)
    waited = time.monotonic() - started
    assert process.returncode == -signal.SIGKILL
    assert 0.5 <= waited < 10


def test_a_process_that_has_ended_is_left_as_it_is():
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(7)"])
    process.wait(timeout=20)
    stop_process(process, timeout_s=0.1)
    assert process.returncode == 7
