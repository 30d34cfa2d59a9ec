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

"""Tests of tao_pointpillars_py.ros.cloud_slots: newest cloud per topic, drops counted."""

import threading
import time

from tao_pointpillars_py.ros.cloud_slots import LatestClouds


def test_a_newer_cloud_replaces_the_waiting_one_and_says_so():
    slots = LatestClouds()
    assert slots.offer("/a", 1, 0.0) is False
    assert slots.offer("/a", 2, 0.1) is True
    assert len(slots) == 1
    waiting = slots.take(0.0)
    assert (waiting.topic, waiting.cloud) == ("/a", 2)
    assert slots.take(0.0) is None


def test_topics_are_served_round_robin_then_longest_waiting_first():
    slots = LatestClouds()
    slots.offer("/b", "b1", 1.0)
    slots.offer("/a", "a1", 2.0)
    slots.offer("/b", "b2", 3.0)  # replaces b1, but /b has waited since 1.0
    taken = slots.take(0.0)
    assert (taken.cloud, taken.arrived_s, taken.since_s) == ("b2", 3.0, 1.0)
    assert slots.take(0.0).cloud == "a1"
    # a lidar whose cloud is always replaced still gets every other turn
    served = []
    for step in range(6):
        for topic in ("/a", "/b", "/c"):
            slots.offer(topic, (topic, step), 10.0 * step + len(served) * 0.1)
        served.append(slots.take(0.0).topic)
    assert set(served) == {"/a", "/b", "/c"}


def test_lidars_at_the_same_rate_share_inference_equally():
    # 4 lidars publish in the same order every 100 ms; inference answers 1.8 clouds a tick:
    # the first-published topic must not be favoured (an oldest-slot rule gave 297 vs 246)
    slots = LatestClouds()
    topics = [f"/ns{k}" for k in range(1, 5)]
    served = dict.fromkeys(topics, 0)
    busy_until = 0.0
    for tick in range(1000):
        now = tick * 0.1
        for k, topic in enumerate(topics):
            slots.offer(topic, tick, now + k * 0.001)
        while busy_until < now + 0.1:
            waiting = slots.take(0.0)
            if waiting is None:
                break
            served[waiting.topic] += 1
            busy_until = max(busy_until, waiting.arrived_s) + 0.055
    assert sum(served.values()) > 1700
    assert max(served.values()) - min(served.values()) <= 1, served


def test_take_waits_for_a_cloud_and_close_wakes_it():
    slots = LatestClouds()
    got = []
    taker = threading.Thread(target=lambda: got.append(slots.take(5.0)))
    taker.start()
    time.sleep(0.05)  # the taker is waiting by now, the case under test (else it takes at once)
    slots.offer("/a", "x", 0.0)
    taker.join(2.0)
    assert got[0].cloud == "x"
    taker = threading.Thread(target=lambda: got.append(slots.take(5.0)))
    taker.start()
    slots.close()
    taker.join(2.0)
    assert not taker.is_alive() and got[1] is None
