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
Helpers of the ROS 2 integration tests: a node process, a test-side rclpy harness, clouds.

Everything is real: the node runs in its own process (``python -m
tao_pointpillars_py.node_main``, what the ``pointpillars_node`` entry point runs) and the
harness talks to it over Fast DDS on loopback, in a ROS domain of its own.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
import subprocess
import sys
import threading
import time
from typing import Any, Callable, Iterator, Mapping, Sequence

from cloud_fixtures import CloudLayout, POINT_FIELD_CODES, point_records
from diagnostic_msgs.msg import DiagnosticArray
import numpy as np
import rclpy
from rclpy.executors import Executor, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.publisher import Publisher
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rclpy.subscription import Subscription
from sensor_msgs.msg import PointCloud2, PointField
from tao_pointpillars_py.core import stamps
from tao_pointpillars_py.ros import spin
from tao_pointpillars_py.ros.dds_environment import isolated_environment
from tao_pointpillars_py.ros.node import PointPillarsNode
from vision_msgs.msg import Detection3DArray, LabelInfo
from visualization_msgs.msg import MarkerArray

REPO = Path(__file__).resolve().parents[1]
REFERENCE_MODEL = REPO / "models" / "pointpillars_zvision.onnx"
#: how often a wait looks at its condition [s]
POLL_S = 0.02


def holds_within(condition: Callable[[], object], timeout_s: float,
                 process: subprocess.Popen | None = None) -> bool:
    """Poll ``condition`` until it holds (True) or ``timeout_s`` passed (False)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"node exited with status {process.returncode}")
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL_S)
    return True


def wait_until(condition: Callable[[], object], timeout_s: float, what: str,
               process: subprocess.Popen | None = None) -> None:
    """
    Wait until ``condition()`` holds; fail naming ``what`` after ``timeout_s``.

    With ``process`` (the node), fail at once if it exits. Nothing needs spinning here: the
    test's nodes are spun on threads of their own (:class:`SpinningNode`).
    """
    if not holds_within(condition, timeout_s, process):
        raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")


def subscriptions_of(node: Node, topic: str) -> list[Subscription]:
    """Give ``node``'s subscriptions of ``topic`` (its fully qualified name)."""
    return [s for s in node.subscriptions if s.topic_name == topic]


def publishers_of(node: Node, topic: str) -> list[Publisher]:
    """Give ``node``'s publishers of ``topic`` (its fully qualified name)."""
    return [p for p in node.publishers if p.topic_name == topic]


def wait_until_matched(publishers: Sequence[Publisher], subscriptions: Sequence[Subscription],
                       timeout_s: float = 30.0) -> None:
    """Wait until DDS matched both ends: each publisher to a reader, each reader to a writer."""
    wait_until(lambda: all(p.get_subscription_count() > 0 for p in publishers)
               and all(s.get_publisher_count() > 0 for s in subscriptions), timeout_s,
               f"{[p.topic_name for p in publishers]} and "
               f"{[s.topic_name for s in subscriptions]} to match")


def publish_and_wait(publisher: Publisher, messages: Sequence[Any],
                     handled: Callable[[], int], timeout_s: float = 20.0) -> None:
    """Publish ``messages`` one by one, each once ``handled()`` has counted the one before."""
    before = handled()
    for count, msg in enumerate(messages, start=1):
        publisher.publish(msg)
        wait_until(lambda expected=before + count: handled() >= expected, timeout_s,
                   f"message {count} of {len(messages)} on {publisher.topic_name} handled")


def ros_environment() -> dict[str, str]:
    """Environment of a test's ROS processes: loopback only, a domain of this test run."""
    return isolated_environment()


def start_node(*ros_args: str, log_path: Path,
               program: Sequence[str] = ("-m", "tao_pointpillars_py.node_main"),
               extra_env: Mapping[str, str] = {}) -> subprocess.Popen:
    """Start the node (``python PROGRAM``) with extra --ros-args; output goes to ``log_path``."""
    command = [sys.executable, *program, "--ros-args",
               "-p", f"model_path:={REFERENCE_MODEL}", *ros_args]
    return subprocess.Popen(command, stdout=log_path.open("wb"), stderr=subprocess.STDOUT,
                            env={**ros_environment(), **extra_env}, cwd=REPO)


class SpinningNode(spin.SpinningNode):
    """A test-side rclpy node in a context of its own (the test run's domain), spun on a thread."""

    def __init__(self, name: str) -> None:
        os.environ.update(ros_environment())
        super().__init__(name, rclpy.Context())


@contextlib.contextmanager
def node_in_process(topic: str, executor: type[Executor] = SingleThreadedExecutor,
                    **executor_options: Any) -> Iterator[tuple[PointPillarsNode, Node]]:
    """
    Yield (node, client): a PointPillarsNode (reference model, 1 thread) answering ``topic``.

    Both run in this process, spun by one ``executor`` on a thread of their own: for tests that
    reach into the node (its threads, its backend) while real messages flow.
    """
    client = SpinningNode("in_process_client")
    node = PointPillarsNode(context=client.context, parameter_overrides=[
        Parameter("model_path", value=str(REFERENCE_MODEL)), Parameter("threads", value=1),
        Parameter("input_topics", value=[topic])])
    client.spin(node, executor=executor, **executor_options)
    try:
        yield node, client.node
    finally:
        client.close()


def cloud_message(points: np.ndarray, layout: Sequence[tuple[int, str]], point_step: int,
                  stamp_ns: int, bigendian: bool = False, height: int = 1,
                  frame_id: str = "lidar_front", intensity_name: str = "intensity") -> PointCloud2:
    """
    PointCloud2 of (N, 4) points with layout [(offset, 'f4'), ...] for x, y, z, intensity.

    ``layout, point_step`` are a :class:`cloud_fixtures.CloudLayout`'s, e.g.
    ``cloud_message(points, *ZVISION_DRIVER, stamp_ns)``.
    """
    names = ["x", "y", "z", intensity_name]
    records = point_records(points, CloudLayout(list(layout), point_step), bigendian,
                            intensity_name)
    msg = PointCloud2()
    msg.header.stamp.sec, msg.header.stamp.nanosec = stamps.split_ns(stamp_ns)
    msg.header.frame_id = frame_id
    msg.height, msg.width = height, points.shape[0] // height
    msg.fields = [PointField(name=key, offset=o, datatype=POINT_FIELD_CODES[t], count=1)
                  for key, (o, t) in zip(names, layout)]
    msg.is_bigendian = bigendian
    msg.point_step, msg.row_step = point_step, point_step * msg.width
    msg.data = records.tobytes()
    msg.is_dense = False
    return msg


def stamp_of(msg) -> int:
    """Header stamp [ns]; a MarkerArray's is its first marker's (the node's DELETEALL)."""
    header = msg.markers[0].header if isinstance(msg, MarkerArray) else msg.header
    return stamps.stamp_ns(header.stamp)


class Harness(SpinningNode):
    """Test-side rclpy node: publishes clouds, collects the node's answers by header stamp."""

    def __init__(self, namespace: str = "") -> None:
        super().__init__("test_harness")
        qos = QoSProfile(depth=10)
        qos.reliability = ReliabilityPolicy.RELIABLE
        self.publisher = self.node.create_publisher(PointCloud2, "/point_cloud", qos)
        self._lock = threading.Condition()
        self.boxes: dict[int, Detection3DArray] = {}
        self.markers: dict[int, MarkerArray] = {}
        self.label_info: list[LabelInfo] = []
        self.diagnostics: dict[str, dict[str, str]] = {}  # status name -> its key-values
        self.node.create_subscription(Detection3DArray, "/bbox",
                                      self._store(self.boxes), QoSProfile(depth=50))
        self.node.create_subscription(MarkerArray, "/bbox_markers",
                                      self._store(self.markers), QoSProfile(depth=50))
        latched = QoSProfile(depth=1)
        latched.durability = DurabilityPolicy.TRANSIENT_LOCAL
        latched.reliability = ReliabilityPolicy.RELIABLE
        self.node.create_subscription(LabelInfo, "/bbox/label_info", self._on_label_info,
                                      latched)
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics,
                                      QoSProfile(depth=10))
        self.spin()

    def _store(self, store):
        def callback(msg) -> None:
            with self._lock:
                store[stamp_of(msg)] = msg
                self._lock.notify_all()
        return callback

    def _on_label_info(self, msg: LabelInfo) -> None:
        with self._lock:
            self.label_info.append(msg)
            self._lock.notify_all()

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        with self._lock:
            for status in msg.status:
                self.diagnostics[status.name] = {kv.key: kv.value for kv in status.values}
            self._lock.notify_all()

    def total(self, kind: str) -> int:
        """Clouds of ``kind`` (received, answered, dropped, skipped) over every input topic."""
        with self._lock:
            return sum(int(values.get(f"{kind} total", 0))
                       for values in self.diagnostics.values())

    def skip_reasons(self) -> list[str]:
        """Give the last skip reason of every input topic, from /diagnostics."""
        with self._lock:
            return [values.get("last skip reason", "") for values in self.diagnostics.values()]

    def _holds(self, condition: Callable[[], object]) -> Callable[[], object]:
        def holds() -> object:
            with self._lock:
                return condition()
        return holds

    def wait_until(self, condition: Callable[[], object], timeout_s: float, what: str,
                   process: subprocess.Popen | None = None) -> None:
        """Wait until ``condition()`` holds over what was received; fail naming ``what``."""
        wait_until(self._holds(condition), timeout_s, what, process)

    def wait_for_node(self, process: subprocess.Popen, timeout_s: float = 60.0) -> None:
        """Wait until the node is up: LabelInfo received, each end of every topic matched."""
        # the node's reader of /point_cloud matching this writer cannot be seen from here:
        # send() publishes again when a first cloud is lost
        self.wait_until(lambda: self.label_info and self.publisher.get_subscription_count() > 0
                        and all(s.get_publisher_count() > 0 for s in self.node.subscriptions),
                        timeout_s, "the node to come up", process)

    def send(self, msg: PointCloud2, timeout_s: float = 30.0, attempts: int = 4):
        """
        Publish a cloud until its answer (Detection3DArray, MarkerArray) arrives.

        Best-effort subscriptions may lose a large cloud on a loaded machine; sending again
        is what a lidar's next frame would do. Returns (boxes, markers), None if unanswered.
        """
        stamp = stamp_of(msg)
        if not self.publish_until(msg, lambda: stamp in self.boxes and stamp in self.markers,
                                  timeout_s, attempts):
            return None
        with self._lock:
            return self.boxes[stamp], self.markers[stamp]

    def publish_until(self, msg: PointCloud2, done, timeout_s: float, attempts: int) -> bool:
        """Publish ``msg`` again (``attempts`` times in ``timeout_s``) until ``done()`` holds."""
        for _ in range(attempts):
            self.publisher.publish(msg)
            if holds_within(self._holds(done), timeout_s / attempts):
                return True
        return False
