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
The ROS 2 node ``pointpillars``: PointCloud2 on ``point_cloud`` in, detections out.

Publishes ``bbox`` (vision_msgs/Detection3DArray, the cloud's header), ``bbox_markers``
(visualization_msgs/MarkerArray for RViz) and ``bbox/label_info`` (vision_msgs/LabelInfo,
transient local). Thin by design: parameters, QoS, callbacks and message conversion over the
ROS-free :class:`~tao_pointpillars_py.detector.Detector`. Parameters: see
:mod:`tao_pointpillars_py.node_settings` and ``params/pointpillars.yaml``.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Sequence

from rcl_interfaces.msg import ParameterDescriptor, SetParametersResult
import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import (DurabilityPolicy, HistoryPolicy, qos_profile_sensor_data, QoSProfile,
                       ReliabilityPolicy)
from sensor_msgs.msg import PointCloud2
from std_msgs.msg import Header
from vision_msgs.msg import Detection3DArray, LabelInfo
from visualization_msgs.msg import MarkerArray

from .backends import available_backends
from .cloud import points_from_cloud, thin_points
from .detector import Detector
from .errors import PointPillarsError
from .latency import LatencyWindow
from .node_settings import (check_class_names, NodeSettings, PARAMETERS, post_process_settings,
                            RUNTIME_PARAMETERS, select_runtime)
from .ros_messages import detection_array, label_info, marker_array

NODE_NAME = "pointpillars"
#: Seconds between two identical warnings, and between two latency summaries in the log.
WARN_THROTTLE_S = 5.0
SUMMARY_PERIOD_S = 10.0


def _input_qos() -> QoSProfile:
    # sensor-data QoS (best effort, volatile) with a queue of one: while a frame is being
    # processed only the newest cloud waits, older ones are dropped instead of queued
    qos = QoSProfile(depth=1)
    qos.history = HistoryPolicy.KEEP_LAST
    qos.reliability = qos_profile_sensor_data.reliability
    qos.durability = qos_profile_sensor_data.durability
    return qos


def _latched_qos() -> QoSProfile:
    qos = QoSProfile(depth=1)
    qos.reliability = ReliabilityPolicy.RELIABLE
    qos.durability = DurabilityPolicy.TRANSIENT_LOCAL
    return qos


class PointPillarsNode(Node):
    """PointPillars detection node; raises PointPillarsError when its configuration is bad."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(NODE_NAME, **kwargs)
        for spec in PARAMETERS:
            self.declare_parameter(spec.name, spec.default, ParameterDescriptor(
                description=spec.description, read_only=spec.read_only))
        self.settings = NodeSettings.from_parameters(
            {spec.name: self.get_parameter(spec.name).value for spec in PARAMETERS})
        runtime = select_runtime(self.settings, available_backends())
        self.detector = Detector.from_model(
            str(runtime.model_path), runtime.backend, self.settings.post,
            self.settings.intensity_range, backend_file=str(runtime.backend_file),
            **runtime.backend_options(self.settings.threads))
        self.class_names = self.detector.config.class_names
        check_class_names(self.settings.class_names, self.class_names, runtime.model_path)
        self.get_logger().info(
            f"{runtime.describe()} ({', '.join(self.class_names)}), intensity range "
            f"{list(self.settings.intensity_range)} -> "
            f"{list(self.detector.config.intensity_range)}")
        lowering = getattr(self.detector.backend, "int8_lowering", None)
        if lowering is not None:
            self.get_logger().info(f"int8 on CPU: {lowering.describe()} (tao_pointpillars_py."
                                   "cpu_int8; the model file is unchanged)")

        self._latency = LatencyWindow(SUMMARY_PERIOD_S, start_s=time.monotonic())
        self.frames_in = 0
        self.frames_out = 0
        self.frames_skipped = 0
        self._bbox_pub = self.create_publisher(Detection3DArray, "bbox", 10)
        self._marker_pub = self.create_publisher(MarkerArray, "bbox_markers", 10)
        self._label_pub = self.create_publisher(LabelInfo, "bbox/label_info", _latched_qos())
        self._publish_label_info()
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.create_subscription(PointCloud2, "point_cloud", self._on_cloud, _input_qos())
        self.create_timer(SUMMARY_PERIOD_S, self._log_summary)

    def _publish_label_info(self) -> None:
        header = Header(stamp=self.get_clock().now().to_msg())
        self._label_pub.publish(label_info(self.class_names, self.detector.post.score_threshold,
                                           header))

    def _on_set_parameters(self, parameters: Sequence[Parameter]) -> SetParametersResult:
        changes = {p.name: p.value for p in parameters if p.name in RUNTIME_PARAMETERS}
        if not changes:
            return SetParametersResult(successful=True)
        try:
            post = post_process_settings(changes, base=self.detector.post)
        except PointPillarsError as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        # one assignment: a frame in flight keeps the settings object it started with
        self.detector.with_post(post)
        self.get_logger().info(f"post-processing from the next frame on: {post}")
        if "score_threshold" in changes:
            self._publish_label_info()
        return SetParametersResult(successful=True)

    def _on_cloud(self, msg: PointCloud2) -> None:
        started = time.monotonic()
        self.frames_in += 1
        try:
            points = points_from_cloud(msg)
        except PointPillarsError as exc:
            self.frames_skipped += 1
            self.get_logger().warning(f"skipping a cloud from {msg.header.frame_id!r}: {exc}",
                                      throttle_duration_sec=WARN_THROTTLE_S)
            return
        if 0 < self.settings.max_points < points.shape[0]:
            self.get_logger().warning(
                f"cloud has {points.shape[0]} points, more than max_points "
                f"{self.settings.max_points}; keeping every k-th point",
                throttle_duration_sec=WARN_THROTTLE_S)
            points = thin_points(points, self.settings.max_points)
        try:
            detections = self.detector.detect(points)
        except Exception as exc:  # noqa: B902 - one bad frame must not take the node down
            self.frames_skipped += 1
            self.get_logger().error(f"inference failed on a cloud of {points.shape[0]} points: "
                                    f"{type(exc).__name__}: {exc}",
                                    throttle_duration_sec=WARN_THROTTLE_S)
            return
        self._bbox_pub.publish(detection_array(detections, msg.header, self.class_names,
                                               self.settings.class_id_format))
        self._marker_pub.publish(marker_array(detections, msg.header, self.class_names))
        self.frames_out += 1
        done = time.monotonic()
        self._latency.add(done, (done - started) * 1e3)

    def _log_summary(self) -> None:
        summary = self._latency.summary(time.monotonic())
        if summary.frames:
            timings = self.detector.last_timings
            self.get_logger().info(
                f"{summary}; last frame: pre {timings.preprocess_ms:.1f} ms, inference "
                f"{timings.inference_ms:.1f} ms, post {timings.postprocess_ms:.1f} ms; "
                f"{self.frames_in} clouds in, {self.frames_out} answered, "
                f"{self.frames_skipped} skipped")


def main(args: Sequence[str] | None = None) -> int:
    """Entry point ``pointpillars_node``: 0 on a clean shutdown, 1 on a bad configuration."""
    rclpy.init(args=args)
    try:
        node = PointPillarsNode()
    except PointPillarsError as exc:
        rclpy.logging.get_logger(NODE_NAME).fatal(f"cannot start: {exc}")
        rclpy.try_shutdown()
        return 1
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
