#!/usr/bin/env python3

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

"""
Side-by-side speed of every backend and precision of a model on this machine.

Rows: ONNX Runtime fp32 / int8 (CPU form and Q/DQ as stored), TensorRT fp32 / fp16 / int8
where a GPU is present, PyTorch eager; columns: preprocessing, inference, decode + NMS and
total ms (median / p99), frames/s and inference speed-up against the first row. Variants are
interleaved frame by frame, so ratios hold on a noisy machine. It is ``tao-pointpillars bench``,
run from the source tree. Run: ``.venv/bin/python bench/bench_backends.py [MODEL.onnx]
[--bag BAG] [--frames 20] [--rounds 5] [--threads 1] [--json OUT.json]``.
"""

from __future__ import annotations

import sys

from tao_pointpillars_py.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
