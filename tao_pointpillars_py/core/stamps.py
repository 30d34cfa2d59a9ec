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
Time stamps <-> integer nanoseconds: the one conversion for ROS messages and bags.

A ``builtin_interfaces/msg/Time`` (rclpy or rosbags message, or any object with ``sec`` and
``nanosec``) is whole seconds plus the nanoseconds left over; bags, fusion windows and the
answers matched to clouds key on the total in nanoseconds.
"""

from __future__ import annotations

from typing import Any

#: nanoseconds per second
NS_PER_S = 1_000_000_000


def stamp_ns(stamp: Any) -> int:
    """Nanoseconds of a time stamp with ``sec`` and ``nanosec`` (rclpy or rosbags message)."""
    return to_ns(stamp.sec, stamp.nanosec)


def to_ns(sec: int, nanosec: int) -> int:
    """Nanoseconds of whole seconds ``sec`` plus ``nanosec``."""
    return int(sec) * NS_PER_S + int(nanosec)


def split_ns(ns: int) -> tuple[int, int]:
    """Split nanoseconds into (sec, nanosec), as a Time message (or rmw duration) holds them."""
    sec, nanosec = divmod(int(ns), NS_PER_S)
    return sec, nanosec


def seconds_to_ns(seconds: float) -> int:
    """Nanoseconds of a duration in seconds, truncated."""
    return int(seconds * NS_PER_S)
