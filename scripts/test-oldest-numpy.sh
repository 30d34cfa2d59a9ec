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

# The ROS-free test suite on the oldest numpy the package supports (1.21.6) and the oldest
# releases of its other requirements that work with it, pinned exactly in
# scripts/oldest-requirements.txt, in a Python 3.10 virtualenv of its own (.venv-numpy121);
# the main virtualenv has numpy 2. Lint tests (their tools are not installed) are left out;
# ROS 2 and torch tests skip themselves.
# Idempotent: the virtualenv is built once per requirements file, setup.py and interpreter
# (a stamp); later runs only run the tests.
# Usage: scripts/test-oldest-numpy.sh [PYTEST ARGS]   no file arguments: every test (setup.cfg's
# testpaths), e.g. test/core/test_pointcloud2.py -x for one file
# Environment:
#   VENV    the virtualenv (default .venv-numpy121)
#   PYTHON  the interpreter that creates it (default python3.10); a pythonX.Y that does not
#           run as a command (a pyenv shim of a version that is not selected) is taken from
#           pyenv's newest installed X.Y.*
set -euo pipefail
# shellcheck source=scripts/resolve-python.sh
source "$(dirname "$0")/resolve-python.sh"
cd "$(dirname "$0")/.."
venv="${VENV:-.venv-numpy121}"
python="${PYTHON:-python3.10}"
requirements=scripts/oldest-requirements.txt

say() { echo "test-oldest-numpy: $*" >&2; }
die() { say "error: $*"; exit 1; }

if [ ! -x "$venv/bin/python" ]; then
  python="$(resolve_python "$python")"
  "$python" --version >/dev/null 2>&1 \
    || die "'$python' does not run: the pins in $requirements need Python 3.10 (install it, e.g.
  pyenv install 3.10, or set PYTHON to a Python 3.10 interpreter)"
  [ "$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" = 3.10 ] \
    || die "'$python' is $("$python" --version 2>&1); the pins in $requirements need 3.10"
  say "creating $venv with $("$python" --version 2>&1)"
  "$python" -m venv "$venv"
fi
py="$venv/bin/python"
key="$({ cat "$requirements" setup.py; "$py" -c 'import sys; print(sys.version)'; } \
       | sha256sum | cut -c1-16)"
stamp="$venv/.installed-$key"
if [ ! -f "$stamp" ]; then
  say "installing $requirements and the package (editable, --no-deps) into $venv"
  pip=("$py" -m pip --disable-pip-version-check)
  "${pip[@]}" install --quiet -r "$requirements"
  "${pip[@]}" install --quiet --no-deps -e .
  # the package's own install_requires (setup.py) must hold with these pins
  "${pip[@]}" check >&2
  touch "$stamp"
fi

# ROS-free: no ROS 2 Python modules of a sourced distro (built for another numpy and Python)
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
env -u PYTHONPATH "$py" -m pytest -q -p no:cacheprovider \
  --ignore=test/test_flake8.py --ignore=test/test_pep257.py --ignore=test/test_mypy.py "$@" \
  | tee "$log"
status="${PIPESTATUS[0]}"
set -e
versions="$("$py" -c 'import numpy, onnx, onnxruntime
print(f"numpy {numpy.__version__}, onnxruntime {onnxruntime.__version__}, onnx {onnx.__version__}")')"
say "$versions: $(grep -E '^=*.* in [0-9.]+s' "$log" | tail -n1 | tr -d '=' | sed 's/^ *//;s/ *$//')"
exit "$status"
