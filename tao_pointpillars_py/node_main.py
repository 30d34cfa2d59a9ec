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
:func:`tao_pointpillars_py.node.main` has set up its own handling, would end the process with
a KeyboardInterrupt traceback or kill it. Here either ends it with status 0 and no output.
Nothing but the standard library is imported before the handlers are in place.
"""

import signal
import sys
from types import FrameType


def _stop_while_importing(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main() -> int:
    """Run the node (:func:`tao_pointpillars_py.node.main`), quiet on a signal while importing."""
    signal.signal(signal.SIGINT, _stop_while_importing)
    signal.signal(signal.SIGTERM, _stop_while_importing)
    from .node import main as node_main
    # node.main expects Python's default SIGINT handler, which rclpy.init chains to
    signal.signal(signal.SIGINT, signal.default_int_handler)
    return node_main()


if __name__ == "__main__":
    sys.exit(main())
