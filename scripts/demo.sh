#!/usr/bin/env bash
# Newcomer's main job on the built-in defaults, CPU only, no ROS install needed: simulate a
# small labeled Zvision-like sample bag, start the PointPillars node with params/pointpillars.yaml,
# play the bag to it over ROS 2 (Fast DDS, loopback), record /bbox and /bbox_markers into
# out/demo/detections and print a summary (frames, detections per class, latency, AP).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-ros.sh
python=.venv/bin/python
if [ -n "${ROS_DISTRO:-}" ] && python3 -c 'import rclpy' >/dev/null 2>&1; then
  python=python3
fi
exec "$python" -m tao_pointpillars_py.cli demo --frames "${DEMO_FRAMES:-40}" "$@"
