#!/usr/bin/env bash
# Create (or reuse) the project virtualenv .venv and install the package (editable).
# Idempotent: a second run only checks a stamp and returns at once.
# Usage: scripts/setup-env.sh [EXTRAS]   e.g. "test,train"; empty for the runtime only.
# Environment:
#   VENV         the virtualenv (default .venv)
#   PYTHON       the interpreter that creates it (default python3), e.g. python3.10; a
#                pythonX.Y that does not run as a command (a pyenv shim of a version that is
#                not selected) is taken from pyenv's newest installed X.Y.*
#   CONSTRAINTS  a pip constraints file applied to every install here (pip -c), e.g.
#                scripts/constraints-numpy1.txt (numpy<2 where Python modules built against
#                numpy 1 share the environment: ROS 2 Humble's, the Jazzy wheels' leg in CI)
set -euo pipefail
# shellcheck source=scripts/resolve-python.sh
source "$(dirname "$0")/resolve-python.sh"
cd "$(dirname "$0")/.."
extras="${1:-}"
venv="${VENV:-.venv}"
python="${PYTHON:-python3}"
constraints=()
if [ -n "${CONSTRAINTS:-}" ]; then
  [ -f "$CONSTRAINTS" ] || { echo "setup-env: error: no constraints file $CONSTRAINTS" >&2; exit 1; }
  constraints=(-c "$(cd "$(dirname "$CONSTRAINTS")" && pwd)/$(basename "$CONSTRAINTS")")
fi
if [ ! -x "$venv/bin/python" ]; then
  python="$(resolve_python "$python")"
  "$python" --version >/dev/null 2>&1 \
    || { echo "setup-env: error: '$python' does not run; set PYTHON to an interpreter" >&2; exit 1; }
  echo "setup-env: creating $venv with $("$python" --version)" >&2
  "$python" -m venv "$venv"
fi
spec="."
[ -n "$extras" ] && spec=".[$extras]"
key="$({ cat setup.py; if [ -n "${CONSTRAINTS:-}" ]; then cat "$CONSTRAINTS"; fi; } \
       | sha256sum | cut -c1-16)"
stamp="$venv/.installed-$key-${extras//,/_}"
if [ ! -f "$stamp" ]; then
  echo "setup-env: installing $spec into $venv${CONSTRAINTS:+ (constraints $CONSTRAINTS)}" >&2
  "$venv/bin/python" -m pip install --quiet --upgrade pip >/dev/null
  "$venv/bin/python" -m pip install --quiet "${constraints[@]}" -e "$spec"
  touch "$stamp"
fi
