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
The ROS 2 node ``pointpillars``: PointCloud2 in, detections out, for one or several lidars.

Each input topic (parameter ``input_topics``; by default ``point_cloud``, to be remapped) is
answered in its own namespace (:mod:`.topics`): ``bbox`` (vision_msgs/Detection3DArray, the
cloud's header), ``bbox_markers`` (visualization_msgs/MarkerArray for RViz) and
``bbox/label_info`` (vision_msgs/LabelInfo, transient local). With ``fuse`` the detections of
all lidars are also merged in ``base_frame`` (:mod:`.fusion`) on ``fused/...``. Health goes to
``/diagnostics`` once a second (:mod:`.health`): rates, drops, latency, and what the clouds
look like to the model (share of points in its range, intensity next to its training data's).

Clouds are taken in by a light callback and answered by one inference thread, newest first:
a cloud that a newer one replaces before inference reaches it is dropped and counted
(:mod:`.cloud_slots`), so answers never go stale behind a queue. Thin by design: parameters,
QoS, callbacks and message conversion over the ROS-free
:class:`~tao_pointpillars_py.inference.detector.Detector`.
"""

from __future__ import annotations

from collections import Counter
from functools import partial
import logging
from pathlib import Path
import signal
import sys
import threading
import time
from typing import Any, Sequence

from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import (FloatingPointRange, IntegerRange, ParameterDescriptor,
                                SetParametersResult)
import rclpy
from rclpy.exceptions import InvalidParameterValueException, ParameterException
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import (DurabilityPolicy, HistoryPolicy, qos_profile_sensor_data, QoSProfile,
                       ReliabilityPolicy)
from sensor_msgs.msg import PointCloud2
from std_msgs.msg import Header
from vision_msgs.msg import Detection3DArray, LabelInfo
from visualization_msgs.msg import MarkerArray

from .cloud_slots import LatestClouds, Waiting
from .health import StreamHealth, StreamStatus
from .messages import detection_array, diagnostic_array, label_info, marker_array
from .parameters import (NodeSettings, PARAMETERS, ParameterSpec, post_process_settings,
                         RUNTIME_PARAMETERS)
from .topics import fused_topics, output_topics, OutputTopics
from ..core.boxes import Extrinsic
from ..core.fusion import DetectionFusion, to_base_frame
from ..core.stamps import stamp_ns
from ..core.stats import latency_summary
from ..errors import PointPillarsError
from ..inference.backends import available_backends
from ..inference.detector import answer_cloud
from ..inference.runtime import build_detector, select_runtime

NODE_NAME = "pointpillars"
#: Seconds between two identical warnings, and between two latency summaries in the log.
WARN_THROTTLE_S = 5.0
THROTTLE_NOTE = (f"(one message per {WARN_THROTTLE_S:g} s; /diagnostics counts every skip and "
                 "gives the last reason)")
SUMMARY_PERIOD_S = 10.0
#: /diagnostics: published every DIAGNOSTICS_PERIOD_S over a window of DIAGNOSTICS_WINDOW_S
DIAGNOSTICS_PERIOD_S = 1.0
DIAGNOSTICS_WINDOW_S = 5.0


#: sensor-data QoS (best effort, volatile), a short queue: the callback only parks the cloud
#: in its topic's slot, where a newer one replaces it (cloud_slots)
INPUT_QOS = QoSProfile(depth=2, history=HistoryPolicy.KEEP_LAST,
                       reliability=qos_profile_sensor_data.reliability,
                       durability=qos_profile_sensor_data.durability)
#: LabelInfo: kept for late subscribers, as vision_msgs asks
LATCHED_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.TRANSIENT_LOCAL)


def parameter_descriptor(spec: ParameterSpec, with_range: bool = True) -> ParameterDescriptor:
    """Describe a parameter to ROS: its meaning, whether it is read-only, its numeric range."""
    descriptor = ParameterDescriptor(description=spec.description, read_only=spec.read_only)
    if not with_range or (spec.minimum is None and spec.maximum is None):
        return descriptor
    if isinstance(spec.default, float):
        descriptor.floating_point_range = [FloatingPointRange(
            from_value=float("-inf") if spec.minimum is None else float(spec.minimum),
            to_value=float("inf") if spec.maximum is None else float(spec.maximum), step=0.0)]
    else:
        descriptor.integer_range = [IntegerRange(
            from_value=-(2**63) if spec.minimum is None else int(spec.minimum),
            to_value=2**63 - 1 if spec.maximum is None else int(spec.maximum), step=0)]
    return descriptor


def declare_parameters(node: Node) -> dict[str, Any]:
    """Declare the node's parameters (:data:`.parameters.PARAMETERS`); return their values."""
    values = {}
    for spec in PARAMETERS:
        try:
            parameter = node.declare_parameter(spec.name, spec.default,
                                               parameter_descriptor(spec))
        except InvalidParameterValueException:
            # out of its range: declared without it, so that NodeSettings refuses the value
            # with the message that names the parameter and what to set
            parameter = node.declare_parameter(spec.name, spec.default,
                                               parameter_descriptor(spec, with_range=False))
        values[spec.name] = parameter.value
    return values


class _Outputs:
    """The three publishers answering one input topic (or the fused output)."""

    def __init__(self, node: Node, topics: OutputTopics) -> None:
        self.topics = topics
        self.boxes = node.create_publisher(Detection3DArray, topics.detections, 10)
        self.markers = node.create_publisher(MarkerArray, topics.markers, 10)
        self.label_info = node.create_publisher(LabelInfo, topics.label_info, LATCHED_QOS)


class PointPillarsNode(Node):
    """PointPillars detection node; raises PointPillarsError when its configuration is bad."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(NODE_NAME, **kwargs)
        self._stopping = threading.Event()
        self._inference: threading.Thread | None = None
        try:
            self._start()
        except BaseException:
            # a bad configuration or a stop request while loading: destroy what was made
            # (publishers, timers, the thread, the node), so nothing half-built outlives it
            try:
                self.destroy_node()
            except Exception:  # noqa: B902 - e.g. the context a signal shut down: report the first
                pass
            raise

    def _start(self) -> None:
        self.settings = NodeSettings.from_parameters(declare_parameters(self))
        runtime = select_runtime(self.settings.runtime, available_backends())
        self.detector = build_detector(runtime, self.settings.post,
                                       self.settings.intensity_range, self.settings.class_names)
        self.detector.set_cloud_to_model(self.settings.cloud_to_model)
        self.class_names = self.detector.config.class_names
        named = ("" if self.detector.class_names_known
                 else " from class_names: the model carries no class names")
        self.get_logger().info(
            f"{runtime.describe()} ({', '.join(self.class_names)}{named}), intensity range "
            f"{list(self.settings.intensity_range)} -> "
            f"{list(self.detector.config.intensity_range)}, cloud_to_model "
            f"{self.get_parameter('cloud_to_model').value!r}")
        rewritten = self.detector.backend.describe()
        if rewritten:
            self.get_logger().info(f"{runtime.precision} on {runtime.device}: {rewritten} (the "
                                   "model file is unchanged)")
        self._status_values = {"backend": runtime.backend, "precision": runtime.precision,
                               "model": Path(runtime.model_path).name}

        self._slots: LatestClouds[PointCloud2] = LatestClouds()
        started = time.monotonic()
        self._health = {t: StreamHealth(DIAGNOSTICS_WINDOW_S, SUMMARY_PERIOD_S, started)
                        for t in self.settings.input_topics}
        self._outputs = {t: _Outputs(self, output_topics(t)) for t in self.settings.input_topics}
        self._fusion: DetectionFusion | None = None
        self._fused: _Outputs | None = None
        self._base_identity = Extrinsic.from_xyz_rpy(self.settings.fusion.base_frame,
                                                     (0.0, 0.0, 0.0), (0.0, 0.0, 0.0))
        self._tf_buffer: Any = None
        if self.settings.fusion.enabled:
            self._start_fusion()
        self._publish_label_info()
        self._diagnostics = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.add_on_set_parameters_callback(self._on_set_parameters)
        inputs = {topic: self.create_subscription(PointCloud2, topic,
                                                  partial(self._on_cloud, topic), INPUT_QOS)
                  for topic in self.settings.input_topics}
        # resolved names (namespace, remapping) say where the node really listens and answers
        self.get_logger().info("answering " + ", ".join(
            f"{inputs[t].topic_name} on {o.boxes.topic_name}" for t, o in self._outputs.items())
            + (f"; fused in {self.settings.fusion.base_frame} on "
               f"{self._fused.boxes.topic_name}"
               if self._fused is not None else ""))
        self.create_timer(SUMMARY_PERIOD_S, self._log_summary)
        self.create_timer(DIAGNOSTICS_PERIOD_S, self._publish_diagnostics)
        self._inference = threading.Thread(target=self._inference_loop, name="inference",
                                           daemon=True)
        self._inference.start()

    def _start_fusion(self) -> None:
        post, fusion = self.detector.post, self.settings.fusion
        self._fusion = DetectionFusion(fusion.window_s, fusion.iou_thresh,
                                       post.max_detections * len(self.settings.input_topics),
                                       post.class_agnostic_nms)
        self._fused = _Outputs(self, fused_topics())
        try:
            import tf2_ros  # noqa: F401 - optional: ROS installs have it, the PyPI wheels not
            self._tf_buffer = tf2_ros.Buffer()
            self._tf_listener = tf2_ros.TransformListener(self._tf_buffer, self)
            source = "lidar_extrinsics, then tf2"
        except ImportError:
            source = "lidar_extrinsics (tf2_ros is not installed)"
        self.get_logger().info(f"fusing {len(self.settings.input_topics)} lidar topic(s) into "
                               f"{fusion.base_frame}, extrinsics from {source}: "
                               f"{sorted(fusion.extrinsics) or 'none given'}")

    def _publish_label_info(self) -> None:
        header = Header(stamp=self.get_clock().now().to_msg())
        threshold = self.detector.post.score_threshold
        for outputs in list(self._outputs.values()) + ([self._fused] if self._fused else []):
            outputs.label_info.publish(label_info(self.class_names, threshold, header))

    def _on_set_parameters(self, parameters: Sequence[Parameter]) -> SetParametersResult:
        changes = {p.name: p.value for p in parameters if p.name in RUNTIME_PARAMETERS}
        if not changes:
            return SetParametersResult(successful=True)
        try:
            post = post_process_settings(changes, base=self.detector.post)
        except PointPillarsError as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        # one assignment: a frame in flight keeps the settings object it started with
        self.detector.set_post_process(post)
        self.get_logger().info(f"post-processing from the next frame on: {post}")
        if "score_threshold" in changes:
            self._publish_label_info()
        return SetParametersResult(successful=True)

    def _on_cloud(self, topic: str, msg: PointCloud2) -> None:
        now = time.monotonic()
        self._health[topic].received(now, msg.header.frame_id)
        if self._slots.offer(topic, msg, now):
            self._health[topic].dropped(now)

    def _inference_loop(self) -> None:
        while not self._stopping.is_set():
            waiting = self._slots.take(timeout_s=0.2)
            if waiting is None:
                continue
            try:
                self._answer(waiting)
            except Exception as exc:  # noqa: B902 - one bad frame must not take the node down
                self._fail(waiting, exc)

    def _answer(self, waiting: Waiting[PointCloud2]) -> None:
        msg, topic = waiting.cloud, waiting.topic
        answer = answer_cloud(self.detector, msg, self.settings.max_points)
        if answer.detections is None:
            self._health[topic].skipped(time.monotonic(), answer.skipped)
            # rclpy refuses a call site whose severity changes: warnings and errors (_fail)
            # each have their own
            self.get_logger().warning(
                f"skipping a cloud from {msg.header.frame_id!r} on {topic}: {answer.skipped} "
                f"{THROTTLE_NOTE}", throttle_duration_sec=WARN_THROTTLE_S)
            return
        if answer.thinned_from:
            limit = self.detector.point_limit(self.settings.max_points)
            what = (f"max_points {limit}" if limit == self.settings.max_points
                    else f"the model's points capacity {limit}")
            self.get_logger().warning(
                f"cloud has {answer.thinned_from} points, more than {what}; keeping every "
                "k-th point", throttle_duration_sec=WARN_THROTTLE_S)
        detections = answer.detections
        outputs = self._outputs[topic]
        outputs.boxes.publish(detection_array(detections, msg.header, self.class_names,
                                              self.settings.class_id_format))
        outputs.markers.publish(marker_array(detections, msg.header, self.class_names))
        done = time.monotonic()
        self._health[topic].answered(done, (done - waiting.arrived_s) * 1e3, answer.health)
        if self._fusion is not None:
            self._publish_fused(topic, msg.header, detections)

    def _fail(self, waiting: Waiting[PointCloud2], exc: Exception) -> None:
        """Count and log a cloud whose answer raised (inference, publishing): it is skipped."""
        reason = f"{type(exc).__name__}: {exc}"
        self._health[waiting.topic].skipped(time.monotonic(), reason)
        self.get_logger().error(
            f"failed on a cloud from {waiting.cloud.header.frame_id!r} on {waiting.topic}, "
            f"skipped: {reason} {THROTTLE_NOTE}", throttle_duration_sec=WARN_THROTTLE_S)

    def _publish_fused(self, topic: str, header: Header, detections: Any) -> None:
        if self._fusion is None or self._fused is None:
            return
        extrinsic = self._extrinsic(header.frame_id)
        if extrinsic is None:
            self.get_logger().warning(
                f"no extrinsic for frame {header.frame_id!r} ({topic}): add "
                f"'{header.frame_id} x y z roll pitch yaw' to lidar_extrinsics; its "
                "detections are left out of the fused output",
                throttle_duration_sec=WARN_THROTTLE_S)
            return
        merged = self._fusion.add(topic, stamp_ns(header.stamp),
                                  to_base_frame(detections, extrinsic))
        fused_header = Header(stamp=header.stamp, frame_id=self.settings.fusion.base_frame)
        self._fused.boxes.publish(detection_array(merged, fused_header, self.class_names,
                                                  self.settings.class_id_format))
        self._fused.markers.publish(marker_array(merged, fused_header, self.class_names))

    def _extrinsic(self, frame_id: str) -> Extrinsic | None:
        if frame_id == self.settings.fusion.base_frame:
            return self._base_identity
        if frame_id in self.settings.fusion.extrinsics:
            return self.settings.fusion.extrinsics[frame_id]
        if self._tf_buffer is None:
            return None
        return self._extrinsic_from_tf(frame_id)

    def _extrinsic_from_tf(self, frame_id: str) -> Extrinsic | None:
        # tf2 is not on PyPI: this path runs on ROS installs only (unverified in CI)
        try:
            transform = self._tf_buffer.lookup_transform(self.settings.fusion.base_frame,
                                                         frame_id, rclpy.time.Time()).transform
        except Exception:  # noqa: B902 - tf2's lookup errors: not (yet) known
            return None
        t, q = transform.translation, transform.rotation
        return Extrinsic.from_quaternion(frame_id, (t.x, t.y, t.z), (q.x, q.y, q.z, q.w))

    def _publish_diagnostics(self) -> None:
        statuses = [self.stream_status(topic) for topic in self._health]
        self._diagnostics.publish(diagnostic_array(statuses, self.get_clock().now().to_msg()))

    def stream_status(self, topic: str) -> StreamStatus:
        """Give the health of input ``topic`` now, as /diagnostics publishes it."""
        return self._health[topic].status(time.monotonic(), f"{self.get_name()}: {topic}",
                                          self._status_values, self.detector.input_reference)

    @property
    def inference_alive(self) -> bool:
        """Tell whether the inference thread is running (it answers the clouds)."""
        return self._inference is not None and self._inference.is_alive()

    def totals(self) -> Counter[str]:
        """Clouds received, answered, dropped and skipped over every input topic."""
        totals: Counter[str] = Counter()
        for health in self._health.values():
            totals.update(health.totals())
        return totals

    def _log_summary(self) -> None:
        summary = latency_summary([health.latencies for health in self._health.values()],
                                  time.monotonic(), SUMMARY_PERIOD_S)
        if summary.frames:
            timings = self.detector.last_timings
            totals = self.totals()
            self.get_logger().info(
                f"{summary}; last frame: pre {timings.preprocess_ms:.1f} ms, inference "
                f"{timings.inference_ms:.1f} ms, post {timings.postprocess_ms:.1f} ms; "
                f"{totals['received']} clouds in, {totals['answered']} answered, "
                f"{totals['dropped']} dropped (a newer cloud came first), "
                f"{totals['skipped']} skipped")

    def destroy_node(self) -> None:
        """Stop the inference thread (if the node got as far as starting it), then the node."""
        if self._inference is not None:
            self._stopping.set()
            self._slots.close()
            self._inference.join(timeout=10.0)
        super().destroy_node()


class RosLogHandler(logging.Handler):
    """Hand Python log records (engine builds, the engine cache) to a ROS logger (/rosout)."""

    def __init__(self, ros_logger: Any) -> None:
        super().__init__()
        self._ros_logger = ros_logger

    def emit(self, record: logging.LogRecord) -> None:
        # one call site per severity: rclpy refuses a site whose severity changes
        try:
            text = self.format(record)
            if record.levelno >= logging.ERROR:
                self._ros_logger.error(text)
            elif record.levelno >= logging.WARNING:
                self._ros_logger.warning(text)
            elif record.levelno >= logging.INFO:
                self._ros_logger.info(text)
            else:
                self._ros_logger.debug(text)
        except Exception:  # noqa: B902 - logging must never take the node down
            self.handleError(record)


def forward_package_logging(ros_logger: Any) -> RosLogHandler:
    """Send the package's Python logging (``tao_pointpillars_py.*``, INFO and up) to ROS."""
    handler = RosLogHandler(ros_logger)
    package = logging.getLogger(__name__.partition(".")[0])
    package.addHandler(handler)
    package.setLevel(logging.INFO)
    package.propagate = False
    return handler


def main(args: Sequence[str] | None = None) -> int:
    """
    Entry point ``pointpillars_node``: 0 on a clean shutdown, 1 on a bad configuration.

    A bad configuration logs one line, ``cannot start: ...``, and no traceback. SIGINT and
    SIGTERM end the node quietly with status 0, while it runs and while it starts (loading the
    model, building a TensorRT engine): the handlers ``rclpy.init`` installs for both signals
    shut the context down, then call the Python handler that was there before, which is
    ``signal.default_int_handler`` (KeyboardInterrupt) for both.
    """
    main_thread = threading.current_thread() is threading.main_thread()

    def stopping() -> None:
        # further (or still pending) signals must not break the clean-up with a traceback
        if main_thread:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)

    def shut_down() -> None:
        # a PointPillarsNode whose __init__ failed has destroyed itself already
        stopping()
        rclpy.try_shutdown()

    log = rclpy.logging.get_logger(NODE_NAME)
    forward_package_logging(log)
    if main_thread:  # before rclpy.init, so that rclpy's SIGTERM handler chains to it
        signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        rclpy.init(args=args)
    except KeyboardInterrupt:  # a signal before rclpy's handlers were in place
        return 0
    except Exception as exc:  # noqa: B902 - rclpy's RCLError, e.g. malformed --ros-args
        log.fatal(f"cannot start: {exc}; check the --ros-args (command line or launch file)")
        return 1
    try:
        node = PointPillarsNode()
    except (PointPillarsError, ParameterException) as exc:
        hint = "" if isinstance(exc, PointPillarsError) else (
            "; give it a value of the type of its default (params/pointpillars.yaml)")
        log.fatal(f"cannot start: {exc}{hint}")
        shut_down()
        return 1
    except (KeyboardInterrupt, ExternalShutdownException):
        shut_down()
        return 0
    except Exception:  # noqa: B902 - an rclpy call refused after a signal's shutdown
        if rclpy.ok():
            raise  # not a shutdown request: a bug, keep its traceback
        shut_down()
        return 0
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        stopping()
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
