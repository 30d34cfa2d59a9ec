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

"""The node's parameters over a real rclpy node: descriptors with ranges, and a clean failure."""

from pathlib import Path
import threading

import pytest

rclpy = pytest.importorskip("rclpy", reason="ROS 2 not installed: run scripts/setup-ros.sh")
pytest.importorskip("vision_msgs.msg", reason="vision_msgs missing: run scripts/setup-ros.sh")

from rclpy.node import Node  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from tao_pointpillars_py.errors import ConfigError  # noqa: E402
from tao_pointpillars_py.ros.node import declare_parameters, PointPillarsNode  # noqa: E402
from tao_pointpillars_py.ros.parameters import NodeSettings, PARAMETERS  # noqa: E402

REFERENCE_MODEL = Path(__file__).resolve().parents[2] / "models" / "pointpillars_zvision.onnx"


@pytest.fixture()
def context():
    context = rclpy.Context()
    rclpy.init(context=context)
    yield context
    rclpy.try_shutdown(context=context)


def test_descriptors_carry_the_ranges_that_ros2_param_describe_shows(context):
    node = Node("describe_probe", context=context)
    try:
        declare_parameters(node)
        names = [spec.name for spec in PARAMETERS]
        described = dict(zip(names, node.describe_parameters(names)))
    finally:
        node.destroy_node()
    score = described["score_threshold"]
    assert not score.read_only and score.description.startswith("drop detections")
    assert [(r.from_value, r.to_value) for r in score.floating_point_range] == [(0.0, 1.0)]
    assert [(r.from_value, r.to_value) for r in described["nms_iou_thresh"]
            .floating_point_range] == [(0.0, 1.0)]
    detections = described["max_detections"].integer_range
    assert len(detections) == 1 and detections[0].from_value == 1
    assert described["max_points"].integer_range[0].from_value == 0
    assert described["model_path"].read_only
    assert not described["model_path"].floating_point_range
    assert not described["model_path"].integer_range


def test_a_runtime_value_out_of_range_is_refused_by_ros(context):
    node = Node("range_probe", context=context)
    try:
        declare_parameters(node)
        refused = node.set_parameters([Parameter("score_threshold", value=1.5)])[0]
        taken = node.set_parameters([Parameter("score_threshold", value=0.5)])[0]
    finally:
        node.destroy_node()
    assert not refused.successful and "out of range" in refused.reason
    assert taken.successful


def test_an_override_out_of_range_is_refused_in_the_packages_words(context):
    node = Node("override_probe", context=context,
                parameter_overrides=[Parameter("max_detections", value=0)])
    try:
        values = declare_parameters(node)
    finally:
        node.destroy_node()
    assert values["max_detections"] == 0
    with pytest.raises(ConfigError, match="max_detections must be >= 1"):
        NodeSettings.from_parameters(values)


class _FailsLate(PointPillarsNode):
    """A node whose start-up fails after everything was made (thread, publishers, timers)."""

    def _start(self) -> None:
        super()._start()
        raise ConfigError("failing on purpose")


def test_a_failed_start_destroys_what_it_made(context):
    before = set(threading.enumerate())
    with pytest.raises(ConfigError, match="failing on purpose"):
        _FailsLate(context=context, parameter_overrides=[
            Parameter("model_path", value=str(REFERENCE_MODEL)), Parameter("threads", value=1),
            Parameter("input_topics", value=["/cleanup/points"])])
    started = [t for t in set(threading.enumerate()) - before if t.is_alive()]
    assert not [t for t in started if t.name == "inference"]
    probe = Node("cleanup_probe", context=context)
    try:
        assert probe.count_publishers("/cleanup/bbox") == 0
        assert "pointpillars" not in probe.get_node_names()
    finally:
        probe.destroy_node()
    rclpy.shutdown(context=context)  # no half-built node left for the context to destroy
