#!/usr/bin/env bash
# Run the test suite in the project virtualenv (created on first use).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-env.sh test,train
exec .venv/bin/python -m pytest test -q "$@"
