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
rosbag2 I/O of point clouds with the rosbags library (no ROS install needed).

Writes ``sensor_msgs/msg/PointCloud2`` in the Zvision driver layout (see
:mod:`tao_pointpillars_py.core.pointcloud2`) to sqlite3 or mcap rosbag2 folders, and reads
clouds of any layout back as (N, 4) points.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Iterable, Iterator, NamedTuple, Sequence, TypeVar

import numpy as np
from rosbags.highlevel import AnyReader
from rosbags.interfaces import (Connection, Qos, QosDurability, QosHistory, QosLiveliness,
                                QosReliability, QosTime)
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import get_typestore, Stores
from rosbags.typesys.store import Typestore

from ..core.pointcloud2 import (encode_zvision_cloud_data, POINT_FIELD_DTYPES,
                                points_from_cloud, zvision_fields, ZVISION_POINT_STEP)
from ..core.stamps import split_ns
from ..errors import CloudFormatError, ConfigError

POINTCLOUD2 = "sensor_msgs/msg/PointCloud2"
DEFAULT_TOPIC = "/ns1/zvision_lidar_points"
DEFAULT_FRAME_ID = "lidar_front"
STORAGES = ("sqlite3", "mcap")
#: rosbag2 metadata version of every bag we write. Not 9: version 9 writes each topic's
#: offered_qos_profiles as a YAML list, which Humble's rosbag2 (0.15) reads as a string and
#: fails on; version 8 keeps the string, its newer fields are ignored by Humble, and every
#: rosbag2 since (and rosbags) reads it.
BAG_VERSION: Final = 8


class CloudFrame(NamedTuple):
    """One decoded cloud: bag timestamp [ns], topic, header.frame_id, (N, 4) float32 points."""

    timestamp_ns: int
    topic: str
    frame_id: str
    points: np.ndarray


def _typestore() -> Typestore:
    return get_typestore(Stores.ROS2_HUMBLE)


def storage_plugin(storage: str) -> StoragePlugin:
    """Give rosbags' StoragePlugin for ``storage`` ("sqlite3" or "mcap")."""
    if storage not in STORAGES:
        raise ConfigError(f"storage must be one of {STORAGES}, got {storage!r}")
    return StoragePlugin.SQLITE3 if storage == "sqlite3" else StoragePlugin.MCAP


def write_cloud_bag(path: str | Path, frames: Iterable[tuple[int, np.ndarray]],
                    topic: str = DEFAULT_TOPIC, frame_id: str = DEFAULT_FRAME_ID,
                    storage: str = "sqlite3") -> int:
    """
    Write (timestamp_ns, (N, 4) points) pairs as PointCloud2 messages; return the count.

    ``path`` is the rosbag2 folder to create (it must not exist). Frames are serialized and
    written one at a time, so ``frames`` may be a lazy generator. header.stamp and the bag
    timestamp are both ``timestamp_ns``.
    """
    with CloudBagWriter(path, topic, frame_id, storage) as writer:
        count = 0
        for timestamp_ns, points in frames:
            writer.write(timestamp_ns, points)
            count += 1
    return count


class CloudBagWriter:
    """
    Streaming writer of Zvision-layout clouds to a new rosbag2 folder.

    ``topic`` and ``frame_id`` are the defaults of :meth:`write`, which may name other topics
    (one connection per topic, made when first written: e.g. the four lidars of the UGV).
    """

    def __init__(self, path: str | Path, topic: str = DEFAULT_TOPIC,
                 frame_id: str = DEFAULT_FRAME_ID, storage: str = "sqlite3") -> None:
        self.typestore = _typestore()
        self.topic, self.frame_id = topic, frame_id
        if Path(path).exists():
            raise FileExistsError(f"{path} exists; a rosbag2 folder is always written new, "
                                  f"remove it or choose another path")
        self._writer = Writer(Path(path), version=BAG_VERSION,
                              storage_plugin=storage_plugin(storage))
        self._connections: dict[str, Connection] = {}
        self._open = False

    def __enter__(self) -> "CloudBagWriter":
        self._writer.open()
        self._open = True
        self._connection_of(self.topic)
        return self

    def _connection_of(self, topic: str) -> Connection:
        if topic not in self._connections:
            self._connections[topic] = self._writer.add_connection(
                topic, POINTCLOUD2, typestore=self.typestore,
                offered_qos_profiles=[publisher_qos()])
        return self._connections[topic]

    def write(self, timestamp_ns: int, points: np.ndarray, topic: str | None = None,
              frame_id: str | None = None) -> None:
        """Serialize one (N, 4) cloud stamped ``timestamp_ns`` and append it."""
        records = np.frombuffer(encode_zvision_cloud_data(points), dtype=np.uint8)
        self._write_message(timestamp_ns, records, zvision_fields(), ZVISION_POINT_STEP,
                            is_dense=True, topic=topic, frame_id=frame_id)

    def write_records(self, timestamp_ns: int, records: np.ndarray, *, is_dense: bool,
                      topic: str | None = None, frame_id: str | None = None) -> None:
        """
        Append one cloud of any layout: a structured array, one record per point.

        The PointFields are the dtype's named fields (name, offset, datatype), point_step its
        itemsize, height 1 and width the record count, little-endian; e.g. the Zvision
        driver's own clouds with (0, 0, 0) where no return came (``is_dense`` False).
        """
        self._write_message(timestamp_ns, records, record_fields(records.dtype),
                            records.dtype.itemsize, is_dense=is_dense, topic=topic,
                            frame_id=frame_id)

    def _write_message(self, timestamp_ns: int, records: np.ndarray,
                       fields: Sequence[tuple[str, int, int, int]], point_step: int, *,
                       is_dense: bool, topic: str | None, frame_id: str | None) -> None:
        if not self._open:
            raise RuntimeError("CloudBagWriter.write called outside its with block")
        connection = self._connection_of(topic or self.topic)
        types = self.typestore.types
        sec, nanosec = split_ns(timestamp_ns)
        stamp = types["builtin_interfaces/msg/Time"](sec=sec, nanosec=nanosec)
        data = np.ascontiguousarray(records).view(np.uint8).reshape(-1)
        n = data.size // point_step
        msg = types[POINTCLOUD2](
            header=types["std_msgs/msg/Header"](stamp=stamp, frame_id=frame_id or self.frame_id),
            height=1, width=n,
            fields=[types["sensor_msgs/msg/PointField"](
                name=name, offset=offset, datatype=datatype, count=count)
                for name, offset, datatype, count in fields],
            is_bigendian=False, point_step=point_step,
            row_step=point_step * n, data=data, is_dense=is_dense)
        self._writer.write(connection, int(timestamp_ns),
                           self.typestore.serialize_cdr(msg, POINTCLOUD2))

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._open = False
        self._writer.__exit__(exc_type, exc, tb)


def record_fields(dtype: np.dtype) -> list[tuple[str, int, int, int]]:
    """
    Give the PointFields (name, offset, datatype, count 1) of a little-endian point dtype.

    Raises :class:`CloudFormatError` for a field PointCloud2 cannot carry (not one of
    :data:`POINT_FIELD_DTYPES`, big-endian or a sub-array).
    """
    codes = {np.dtype("<" + code): number for number, code in POINT_FIELD_DTYPES.items()}
    fields = []
    for name, (field_dtype, offset, *_) in (dtype.fields or {}).items():
        code = codes.get(field_dtype)
        if code is None:
            raise CloudFormatError(
                f"field {name!r} of type {field_dtype} has no PointField datatype; use one of "
                f"{sorted(str(np.dtype('<' + c)) for c in POINT_FIELD_DTYPES.values())}")
        fields.append((name, int(offset), code, 1))
    return fields


def publisher_qos() -> Qos:
    """Reliable, volatile, keep-last-10: `ros2 bag play` then serves any subscriber QoS."""
    return _reliable_qos(10, QosDurability.VOLATILE)


def latched_qos() -> Qos:
    """Reliable, transient local, keep-last-1: the node's LabelInfo QoS, replayed as latched."""
    return _reliable_qos(1, QosDurability.TRANSIENT_LOCAL)


def _reliable_qos(depth: int, durability: QosDurability) -> Qos:
    unset = QosTime(sec=0, nsec=0)
    return Qos(history=QosHistory.KEEP_LAST, depth=depth, reliability=QosReliability.RELIABLE,
               durability=durability, deadline=unset, lifespan=unset,
               liveliness=QosLiveliness.AUTOMATIC, liveliness_lease_duration=unset,
               avoid_ros_namespace_conventions=False)


def offered_qos(*, history: int, depth: int, reliability: int, durability: int,
                deadline_ns: int, lifespan_ns: int, liveliness: int,
                liveliness_lease_duration_ns: int, avoid_ros_namespace_conventions: bool) -> Qos:
    """
    Give a publisher's offered QoS as a bag's connection keeps it (rmw policy numbers, [ns]).

    Kept as discovered, as rosbag2 records it: DDS discovery does not carry the history, so
    publishers of other processes report history 3 (unknown) and depth 0, and durations left
    infinite report 2^63 - 1 ns. A number rmw does not know becomes UNKNOWN, not an error.
    """
    return Qos(history=_policy(QosHistory, history), depth=depth,
               reliability=_policy(QosReliability, reliability),
               durability=_policy(QosDurability, durability),
               deadline=_qos_time(deadline_ns), lifespan=_qos_time(lifespan_ns),
               liveliness=_policy(QosLiveliness, liveliness),
               liveliness_lease_duration=_qos_time(liveliness_lease_duration_ns),
               avoid_ros_namespace_conventions=avoid_ros_namespace_conventions)


_Policy = TypeVar("_Policy", bound=Enum)


def _policy(kind: type[_Policy], value: int) -> _Policy:
    try:
        return kind(value)
    except ValueError:
        return kind["UNKNOWN"]


def _qos_time(nanoseconds: int) -> QosTime:
    # split as rosbag2 writes rmw durations: whole seconds, then the nanoseconds left over
    sec, nsec = split_ns(nanoseconds)
    return QosTime(sec=sec, nsec=nsec)


def open_reader(path: str | Path) -> AnyReader:
    """Open a rosbag2 folder (or a ROS 1 bag) for reading; FileNotFoundError if it is not there."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"bag {path} does not exist")
    return AnyReader([path], default_typestore=_typestore())


def cloud_connections(reader: AnyReader, topics: Sequence[str] | None) -> list[Connection]:
    """Give the reader's PointCloud2 connections, of ``topics`` only (None: every one)."""
    connections = [c for c in reader.connections if c.msgtype == POINTCLOUD2]
    if topics is not None:
        wanted = set(topics)
        present = {c.topic for c in connections}
        if wanted - present:
            raise CloudFormatError(
                f"bag has no PointCloud2 topic(s) {sorted(wanted - present)}; "
                f"its PointCloud2 topics are {sorted(present)}")
        connections = [c for c in connections if c.topic in wanted]
    return connections


def read_clouds(path: str | Path, topics: Sequence[str] | None = None) -> Iterator[CloudFrame]:
    """
    Yield every PointCloud2 of the bag (sqlite3, mcap or ROS 1) in timestamp order.

    ``topics`` restricts to those topics (each must exist in the bag); None reads all
    PointCloud2 topics.
    """
    with open_reader(path) as reader:
        connections = cloud_connections(reader, topics)
        if not connections:
            return
        for connection, timestamp, raw in reader.messages(connections=connections):
            msg: Any = reader.deserialize(raw, connection.msgtype)  # a PointCloud2 message
            yield CloudFrame(int(timestamp), connection.topic, str(msg.header.frame_id),
                             points_from_cloud(msg))


def count_clouds(path: str | Path, topics: Sequence[str] | None = None) -> int:
    """Count the PointCloud2 messages (on ``topics``, or on all topics) without decoding."""
    with open_reader(path) as reader:
        return sum(int(c.msgcount) for c in cloud_connections(reader, topics))
