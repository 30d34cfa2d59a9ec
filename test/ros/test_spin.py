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

"""Tests of tao_pointpillars_py.ros.spin: an rclpy node spun on a background thread."""

import threading

import pytest

pytest.importorskip("rclpy", reason="ROS 2 not installed: run scripts/setup-ros.sh")

import rclpy  # noqa: E402
from rclpy.executors import MultiThreadedExecutor, SingleThreadedExecutor  # noqa: E402
from rclpy.node import Node  # noqa: E402
from ros_fixtures import ros_environment, wait_until, wait_until_matched  # noqa: E402
from std_msgs.msg import String  # noqa: E402

from tao_pointpillars_py.ros.spin import spinning_node, SpinningNode  # noqa: E402


@pytest.fixture(autouse=True)
def isolated_ros(monkeypatch):
    """Run every node of these tests in the test run's own ROS domain, on loopback."""
    for key, value in ros_environment().items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def threads_before():
    """Give the Python threads alive before the test starts its nodes."""
    return set(threading.enumerate())


def new_threads(before):
    return sorted(t.name for t in set(threading.enumerate()) - before if t.is_alive())


def assert_destroyed(node: Node) -> None:
    assert not list(node.publishers) and not list(node.subscriptions)
    with pytest.raises(Exception, match="destruction was requested"):
        node.get_name()


def receive_one(node: Node, topic: str, data: str) -> list[tuple[str, str]]:
    """Publish ``data`` on ``topic`` from ``node`` to itself; give (data, thread) received."""
    received: list[tuple[str, str]] = []
    subscription = node.create_subscription(
        String, topic, lambda msg: received.append((msg.data, threading.current_thread().name)),
        10)
    publisher = node.create_publisher(String, topic, 10)
    wait_until_matched([publisher], [subscription])
    publisher.publish(String(data=data))
    wait_until(lambda: received, 10, f"{data!r} on {topic}")
    return received


def test_a_subscription_receives_on_the_spin_thread_and_close_ends_it(threads_before):
    context = rclpy.Context()
    spinning = SpinningNode("test_spin_own_context", context)
    assert spinning.context is context and spinning.node.context is context
    assert context.ok() and not rclpy.get_default_context().ok()
    spinning.spin()
    try:
        assert isinstance(spinning.executor, SingleThreadedExecutor)
        spin_thread, = new_threads(threads_before)
        assert spin_thread.endswith("(_spin_until_shutdown)")
        received = receive_one(spinning.node, "/test_spin/chatter", "hello")
        assert received[0][0] == "hello"
        assert received[0][1] != threading.current_thread().name  # the callback ran elsewhere
    finally:
        spinning.close()
    assert new_threads(threads_before) == []
    assert not context.ok()
    assert_destroyed(spinning.node)


def test_other_nodes_of_the_context_are_spun_with_the_executor_asked_for(threads_before):
    spinning = SpinningNode("test_spin_main", rclpy.Context())
    other = rclpy.create_node("test_spin_other", context=spinning.context)
    spinning.spin(other, executor=MultiThreadedExecutor, num_threads=2)
    try:
        assert isinstance(spinning.executor, MultiThreadedExecutor)
        assert set(spinning.executor.get_nodes()) == {spinning.node, other}
        received = receive_one(other, "/test_spin/other", "to the other node")
        assert received[0][0] == "to the other node"
        assert received[0][1].startswith("ThreadPoolExecutor")  # a worker of the executor
    finally:
        spinning.close()
    # the spin thread is gone; Jazzy's MultiThreadedExecutor.shutdown leaves its idle
    # ThreadPoolExecutor workers until the process exits (Kilted's stops them)
    assert [name for name in new_threads(threads_before)
            if not name.startswith("ThreadPoolExecutor")] == []
    assert_destroyed(other)  # with the node that spun it


def test_a_context_shut_down_elsewhere_ends_the_spin_thread_quietly(threads_before):
    spinning = SpinningNode("test_spin_external_shutdown", rclpy.Context())
    spinning.spin()
    assert len(new_threads(threads_before)) == 1
    rclpy.try_shutdown(context=spinning.context)  # what rclpy's SIGINT handler does
    wait_until(lambda: not new_threads(threads_before), 10, "the spin thread to end")
    spinning.close()  # still fine afterwards
    assert not spinning.context.ok()


def test_a_node_never_spun_closes_cleanly(threads_before):
    spinning = SpinningNode("test_spin_never_spun", rclpy.Context())
    assert spinning.executor is None
    spinning.close()
    assert not spinning.context.ok() and new_threads(threads_before) == []


def test_spinning_node_uses_the_default_context_and_shuts_it_down(threads_before):
    assert not rclpy.get_default_context().ok()
    with spinning_node("test_spin_default_context") as node:
        assert node.context is rclpy.get_default_context() and node.context.ok()
        assert receive_one(node, "/test_spin/default", "default")[0][0] == "default"
    assert not rclpy.get_default_context().ok()
    assert new_threads(threads_before) == []
