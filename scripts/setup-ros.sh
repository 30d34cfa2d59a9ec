#!/usr/bin/env bash
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

# ROS 2 without a ROS install: extend the project virtualenv .venv (scripts/setup-env.sh) with
# the ROS 2 wheels from PyPI and build vision_msgs from ros/vision_msgs into it, so that
# .venv/bin/python imports rclpy and all the messages the node uses, with no environment to
# source (see ros/README.md).
# Idempotent: a second run only checks a stamp and returns at once.
# Where ROS 2 is sourced already, does nothing: the system's packages are used there.
# Usage: scripts/setup-ros.sh [EXTRAS]   EXTRAS as for scripts/setup-env.sh, e.g. "test".
# Environment (and VENV, PYTHON, CONSTRAINTS as for scripts/setup-env.sh):
#   ROS_WHEELS  which distro's wheels:
#               kilted (default): ros-*, pinned in scripts/ros-requirements.txt;
#               jazzy: ros-jazzy-*, pinned in scripts/ros-requirements-jazzy.txt, with
#                 CONSTRAINTS defaulting to scripts/constraints-numpy1.txt (numpy < 2).
#               A virtualenv keeps the distro it was set up with ($VENV/.ros-wheels): later
#               runs on it need no ROS_WHEELS, and another distro is refused (one ROS per venv).
# The second CI leg (.ci/run), locally:
#   VENV=.venv-jazzy PYTHON=python3.10 ROS_WHEELS=jazzy EXTRAS=test bash scripts/test.sh \
#     test/ros/test_node.py
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${VENV:-.venv}"

say() { echo "setup-ros: $*" >&2; }
die() { say "error: $*"; exit 1; }

if [ -n "${ROS_DISTRO:-}" ] && python3 -c 'import rclpy' >/dev/null 2>&1; then
  say "ROS 2 ${ROS_DISTRO} is sourced; using it, nothing to do"
  exit 0
fi

marker="$venv/.ros-wheels"
had="$(cat "$marker" 2>/dev/null || true)"
if [ -z "$had" ] && compgen -G "$venv/.ros-installed-*" >/dev/null; then
  had=kilted  # set up before the choice existed
fi
distro="${ROS_WHEELS:-${had:-kilted}}"
case "$distro" in
  kilted) requirements=scripts/ros-requirements.txt ;;
  jazzy)
    requirements=scripts/ros-requirements-jazzy.txt
    export CONSTRAINTS="${CONSTRAINTS:-scripts/constraints-numpy1.txt}" ;;
  *) die "ROS_WHEELS=$distro: kilted or jazzy" ;;
esac
if [ -n "$had" ] && [ "$had" != "$distro" ]; then
  die "$venv has the ROS 2 $had wheels; for $distro use another VENV (e.g. VENV=.venv-$distro)"
fi
constraints=()
if [ -n "${CONSTRAINTS:-}" ]; then
  constraints=(-c "$CONSTRAINTS")
fi

bash scripts/setup-env.sh "${1:-}"
echo "$distro" >"$marker"
venv="$(cd "$venv" && pwd)"
python="$venv/bin/python"
key="$({ find ros -type f -print0 | sort -z | xargs -0 sha256sum
         sha256sum scripts/setup-ros.sh "$requirements" scripts/ros-build-tools.txt \
           ${CONSTRAINTS:+"$CONSTRAINTS"}
         "$python" -c 'import sys; print(sys.version)'; } | sha256sum | cut -c1-16)"
stamp="$venv/.ros-installed-$key"
if [ -f "$stamp" ]; then
  exit 0
fi

# Tools: a C and a C++ compiler and the Python headers from the system; cmake and ninja from
# the system, or else pinned wheels from PyPI into the virtualenv.
for tool in cc c++; do
  command -v "$tool" >/dev/null \
    || die "no '$tool' compiler found; install one, e.g. 'apt-get install build-essential'"
done
no_headers="no Python.h for $("$python" --version); install e.g. 'apt-get install python3-dev'"
"$python" - <<'EOF' || die "$no_headers"
import os
import sys
import sysconfig
sys.exit(not os.path.isfile(os.path.join(sysconfig.get_paths()["include"], "Python.h")))
EOF
cmake_ok() {
  local version
  version="$("$1" --version 2>/dev/null | head -n1 | awk '{print $3}')" || return 1
  [ -n "$version" ] && [ "$(printf '%s\n3.16\n' "$version" | sort -V | head -n1)" = "3.16" ]
}
cmake="$(command -v cmake || true)"
ninja="$(command -v ninja || true)"
if [ -z "$cmake" ] || ! cmake_ok "$cmake" || [ -z "$ninja" ]; then
  say "no cmake >= 3.16 or no ninja on PATH; installing the cmake and ninja wheels into $venv"
  "$python" -m pip install --quiet "${constraints[@]}" -r scripts/ros-build-tools.txt 2> >(grep -v "is ignored" >&2) \
    || die "could not install cmake/ninja wheels; install them, e.g. 'pip install cmake ninja'"
  cmake="$venv/bin/cmake"
  ninja="$venv/bin/ninja"
fi

say "installing the ROS 2 ${distro^} wheels into $venv ($requirements)"
"$python" -m pip install --quiet "${constraints[@]}" -r "$requirements" \
    2> >(grep -v "is ignored" >&2) \
  || die "pip could not install $requirements into $venv: the wheels are for" \
         "CPython 3.10-3.14 on x86_64 Linux (this is $("$python" --version), $(uname -m))"

# The wheels' CMake export files name the wheel builder's interpreter (/opt/python/cpXY-cpXY/...
# include and numpy include directories); point them at this virtualenv's, in place, only in
# the virtualenv. Idempotent: once rewritten, nothing matches any more.
py_include="$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
np_include="$("$python" -c 'import numpy; print(numpy.get_include())')"
builder='/opt/python/cp3[0-9]*-cp3[0-9]*'
site='lib/python3\.[0-9]*/site-packages'
{ grep -rlZ --include='*.cmake' -e '/opt/python/cp3' "$venv/share" || true; } \
  | xargs -0 -r sed -i \
      -e "s#${builder}/${site}/numpy/_\{0,1\}core/include#${np_include}#g" \
      -e "s#${builder}/include/python3\.[0-9]*#${py_include}#g"
if grep -rq --include='*.cmake' -e '/opt/python/cp3' "$venv/share"; then
  die "could not rewrite the wheel builder's Python paths in $venv/share/*/cmake"
fi

# vision_msgs: configure, build and install into the virtualenv's prefix, where the wheels
# keep their own message packages: libraries in $venv/lib (on the LD_LIBRARY_PATH that the
# wheels' bootstrapper sets at interpreter start), Python in site-packages, ament index and
# interface files in $venv/share.
build="$venv/build/vision_msgs"
say "building vision_msgs from ros/vision_msgs in $build"
mkdir -p "$build"
if [ -f "$build/CMakeCache.txt" ] && ! grep -q "^CMAKE_MAKE_PROGRAM:[A-Z]*=$ninja\$" \
    "$build/CMakeCache.txt"; then
  rm -rf "$build"  # configured with other tools: start again
  mkdir -p "$build"
fi
export AMENT_PREFIX_PATH="$venv" CMAKE_PREFIX_PATH="$venv"
jobs="$(nproc 2>/dev/null || echo 2)"
"$cmake" -S ros/vision_msgs -B "$build" -G Ninja -DCMAKE_MAKE_PROGRAM="$ninja" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$venv" -DCMAKE_PREFIX_PATH="$venv" \
  -DPython3_EXECUTABLE="$python" -DBUILD_TESTING=OFF >"$build/configure.log" 2>&1 \
  || { tail -n 30 "$build/configure.log" >&2; die "cmake failed, see $build/configure.log"; }
"$cmake" --build "$build" -j "$jobs" >"$build/build.log" 2>&1 \
  || { tail -n 30 "$build/build.log" >&2; die "build failed, see $build/build.log"; }
if [ -f "$build/install_manifest.txt" ]; then  # drop what an earlier build installed
  { grep "^$venv/" "$build/install_manifest.txt" || true; } | tr '\n' '\0' | xargs -0 -r rm -f
fi
"$cmake" --install "$build" >"$build/install.log" 2>&1 \
  || { tail -n 30 "$build/install.log" >&2; die "install failed, see $build/install.log"; }
# colcon run in the repository on a machine with ROS must not take the wheels' share/*/
# package.xml for packages to build.
touch "$venv/COLCON_IGNORE"

env -u AMENT_PREFIX_PATH -u CMAKE_PREFIX_PATH "$python" - <<'EOF' \
  || die "rclpy or the messages do not import from $python"
import rclpy  # noqa: F401
from diagnostic_msgs.msg import DiagnosticArray  # noqa: F401
from rcl_interfaces.msg import Parameter  # noqa: F401
from sensor_msgs.msg import PointCloud2  # noqa: F401
from vision_msgs.msg import Detection3DArray, LabelInfo  # noqa: F401
from visualization_msgs.msg import MarkerArray  # noqa: F401
from rclpy.serialization import deserialize_message, serialize_message
msg = Detection3DArray()
assert deserialize_message(serialize_message(msg), Detection3DArray) == msg
EOF
rm -f "$venv"/.ros-installed-*
touch "$stamp"
say "done: $python imports rclpy and vision_msgs (ROS 2 ${distro^} wheels)"
