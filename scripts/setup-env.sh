#!/usr/bin/env bash
# Create (or reuse) the project virtualenv .venv and install the package (editable).
# Idempotent: a second run only checks a stamp and returns at once.
# Usage: scripts/setup-env.sh [EXTRAS]   e.g. "test,train"; empty for the runtime only.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
venv="${VENV:-.venv}"
python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
  echo "setup-env: creating $venv with $($python --version)" >&2
  "$python" -m venv "$venv"
fi
spec="."
[ -n "$extras" ] && spec=".[$extras]"
stamp="$venv/.installed-$(sha256sum setup.py | cut -c1-16)-${extras//,/_}"
if [ ! -f "$stamp" ]; then
  echo "setup-env: installing $spec into $venv" >&2
  "$venv/bin/python" -m pip install --quiet --upgrade pip >/dev/null
  "$venv/bin/python" -m pip install --quiet -e "$spec"
  touch "$stamp"
fi
