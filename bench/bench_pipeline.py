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
Per-stage latency of the detection pipeline for one 51,200-point frame on one CPU core.

Stages: cloud-to-pillars (PointCloud2 buffer decode + intensity mapping + pillarize + padding),
ONNX Runtime forward pass, decode + NMS. Prints a table of median / p90 / p99 milliseconds.
Run: ``.venv/bin/python bench/bench_pipeline.py [--model MODEL.onnx] [--repeats 50]``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
import sys
import time
from types import SimpleNamespace

# one core: pin before numpy / onnxruntime start their thread pools
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import numpy as np  # noqa: E402

from tao_pointpillars_py.core.pointcloud2 import (encode_zvision_cloud_data,  # noqa: E402
                                                  points_from_cloud, zvision_fields)
from tao_pointpillars_py.core.postprocess import decode_predictions  # noqa: E402
from tao_pointpillars_py.core.stats import percentiles  # noqa: E402
from tao_pointpillars_py.inference.detector import Detector  # noqa: E402
from tao_pointpillars_py.sim import simulate_frame  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
FRAME_POINTS = 51_200


def zvision_cloud(points: np.ndarray) -> SimpleNamespace:
    """Build a PointCloud2-shaped object in the Zvision driver layout."""
    fields = [SimpleNamespace(name=n, offset=o, datatype=d, count=c)
              for n, o, d, c in zvision_fields()]
    return SimpleNamespace(height=1, width=points.shape[0], fields=fields, is_bigendian=False,
                           point_step=32, row_step=32 * points.shape[0],
                           data=encode_zvision_cloud_data(points), is_dense=True)


def full_frame(seed: int) -> np.ndarray:
    """51,200 simulated points (two simulated frames' returns, as dense as a full frame)."""
    parts, index = [], 0
    while sum(p.shape[0] for p in parts) < FRAME_POINTS:
        parts.append(simulate_frame(seed, index).points)
        index += 1
    return np.concatenate(parts)[:FRAME_POINTS]


def timed(fn, repeats: int) -> np.ndarray:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return np.asarray(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(REPO / "models" / "pointpillars_zvision.onnx"))
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    detector = Detector.from_model(args.model, backend_options={"threads": 1})
    cloud = zvision_cloud(full_frame(args.seed))
    points = points_from_cloud(cloud)
    inputs = detector.model_inputs(points)
    outputs = detector.backend.infer(inputs)
    detector.detect(points)

    def decode_and_nms():
        return decode_predictions(outputs["cls_preds"][0], outputs["box_preds"][0],
                                  outputs["dir_cls_preds"][0], detector.anchors,
                                  detector.config, detector.post)

    rows = [
        ("cloud-to-pillars", timed(lambda: detector.model_inputs(points_from_cloud(cloud)),
                                   args.repeats), 5.0),
        ("onnxruntime forward", timed(lambda: detector.backend.infer(inputs),
                                      max(5, args.repeats // 5)), None),
        ("decode+NMS", timed(decode_and_nms, args.repeats), 5.0),
        ("detect (end to end)", timed(lambda: detector.detect(points_from_cloud(cloud)),
                                      max(5, args.repeats // 5)), None),
    ]
    print(f"model: {os.path.relpath(args.model)}; frame: {cloud.width} points, "
          f"{int(inputs['num_pillars'][0])} pillars, {len(decode_and_nms())} detections; "
          f"1 core")
    print(f"{'stage':<22}{'median ms':>10}{'p90 ms':>9}{'p99 ms':>9}{'target':>9}{'ok':>5}")
    for name, times, target in rows:
        med, p90, p99 = percentiles(times, (50, 90, 99))
        ok = "" if target is None else ("yes" if med <= target else "NO")
        target_text = "" if target is None else f"<= {target:g}"
        print(f"{name:<22}{med:>10.2f}{p90:>9.2f}{p99:>9.2f}{target_text:>9}{ok:>5}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
