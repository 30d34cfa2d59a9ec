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
Play bags to ROS 2 topics and record topics to bags, with rosbags + rclpy (no rosbag2 needed).

Messages travel as serialized CDR end to end: a bag's bytes are published as they are, and
recorded bytes are written as they arrive, so any message type the ROS 2 install knows works
and nothing is deserialized on the way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import importlib
from pathlib import Path
import queue
import struct
import threading
import time
from typing import Any, Callable, Iterator, NamedTuple, Optional, Sequence

import numpy as np
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rosbags.highlevel import AnyReader
from rosbags.interfaces import Qos, QosDurability
from rosbags.rosbag2 import Writer

from ..core.stamps import NS_PER_S, to_ns
from ..data.bags import BAG_VERSION, offered_qos, storage_plugin, STORAGES
from ..data.detection_messages import vision_typestore
from ..errors import ConfigError

#: how often the player looks at its publishers' subscription counts while waiting [s]
MATCH_POLL_S = 0.02
#: how often the recorder looks for its topics' publishers while waiting [s]
DISCOVERY_POLL_S = 0.1
#: keep-last depth of the recorder's subscriptions: callbacks only queue, so this is room for
#: bursts while the executor is busy
RECORD_DEPTH = 100


def message_class(msgtype: str) -> Any:
    """Import the rclpy message class of a type name like ``sensor_msgs/msg/PointCloud2``."""
    package, kind, name = msgtype.split("/")
    try:
        return getattr(importlib.import_module(f"{package}.{kind}"), name)
    except (ImportError, AttributeError):
        raise ConfigError(f"message type {msgtype} is not available in this ROS 2 install; "
                          f"install the {package} package") from None


def cdr_header_stamp_ns(raw: bytes) -> int:
    """
    Read header.stamp [ns] of a serialized message whose first field is a std_msgs/Header.

    CDR: a 4-byte encapsulation header (byte 1: 1 little-endian, 0 big-endian), then
    stamp.sec int32 and stamp.nanosec uint32.
    """
    if len(raw) < 12:
        raise ValueError(f"a serialized header needs 12 bytes, got {len(raw)}")
    order = "<" if raw[1] & 1 else ">"
    sec, nanosec = struct.unpack_from(order + "iI", raw, 4)
    return to_ns(sec, nanosec)


def _reliable(depth: int) -> QoSProfile:
    qos = QoSProfile(depth=depth)
    qos.reliability = ReliabilityPolicy.RELIABLE
    qos.durability = DurabilityPolicy.VOLATILE
    return qos


class AnswerWatch:
    """Arrival times of messages on a topic, by header stamp: "was cloud X answered, when?"."""

    def __init__(self, node: Node, topic: str, msgtype: str) -> None:
        self._arrivals: dict[int, float] = {}
        self._condition = threading.Condition()
        self.count = 0
        node.create_subscription(message_class(msgtype), topic, self._on_message, _reliable(100),
                                 raw=True)

    def _on_message(self, raw: bytes) -> None:
        stamp = cdr_header_stamp_ns(raw)
        with self._condition:
            self._arrivals[stamp] = time.monotonic()
            self.count += 1
            self._condition.notify_all()

    def wait_for(self, stamp_ns: int, timeout_s: float) -> Optional[float]:
        """Monotonic arrival time of the answer to ``stamp_ns``, or None after the timeout."""
        with self._condition:
            self._condition.wait_for(lambda: stamp_ns in self._arrivals, timeout_s)
            return self._arrivals.get(stamp_ns)


class Matching(NamedTuple):
    """How many of the player's topics had a subscriber when playing began, after how long."""

    matched: int
    topics: int
    waited_s: float

    @property
    def complete(self) -> bool:
        """Whether every topic had a subscriber."""
        return self.matched == self.topics


@dataclass
class PlayReport:
    """What a play run published, and (paced) how long each answer took [ms]."""

    published: int = 0
    answered: int = 0
    resent: int = 0
    round_trip_ms: list[float] = field(default_factory=list)


class BagPlayer:
    """Publishes the messages of a rosbag2 folder (sqlite3 or mcap) on their topics."""

    def __init__(self, node: Node, bag: str | Path, topics: Sequence[str] | None = None) -> None:
        self.bag = Path(bag)
        if not self.bag.exists():
            raise ConfigError(f"bag {self.bag} does not exist")
        self._reader = AnyReader([self.bag], default_typestore=vision_typestore())
        self._reader.open()
        present = {c.topic: c.msgtype for c in self._reader.connections}
        wanted = list(present) if not topics else list(topics)
        missing = [t for t in wanted if t not in present]
        if missing:
            self._reader.close()
            raise ConfigError(f"bag {self.bag} has no topic(s) {missing}; it has "
                              f"{sorted(present)}")
        self.topics = {t: present[t] for t in wanted}
        self._connections = [c for c in self._reader.connections if c.topic in self.topics]
        self._node = node
        self._publishers = {
            t: node.create_publisher(message_class(m), t, replay_qos(
                [c for c in self._connections if c.topic == t]))
            for t, m in self.topics.items()}

    def wait_for_subscriptions(self, timeout_s: float) -> Matching:
        """
        Wait until every publisher has matched a subscriber, or ``timeout_s`` has passed.

        What was published before a subscriber matched goes to nobody, so playing starts
        only once each topic is heard (as ``rosbag play --wait-for-subscribers``).
        """
        started = time.monotonic()
        while True:
            matched = sum(p.get_subscription_count() > 0 for p in self._publishers.values())
            waited_s = time.monotonic() - started
            if (matched == len(self._publishers) or waited_s >= timeout_s
                    or not self._node.context.ok()):
                return Matching(matched, len(self._publishers), waited_s)
            time.sleep(min(MATCH_POLL_S, max(timeout_s - waited_s, 0.0)))

    def messages(self) -> Iterator[tuple[str, int, bytes]]:
        """(topic, bag timestamp [ns], serialized message) in bag order."""
        for connection, timestamp, raw in self._reader.messages(connections=self._connections):
            yield connection.topic, timestamp, bytes(raw)

    def play(self, rate: float = 1.0, answers: AnswerWatch | None = None,
             answer_timeout_s: float = 30.0, attempts: int = 3,
             on_message: Callable[[str, int], None] | None = None) -> PlayReport:
        """
        Publish every message, at ``rate`` x the recorded pace or paced by ``answers``.

        Paced, each message goes after the previous one was answered (matched by header
        stamp).

        Paced, a message without an answer is sent again (up to ``attempts`` times in all,
        within ``answer_timeout_s``): best-effort subscribers, the norm for lidar clouds, lose
        large messages when the receiving host is short of CPU, and waiting alone would stall.
        """
        if rate <= 0:
            raise ConfigError(f"rate must be > 0, got {rate}")
        report = PlayReport()
        start_wall: float | None = None
        start_bag = 0
        for topic, timestamp, raw in self.messages():
            if not self._node.context.ok():
                break  # Ctrl-C or SIGTERM
            if answers is None:
                if start_wall is None:
                    start_wall, start_bag = time.monotonic(), timestamp
                delay = start_wall + (timestamp - start_bag) / NS_PER_S / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            sent = time.monotonic()
            self._publishers[topic].publish(raw)
            report.published += 1
            if on_message is not None:
                on_message(topic, timestamp)
            if answers is not None:
                self._await_answer(raw, topic, sent, answers, answer_timeout_s, attempts, report)
        return report

    def _await_answer(self, raw: bytes, topic: str, sent: float, answers: AnswerWatch,
                      timeout_s: float, attempts: int, report: PlayReport) -> None:
        stamp = cdr_header_stamp_ns(raw)
        # a resend only after clearly longer than answers take, so a slow frame is not sent twice
        typical_s = (float(np.median(report.round_trip_ms[-20:])) / 1e3
                     if report.round_trip_ms else timeout_s / attempts)
        patience_s = min(max(3.0 * typical_s, 1.0), timeout_s / max(attempts, 1))
        deadline = sent + timeout_s
        for attempt in range(max(attempts, 1)):
            if attempt:
                self._publishers[topic].publish(raw)
                report.resent += 1
            wait_s = min(patience_s, deadline - time.monotonic())
            arrived = answers.wait_for(stamp, max(wait_s, 0.0))
            if arrived is not None:
                report.answered += 1
                report.round_trip_ms.append((arrived - sent) * 1e3)
                return

    def close(self) -> None:
        self._reader.close()


class TopicRecorder:
    """
    Writes every message on the given topics to a new rosbag2 folder.

    Waits until every topic has a publisher, then subscribes with the QoS their offers allow
    (:func:`record_qos`, as rosbag2 does) and keeps the offers in the bag, so that a replay
    offers what they did. A publisher that appears later with an offer the subscription does
    not match is not recorded; rclpy logs "offering incompatible QoS" for it (rosbag2 warns
    the same way).

    One writer thread owns the bag (sqlite3 objects must stay in their thread, and DDS
    callbacks stay short): callbacks only queue the serialized messages.
    """

    def __init__(self, node: Node, out: str | Path, topics: Sequence[str],
                 storage: str = "sqlite3", discovery_timeout_s: float = 10.0) -> None:
        if storage not in STORAGES:
            raise ConfigError(f"storage must be one of {STORAGES}, got {storage!r}")
        self.out = Path(out)
        if self.out.exists():
            raise ConfigError(f"{self.out} exists; choose a new folder for the recording")
        publishers = _discover_publishers(node, topics, discovery_timeout_s)
        self.types = {topic: _topic_type(topic, infos) for topic, infos in publishers.items()}
        offers = {topic: [info.qos_profile for info in infos]
                  for topic, infos in publishers.items()}
        #: the QoS each topic is recorded with
        self.qos = {topic: record_qos(topic_offers) for topic, topic_offers in offers.items()}
        self._offered = {topic: [bag_qos(offer) for offer in topic_offers]
                         for topic, topic_offers in offers.items()}
        self.counts = dict.fromkeys(topics, 0)
        self._queue: queue.Queue[tuple[str, int, bytes] | None] = queue.Queue()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._write_all, args=(storage,), daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error
        for topic in topics:
            for warning in mixed_offer_warnings(topic, offers[topic]):
                node.get_logger().warning(warning)
            node.create_subscription(message_class(self.types[topic]), topic,
                                     self._callback(topic), self.qos[topic], raw=True)

    def _callback(self, topic: str) -> Callable[[bytes], None]:
        def enqueue(raw: bytes) -> None:
            if not self._closed:
                self._queue.put((topic, time.time_ns(), raw))
        return enqueue

    def _write_all(self, storage: str) -> None:
        try:
            writer = Writer(self.out, version=BAG_VERSION, storage_plugin=storage_plugin(storage))
            writer.open()
            typestore = vision_typestore()
            connections = {topic: writer.add_connection(
                topic, msgtype, typestore=typestore, offered_qos_profiles=self._offered[topic])
                for topic, msgtype in self.types.items()}
        except BaseException as exc:  # noqa: B902 - handed to the constructor's thread
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            while (item := self._queue.get()) is not None:
                topic, timestamp, raw = item
                writer.write(connections[topic], timestamp, raw)
                self.counts[topic] += 1
        finally:
            writer.close()

    def close(self) -> None:
        """Write what is queued and finish the bag; later messages are ignored."""
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join()


def replay_qos(connections: Sequence[Any]) -> QoSProfile:
    """
    Give the QoS to replay a topic with, from its bag connections' offered QoS profiles.

    Reliable (it serves best-effort and reliable subscribers alike) and keep-last-10; transient
    local, at the offered depth, when every recorded publisher offered it (the node's
    LabelInfo), so that late subscribers still get the latched message.
    """
    offers = [qos for c in connections
              for qos in getattr(c.ext, "offered_qos_profiles", None) or ()]
    if offers and all(q.durability == QosDurability.TRANSIENT_LOCAL for q in offers):
        qos = _reliable(max(1, max(q.depth for q in offers)))
        qos.durability = DurabilityPolicy.TRANSIENT_LOCAL
        return qos
    return _reliable(10)


def record_qos(offers: Sequence[QoSProfile], depth: int = RECORD_DEPTH) -> QoSProfile:
    """
    Give the QoS to record a topic with, adapted to its publishers' offers as rosbag2 does.

    Reliable only if every publisher offers reliable: a reliable subscription does not match
    a best-effort publisher (a lidar driver's sensor-data QoS), a best-effort one matches
    both. Transient local only if every publisher offers it, so that what they latched before
    recording began (the node's LabelInfo) arrives too; it would not match a volatile
    publisher. No offers: reliable and volatile, rosbag2's default.
    """
    qos = _reliable(depth)
    if not offers:
        return qos
    if not all(offer.reliability == ReliabilityPolicy.RELIABLE for offer in offers):
        qos.reliability = ReliabilityPolicy.BEST_EFFORT
    if all(offer.durability == DurabilityPolicy.TRANSIENT_LOCAL for offer in offers):
        qos.durability = DurabilityPolicy.TRANSIENT_LOCAL
    return qos


def describe_qos(qos: QoSProfile) -> str:
    """Say a QoS's reliability and durability, e.g. "best effort, volatile"."""
    return ", ".join(policy.name.lower().replace("_", " ")
                     for policy in (qos.reliability, qos.durability))


def mixed_offer_warnings(topic: str, offers: Sequence[QoSProfile]) -> list[str]:
    """Say what recording loses when only some of a topic's publishers offer a policy."""
    reliable = sum(offer.reliability == ReliabilityPolicy.RELIABLE for offer in offers)
    latched = sum(offer.durability == DurabilityPolicy.TRANSIENT_LOCAL for offer in offers)
    warnings: list[str] = []
    if 0 < reliable < len(offers):
        warnings.append(f"{reliable} of {len(offers)} publishers of {topic} offer reliable: "
                        "recording best effort to hear them all, so messages of the reliable "
                        "ones may be lost")
    if 0 < latched < len(offers):
        warnings.append(f"{latched} of {len(offers)} publishers of {topic} offer transient "
                        "local: recording volatile to hear them all, so what they latched "
                        "before recording began is not recorded")
    return warnings


def bag_qos(offer: QoSProfile) -> Qos:
    """Give an rclpy QoS profile (a publisher's offer) as a bag connection keeps it."""
    return offered_qos(history=offer.history.value, depth=offer.depth,
                       reliability=offer.reliability.value, durability=offer.durability.value,
                       deadline_ns=offer.deadline.nanoseconds,
                       lifespan_ns=offer.lifespan.nanoseconds,
                       liveliness=offer.liveliness.value,
                       liveliness_lease_duration_ns=offer.liveliness_lease_duration.nanoseconds,
                       avoid_ros_namespace_conventions=offer.avoid_ros_namespace_conventions)


def _discover_publishers(node: Node, topics: Sequence[str],
                         timeout_s: float) -> dict[str, list[Any]]:
    """
    Wait until every topic has a publisher; give each topic's publishers (TopicEndpointInfo).

    A topic counts once two polls in a row see as many publishers: DDS announces a process's
    endpoints one at a time, and a QoS chosen from some of them may not match the others.
    """
    deadline = time.monotonic() + timeout_s
    seen_before: dict[str, int] = {}
    while True:
        found = {topic: list(node.get_publishers_info_by_topic(topic)) for topic in topics}
        if all(found.values()) and (time.monotonic() > deadline or all(
                len(found[topic]) == seen_before.get(topic) for topic in topics)):
            return found
        if time.monotonic() > deadline:
            missing = [topic for topic in topics if not found[topic]]
            raise ConfigError(f"no publisher of {missing} appeared within {timeout_s:.0f} s; "
                              "start the publishing node first")
        seen_before = {topic: len(infos) for topic, infos in found.items()}
        time.sleep(DISCOVERY_POLL_S)


def _topic_type(topic: str, publishers: Sequence[Any]) -> str:
    types = sorted({info.topic_type for info in publishers})
    if len(types) > 1:
        raise ConfigError(f"the publishers of {topic} disagree on its type: {types}")
    return types[0]
