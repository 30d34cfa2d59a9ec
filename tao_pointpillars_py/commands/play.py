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

"""``tao-pointpillars play BAG``: publish a bag's messages over ROS 2, without rosbag2."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the play options."""
    parser.add_argument("bag", type=Path, help="rosbag2 folder (sqlite3 or mcap)")
    parser.add_argument("--topic", action="append", metavar="T",
                        help="topic to publish (repeatable; default: every topic)")
    parser.add_argument("--rate", type=float, default=1.0,
                        help="playback speed relative to the recording (default 1.0)")
    parser.add_argument("--paced-by", metavar="TOPIC",
                        help="as fast as consumed: send each message once an answer with the "
                             "same header stamp arrives on TOPIC (e.g. /bbox)")
    parser.add_argument("--answer-type", default="vision_msgs/msg/Detection3DArray",
                        help="message type of --paced-by (default Detection3DArray)")
    parser.add_argument("--loop", action="store_true", help="play again and again until Ctrl-C")
    parser.add_argument("--delay", type=float, default=10.0, metavar="S",
                        help="before the first message, wait until every topic has a "
                             "subscriber, for at most S seconds (default 10; 0: start at once)")


def run(args: argparse.Namespace) -> int:
    from ..ros.bag_io import BagPlayer
    from ..ros.spin import spinning_node

    with spinning_node("tao_pointpillars_play") as node:
        player = BagPlayer(node, args.bag, args.topic)
        try:
            _play(args, node, player)
        finally:
            player.close()
    return 0


def _play(args: argparse.Namespace, node: Any, player: Any) -> None:
    from ..ros.bag_io import AnswerWatch
    answers = AnswerWatch(node, args.paced_by, args.answer_type) if args.paced_by else None
    matching = player.wait_for_subscriptions(max(args.delay, 0.0))
    line = f"play: {matching.matched}/{matching.topics} topics matched a subscriber"
    print(line + (f" after {matching.waited_s:.2f} s" if matching.complete
                  else f"; playing anyway after --delay {args.delay:g} s"), flush=True)
    while node.context.ok():
        report = player.play(rate=args.rate, answers=answers)
        line = f"play: published {report.published} messages from {args.bag}"
        if answers is not None:
            line += f", {report.answered} answered on {args.paced_by}"
        print(line, flush=True)
        if not args.loop:
            break
