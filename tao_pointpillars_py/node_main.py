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
Entry point ``pointpillars_node``: a stop request is quiet from the process's first moment.

Importing the node (rclpy, numpy, ONNX Runtime) takes a while: 0.3 s on a desktop, longer on
a Jetson. A SIGINT (Ctrl-C in ``ros2 launch``) or SIGTERM in that time, before
:func:`tao_pointpillars_py.ros.node.main` has set up its own handling, would end the process with
a KeyboardInterrupt traceback or kill it. Here either ends it with status 0 and no output.
Nothing but the standard library is imported before the handlers are in place.

Before the node's modules, it checks that vision_msgs has the messages the node publishes:
Humble's first vision_msgs release, 4.0.0, lacks LabelInfo and VisionClass, and the
ImportError deep in the node's imports would not say what to install.
"""

import signal
import sys
from types import FrameType
import xml.etree.ElementTree as ElementTree


def _stop_while_importing(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


#: vision_msgs messages the node uses; LabelInfo and VisionClass came in vision_msgs 4.1.0
VISION_MSGS_NEEDED = ("Detection3DArray", "LabelInfo", "VisionClass")


def vision_msgs_problem() -> str | None:
    """Why the installed vision_msgs cannot serve the node (what to install), or None."""
    update = ("install vision_msgs >= 4.1.0: `sudo apt update && sudo apt install "
              "ros-$ROS_DISTRO-vision-msgs`, or build ros-perception/vision_msgs (4.1 or newer) "
              "in your workspace")
    try:
        import vision_msgs.msg as messages
    except ImportError as exc:
        return f"vision_msgs does not import ({exc}); {update}"
    missing = [name for name in VISION_MSGS_NEEDED if not hasattr(messages, name)]
    if not missing:
        return None
    return (f"vision_msgs {_package_version('vision_msgs')}lacks {', '.join(missing)} "
            f"(Humble's first release, 4.0.0, does); {update}")


def _package_version(package: str) -> str:
    # '4.0.0 ', or '' where no ament index or package.xml says
    try:
        from ament_index_python.packages import get_package_share_directory
        path = f"{get_package_share_directory(package)}/package.xml"
        return ElementTree.parse(path).getroot().findtext("version", "") + " "
    except Exception:  # noqa: B902 - no ament index, no package.xml: the version is a detail
        return ""


def main() -> int:
    """Run the node (:func:`.ros.node.main`), quiet on a signal while importing."""
    signal.signal(signal.SIGINT, _stop_while_importing)
    signal.signal(signal.SIGTERM, _stop_while_importing)
    problem = vision_msgs_problem()
    if problem is not None:
        from rclpy.logging import get_logger
        get_logger("pointpillars").fatal(f"cannot start: {problem}")  # node.NODE_NAME
        return 1
    from .ros.node import main as node_main
    # node.main expects Python's default SIGINT handler, which rclpy.init chains to
    signal.signal(signal.SIGINT, signal.default_int_handler)
    return node_main()


if __name__ == "__main__":
    sys.exit(main())
