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
The newest unprocessed cloud of each input topic: the node's overload policy.

Clouds are taken in by a light callback and answered by one inference thread. When a topic's
cloud arrives while its previous one still waits, the waiting one is dropped (and counted):
the node always answers the newest cloud, and nothing queues up behind a slow answer.
"""

from __future__ import annotations

from dataclasses import dataclass
import threading
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Waiting(Generic[T]):  # a dataclass: generic NamedTuples need Python 3.11
    """
    A cloud waiting for inference: its topic, when it arrived (monotonic s), the cloud.

    ``since_s`` is when its topic's slot filled: a replaced cloud hands it on.
    """

    topic: str
    arrived_s: float
    cloud: T
    since_s: float


class LatestClouds(Generic[T]):
    """
    One slot per topic; thread-safe; ``take`` goes round the waiting topics.

    The next cloud is the one of the waiting topic served least recently (never served first,
    then the one waiting longest): lidars publishing at the same rate share inference equally,
    and none starves however fast the others are.
    """

    def __init__(self) -> None:
        self._slots: dict[str, Waiting[T]] = {}
        self._served: dict[str, int] = {}  # topic -> number of the take that last served it
        self._takes = 0
        self._condition = threading.Condition()
        self._closed = False

    def offer(self, topic: str, cloud: T, now_s: float) -> bool:
        """Put ``cloud`` in its topic's slot; True when it replaced (dropped) a waiting one."""
        with self._condition:
            previous = self._slots.get(topic)
            dropped = previous is not None
            since = previous.since_s if previous is not None else now_s
            self._slots[topic] = Waiting(topic, now_s, cloud, since)
            self._condition.notify()
            return dropped

    def take(self, timeout_s: float) -> Waiting[T] | None:
        """Remove and return the cloud that has waited longest; None on timeout or close."""
        with self._condition:
            if not self._condition.wait_for(lambda: self._slots or self._closed, timeout_s):
                return None
            if self._closed:
                return None
            topic = min(self._slots,
                        key=lambda t: (self._served.get(t, -1), self._slots[t].since_s))
            self._takes += 1
            self._served[topic] = self._takes
            return self._slots.pop(topic)

    def close(self) -> None:
        """Wake every ``take`` and make it return None from now on."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    def __len__(self) -> int:
        with self._condition:
            return len(self._slots)
