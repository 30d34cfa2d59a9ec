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
An rclpy node spun on a background thread: for the commands that play and record, and tests.

The caller's thread stays free to publish, wait and stop; the node's callbacks (and those of
other nodes of its context) run on the spin thread.
"""

from __future__ import annotations

from contextlib import contextmanager
import threading
from typing import Any, Iterator

import rclpy
from rclpy.context import Context
from rclpy.executors import Executor, ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node


class SpinningNode:
    """
    Initialise a context and make a node in it; :meth:`spin` runs its callbacks on a thread.

    ``context`` None is rclpy's default context, whose initialisation installs rclpy's SIGINT
    and SIGTERM handlers: they shut the context down, and the caller stops when
    ``node.context.ok()`` is false. Ctrl-C also raises KeyboardInterrupt, except in a process
    started with SIGINT ignored (``cmd &`` in a script), so that alone is not enough. A context
    of its own (``rclpy.Context()``) keeps a test's nodes apart from other contexts.
    """

    def __init__(self, name: str, context: Context | None = None) -> None:
        rclpy.init(args=[], context=context)
        self.context = context if context is not None else rclpy.get_default_context()
        self.node = rclpy.create_node(name, context=self.context)
        self.executor: Executor | None = None
        self._nodes = [self.node]
        self._spinner: threading.Thread | None = None

    def spin(self, *others: Node, executor: type[Executor] = SingleThreadedExecutor,
             **executor_options: Any) -> None:
        """Spin the node, and ``others`` of its context, with ``executor`` on a thread."""
        self._nodes = [*others, self.node]
        self.executor = executor(context=self.context, **executor_options)
        for node in self._nodes:
            self.executor.add_node(node)
        self._spinner = threading.Thread(target=_spin_until_shutdown, args=(self.executor,),
                                         daemon=True)
        self._spinner.start()

    def close(self) -> None:
        """Stop spinning, destroy the nodes spun, shut the context down."""
        # the spin thread must be out of rcl's wait before the nodes and context go, or the
        # process aborts at exit ("terminate called without an active exception")
        if self.executor is not None:
            self.executor.shutdown()
        if self._spinner is not None:
            self._spinner.join(timeout=10)
        for node in self._nodes:
            node.destroy_node()
        rclpy.try_shutdown(context=self.context)


def _spin_until_shutdown(executor: Executor) -> None:
    try:
        executor.spin()
    except ExternalShutdownException:
        pass  # Ctrl-C or SIGTERM: the main thread sees the context end and finishes the run


@contextmanager
def spinning_node(name: str) -> Iterator[Node]:
    """Initialise rclpy's default context and yield a node spun on a background thread."""
    spinning = SpinningNode(name)
    spinning.spin()
    try:
        yield spinning.node
    finally:
        spinning.close()
