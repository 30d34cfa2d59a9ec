#!/usr/bin/env bash
# Newcomer's main job on the built-in defaults, CPU only: simulate a small Zvision-like sample
# bag, run the reference PointPillars model over it with ONNX Runtime, and print AP against the
# bag's labels. Everything lands in out/demo (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-env.sh
frames="${DEMO_FRAMES:-40}"
.venv/bin/tao-pointpillars sim --frames "$frames" --seed 1000 --out out/demo --force
.venv/bin/tao-pointpillars eval --labels out/demo/labels.jsonl --bag out/demo/bag \
  --model models/pointpillars_zvision.onnx --json out/demo/eval.json
