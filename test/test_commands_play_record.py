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

"""``tao-pointpillars play`` and ``record`` as processes: a bag goes out and comes back."""

import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="ROS 2 not installed: run scripts/setup-ros.sh")

from ros_fixtures import ros_environment  # noqa: E402
from tao_pointpillars_py.bag import read_clouds, write_cloud_bag  # noqa: E402

TOPIC = "/ns1/zvision_lidar_points"


def _cli(*args):
    return [sys.executable, "-m", "tao_pointpillars_py.cli", *args]


def test_play_then_record_gives_the_same_clouds(tmp_path):
    rng = np.random.default_rng(1)
    frames = [(1_700_000_000_000_000_000 + i * 100_000_000,
               rng.normal(size=(300, 4)).astype(np.float32)) for i in range(6)]
    write_cloud_bag(tmp_path / "in", frames, topic=TOPIC, storage="mcap")
    env = ros_environment()
    player = subprocess.Popen(_cli("play", str(tmp_path / "in"), "--rate", "2", "--delay", "6"),
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    recorder = subprocess.run(
        _cli("record", "--out", str(tmp_path / "out"), "--topic", TOPIC, "--duration", "12",
             "--storage", "sqlite3"), env=env, capture_output=True, text=True, timeout=120)
    played = player.communicate(timeout=60)[0].decode()
    assert player.returncode == 0, played
    assert recorder.returncode == 0, recorder.stderr
    assert "published 6 messages" in played
    assert f"{TOPIC} 6 messages" in recorder.stdout
    recorded = list(read_clouds(tmp_path / "out", [TOPIC]))
    assert [c.timestamp_ns for c in recorded] != []
    for (_, points), cloud in zip(frames, recorded, strict=True):
        np.testing.assert_array_equal(cloud.points, points)


def test_record_without_a_publisher_says_so(tmp_path):
    result = subprocess.run(
        _cli("record", "--out", str(tmp_path / "out"), "--topic", "/nobody",
             "--discovery-timeout", "1"), env=ros_environment(), capture_output=True, text=True,
        timeout=180)
    assert result.returncode == 2
    assert "no publisher of ['/nobody'] appeared" in result.stderr
