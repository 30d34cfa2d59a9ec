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

# The package built with colcon as a ROS user builds it, then its installed result checked
# (the colcon leg of .ci/run):
#  1. colcon-common-extensions from PyPI (pinned in scripts/colcon-requirements.txt) into a ROS
#     virtualenv set up by scripts/setup-ros.sh: colcon runs setup.py with its own interpreter,
#     so it must be the one with rclpy and the messages (as python3 is on a ROS machine);
#  2. a fresh workspace in a temporary folder with a copy of this repository's files (tracked
#     ones, as in the working tree) in src/tao_pointpillars_py; `colcon build` there;
#  3. install/setup.bash sourced and test/test_colcon_install.py run against the install:
#     the ament_python layout (lib/tao_pointpillars_py/pointpillars_node; share/ with launch,
#     params, models, rviz, package.xml; the ament index marker), the package imported from
#     the install, and the installed node started with the installed params, finding the
#     installed reference model through the ament index, answering a cloud over Fast DDS.
# Usage: scripts/colcon-check.sh [PYTEST ARGS]
# Environment:
#   VENV            the ROS virtualenv (default .venv-jazzy; .venv works as well), set up with
#                   the test extra, e.g. by VENV=.venv-jazzy PYTHON=python3.10 ROS_WHEELS=jazzy
#                   EXTRAS=test bash scripts/test.sh ...; its constraints (numpy<2 for jazzy)
#                   apply to the colcon install too
#   KEEP_WORKSPACE  1: keep the workspace (its path is printed) instead of deleting it
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"

say() { echo "colcon-check: $*" >&2; }
die() { say "error: $*"; exit 1; }

venv="${VENV:-.venv-jazzy}"
[ -x "$venv/bin/python" ] && [ -f "$venv/.ros-wheels" ] \
  || die "$venv is no ROS virtualenv; set it up first, e.g. VENV=$venv PYTHON=python3.10" \
         "ROS_WHEELS=jazzy bash scripts/setup-ros.sh test"
venv="$(cd "$venv" && pwd)"
python="$venv/bin/python"
distro="$(cat "$venv/.ros-wheels")"

# 1. colcon
constraints=()
if [ "$distro" = jazzy ]; then
  constraints=(-c scripts/constraints-numpy1.txt)
fi
stamp="$venv/.colcon-installed-$(cat scripts/colcon-requirements.txt scripts/constraints-numpy1.txt \
                                 | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  say "installing colcon into $venv (scripts/colcon-requirements.txt)"
  "$python" -m pip install --quiet "${constraints[@]}" -r scripts/colcon-requirements.txt \
    2> >(grep -v "is ignored" >&2) || die "pip could not install scripts/colcon-requirements.txt"
  rm -f "$venv"/.colcon-installed-*
  touch "$stamp"
fi

# 2. workspace and build
ws="$(mktemp -d "${TMPDIR:-/tmp}/tao-colcon-ws.XXXXXX")"
if [ "${KEEP_WORKSPACE:-0}" = 1 ]; then
  say "workspace $ws (kept)"
else
  trap 'rm -rf "$ws"' EXIT
fi
mkdir -p "$ws/src/tao_pointpillars_py"
git ls-files -z | tar --null --ignore-failed-read -T - -cf - 2>/dev/null \
  | tar -xf - -C "$ws/src/tao_pointpillars_py"
say "colcon build in $ws ($("$venv/bin/colcon" --help >/dev/null && "$python" -c \
  'from importlib.metadata import version; print("colcon-core", version("colcon-core"))'))"
start=$SECONDS
# what a user's shell might hold from another ROS must not leak into the build
(cd "$ws" && env -u AMENT_PREFIX_PATH -u CMAKE_PREFIX_PATH -u COLCON_PREFIX_PATH \
   -u PYTHONPATH "$venv/bin/colcon" build --event-handlers console_direct+ \
   >"$ws/colcon-build.log" 2>&1) \
  || { tail -n 40 "$ws/colcon-build.log" >&2; die "colcon build failed (log above)"; }
say "built in $((SECONDS - start)) s; colcon's summary and warnings:"
grep -E "^Summary:|^Finished|[Ww]arning" "$ws/colcon-build.log" | sort | uniq -c | sed 's/^/  /' >&2

# 3. the installed package, with install/setup.bash sourced
set +u  # colcon's setup scripts read unset variables
# shellcheck disable=SC1091
source "$ws/install/setup.bash"
set -u
say "sourced $ws/install/setup.bash: AMENT_PREFIX_PATH=$AMENT_PREFIX_PATH"
status=0
TAO_COLCON_INSTALL="$ws/install" "$python" -m pytest -q -p no:cacheprovider \
  test/test_colcon_install.py "$@" || status=$?
if [ "$status" -eq 5 ]; then
  die "no test ran"
fi
exit "$status"
