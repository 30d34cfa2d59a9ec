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
Integration test: the node with params/zvision_ml30s.yaml on the real ML-30S-A1 recording.

The vendor's capture (test/data_files/zvision) decoded as its ROS 2 driver publishes it
(51,200 slots, (0, 0, 0) where no return came, +y forward), sent to the node's own process
over Fast DDS on loopback; its answers and its /diagnostics input figures are read back.
"""

from pathlib import Path
import threading

import pytest

pytest.importorskip("rclpy", reason="ROS 2 not installed: run scripts/setup-ros.sh")
pytest.importorskip("vision_msgs.msg", reason="vision_msgs missing: run scripts/setup-ros.sh")

from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from ros_fixtures import holds_within, REPO, SpinningNode, start_node  # noqa: E402
from sensor_msgs.msg import PointCloud2, PointField  # noqa: E402
from tao_pointpillars_py.core import stamps  # noqa: E402
from tao_pointpillars_py.core.pointcloud2 import zvision_fields  # noqa: E402
from tao_pointpillars_py.data.zvision_pcap import (cloud_records, decode_capture,  # noqa: E402
                                                   frame_stamp)
from tao_pointpillars_py.tools.processes import stop_process  # noqa: E402
from vision_msgs.msg import Detection3DArray  # noqa: E402

ZVISION = Path(__file__).resolve().parents[1] / "data_files" / "zvision"
PARAMS = REPO / "params" / "zvision_ml30s.yaml"
NAMESPACE = "/ns1"
#: frames of the recording sent to each node (of its 10): enough for a window's figures
FRAMES = 3
WARN = 1


def driver_clouds(count):
    """Give the recording's first ``count`` frames as the driver's PointCloud2 messages."""
    clouds = []
    for decoded in decode_capture(ZVISION / "ML30S_A1_Default.pcap",
                                  ZVISION / "ML30S_A1_Default.cal")[:count]:
        records = cloud_records(decoded)
        msg = PointCloud2()
        msg.header.stamp.sec, msg.header.stamp.nanosec = stamps.split_ns(frame_stamp(decoded))
        msg.header.frame_id = "zvision_lidar"
        msg.height, msg.width = 1, len(records)
        msg.fields = [PointField(name=n, offset=o, datatype=t, count=c)
                      for n, o, t, c in zvision_fields()]
        msg.is_bigendian, msg.is_dense = False, False
        msg.point_step, msg.row_step = 32, 32 * len(records)
        msg.data = records.tobytes()
        clouds.append(msg)
    return clouds


class DriverHarness(SpinningNode):
    """Publishes as the driver in NAMESPACE; keeps the node's answers and its /diagnostics."""

    def __init__(self) -> None:
        from diagnostic_msgs.msg import DiagnosticArray
        super().__init__("zvision_driver_harness")
        qos = QoSProfile(depth=4)
        qos.reliability = ReliabilityPolicy.RELIABLE
        self.publisher = self.node.create_publisher(
            PointCloud2, f"{NAMESPACE}/zvision_lidar_points", qos)
        self.lock = threading.Lock()
        self.answers = {}  # stamp [ns] -> Detection3DArray
        self.status = None  # the newest status of the node's input stream
        self.node.create_subscription(Detection3DArray, f"{NAMESPACE}/bbox", self._on_answer,
                                      QoSProfile(depth=20))
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics,
                                      QoSProfile(depth=20))
        self.spin()

    def _on_answer(self, msg):
        with self.lock:
            self.answers[stamps.stamp_ns(msg.header.stamp)] = msg

    def _on_diagnostics(self, msg):
        with self.lock:
            for status in msg.status:
                if status.name.endswith("zvision_lidar_points"):
                    level = status.level  # a byte: bytes in rclpy
                    self.status = (level if isinstance(level, int) else ord(level),
                                   status.message,
                                   {kv.key: kv.value for kv in status.values})

    def holds(self, condition, timeout_s, process):
        """Tell whether ``condition()`` holds over what was received within ``timeout_s``."""
        def locked():
            with self.lock:
                return condition()
        return holds_within(locked, timeout_s, process)

    def send(self, msg, process, attempts=4, timeout_s=40.0):
        """Publish ``msg`` until its answer arrives (best effort may lose a 1.6 MB cloud)."""
        stamp = stamps.stamp_ns(msg.header.stamp)
        for _ in range(attempts):
            self.publisher.publish(msg)
            if self.holds(lambda: stamp in self.answers, timeout_s / attempts, process):
                return self.answers[stamp]
        return None


@pytest.fixture(scope="module")
def clouds():
    return driver_clouds(FRAMES)


def _run_node(tmp_path, clouds, *parameters):
    """Start the node in NAMESPACE with the Zvision params file, send ``clouds``; its replies."""
    log = tmp_path / "node.log"
    process = start_node("--params-file", str(PARAMS), "-r", f"__ns:={NAMESPACE}", *parameters,
                         log_path=log)
    harness = DriverHarness()
    try:
        assert harness.holds(lambda: harness.publisher.get_subscription_count() > 0
                             and all(s.get_publisher_count() > 0
                                     for s in harness.node.subscriptions), 60.0, process), \
            f"the node did not come up: {log.read_text()[-2000:]}"
        answers = [harness.send(msg, process) for msg in clouds]
        # /diagnostics once a second, over the last 5 s: wait for one that counts every answer
        counted = harness.holds(
            lambda: harness.status is not None
            and int(harness.status[2]["answered total"]) >= len(clouds)
            and "points in model range [%]" in harness.status[2], 15.0, process)
        assert counted, f"no /diagnostics with the input figures: {harness.status}"
        return answers, harness.status, log.read_text()
    finally:
        harness.close()
        stop_process(process, timeout_s=15)


def test_the_node_with_the_zvision_params_answers_the_real_recording_in_range(tmp_path,
                                                                              clouds):
    answers, (level, message, values), log = _run_node(tmp_path, clouds)
    assert all(answer is not None for answer in answers), log[-2000:]
    for msg, answer in zip(clouds, answers):
        assert answer.header.frame_id == "zvision_lidar"
        assert answer.header.stamp == msg.header.stamp
    share = float(values["points in model range [%]"])
    assert share > 95.0, values
    returns, slots = values["returns per cloud"].split(" of ")
    assert 40_000 < int(returns) < 51_200 and slots == "51200 slots"
    p50, p99 = (float(v) for v in values["intensity p50 / p99"].split(" / "))
    assert p50 == 2.0 and 38.0 <= p99 <= 46.0
    trained_p50, trained_p99 = (float(v) for v in
                                values["training intensity p50 / p99"].split(" / "))
    assert trained_p50 == 2.0 and 38.0 <= trained_p99 <= 56.0
    assert level != WARN, message  # in range and as bright as the model's training data
    assert "cloud_to_model '0 0 0 0 0 -90'" in log


def test_the_real_recording_without_cloud_to_model_warns_naming_it(tmp_path, clouds):
    answers, (level, message, values), _ = _run_node(tmp_path, clouds[:2], "-p",
                                                     "cloud_to_model:=0 0 0 0 0 0")
    assert all(answer is not None for answer in answers)
    assert 45.0 < float(values["points in model range [%]"]) < 65.0, values
    assert level == WARN
    assert "of the points lie inside the model's range (x 0..40.96, y -25.6..25.6, z -3..3 m) " \
           "with no cloud_to_model; set cloud_to_model to" in message
    assert '"0 0 0 0 0 -90" for a +y-forward Zvision driver' in message
