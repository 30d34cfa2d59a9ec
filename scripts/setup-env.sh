#!/usr/bin/env bash
# Create (or reuse) the project virtualenv .venv and install the package with its extras.
# Idempotent: a second run only checks that the install is current.
# Usage: scripts/setup-env.sh [EXTRAS]   (default extras: test,train)
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-test,train}"
venv="${VENV:-.venv}"
python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
stamp="$venv/.installed-$(cat setup.py | sha256sum | cut -c1-16)-${extras//,/_}"
if [ ! -f "$stamp" ]; then
  "$venv/bin/python" -m pip install --quiet --upgrade pip >/dev/null
  "$venv/bin/python" -m pip install --quiet -e ".[$extras]"
  touch "$stamp"
fi
