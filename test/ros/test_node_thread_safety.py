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
Parameter updates against inference, in one process with a multi-threaded executor.

The node's parameter callback runs on executor threads while its inference thread answers
clouds; a frame must see one whole settings object (never the score threshold of one update
with the detection cap of another), and a confirmed update must hold from the next cloud on.
"""

import dataclasses
import threading

from cloud_fixtures import XYZI_16
import pytest

pytest.importorskip("rclpy", reason="ROS 2 not installed: run scripts/setup-ros.sh")
pytest.importorskip("vision_msgs.msg", reason="vision_msgs missing: run scripts/setup-ros.sh")

from rclpy.executors import MultiThreadedExecutor  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from ros_fixtures import cloud_message, node_in_process as in_process  # noqa: E402
from ros_fixtures import (publishers_of, REFERENCE_MODEL, subscriptions_of,  # noqa: E402
                          wait_until_matched)
from sensor_msgs.msg import PointCloud2  # noqa: E402
from tao_pointpillars_py.inference.detector import Detector  # noqa: E402
from tao_pointpillars_py.sim import simulate_frame  # noqa: E402
from vision_msgs.msg import Detection3DArray  # noqa: E402

#: two whole settings; a torn frame would mix them (0.2 with 3, or 0.7 with 100)
LOOSE = {"score_threshold": 0.2, "max_detections": 100}
STRICT = {"score_threshold": 0.7, "max_detections": 3}


def _scores(msg):
    return [round(d.results[0].hypothesis.score, 5) for d in msg.detections]


@pytest.fixture()
def node_in_process():
    with in_process("/threads/points", MultiThreadedExecutor, num_threads=4) as pair:
        yield pair


def test_rapid_updates_never_tear_a_frame_and_hold_from_the_next_cloud(node_in_process):
    node, client = node_in_process
    points = simulate_frame(15, 0).points
    detector = Detector.from_model(str(REFERENCE_MODEL), backend_options={"threads": 1})
    expected = {}
    for name, values in (("loose", LOOSE), ("strict", STRICT)):
        detector.set_post_process(dataclasses.replace(node.detector.post, **{
            "score_threshold": values["score_threshold"],
            "max_detections": values["max_detections"]}))
        expected[name] = [round(float(s), 5) for s in detector.detect(points).scores]
    assert len(expected["loose"]) > 3 and min(expected["loose"]) < 0.7  # the two differ

    lock = threading.Condition()
    answers = {}

    def on_boxes(msg):
        with lock:
            answers[msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec] = _scores(msg)
            lock.notify_all()

    answers_subscription = client.create_subscription(Detection3DArray, "/threads/bbox",
                                                      on_boxes, QoSProfile(depth=50))
    qos = QoSProfile(depth=10)
    qos.reliability = ReliabilityPolicy.RELIABLE
    publisher = client.create_publisher(PointCloud2, "/threads/points", qos)
    wait_until_matched([publisher, *publishers_of(node, "/threads/bbox")],
                       [*subscriptions_of(node, "/threads/points"), answers_subscription])

    def settings_of(name):
        values = LOOSE if name == "loose" else STRICT
        return [Parameter(k, value=v) for k, v in values.items()]

    def send_and_wait(stamp):
        publisher.publish(cloud_message(points, *XYZI_16, stamp))
        with lock:
            assert lock.wait_for(lambda: stamp in answers, 20), "no answer"
            return answers[stamp]

    # a confirmed update holds from the next cloud on
    stamp = 1_700_000_000_000_000_000
    for name in ("strict", "loose", "strict"):
        results = node.set_parameters(settings_of(name))  # one call: both values at once
        assert all(r.successful for r in results)
        stamp += 1_000_000
        assert send_and_wait(stamp) == expected[name]

    # rapid updates from another thread while clouds stream: every frame is one or the other
    stop = threading.Event()

    def flip():
        index = 0
        while not stop.is_set():
            node.set_parameters(settings_of(("loose", "strict")[index % 2]))
            index += 1

    flipper = threading.Thread(target=flip)
    flipper.start()
    try:
        stamps = []
        for _ in range(25):
            stamp += 1_000_000
            stamps.append(stamp)
            send_and_wait(stamp)
    finally:
        stop.set()
        flipper.join(timeout=10)
    seen = [answers[s] for s in stamps]
    assert all(scores in (expected["loose"], expected["strict"]) for scores in seen), seen
    print(f"{sum(s == expected['loose'] for s in seen)} frames loose, "
          f"{sum(s == expected['strict'] for s in seen)} strict, none torn")
