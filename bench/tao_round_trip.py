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
TAO round trip of a model: export-tao, then import-tao, against the model itself.

Writes ``MODEL`` in TAO's layout and back into ``OUT/``, runs the native model, the round-trip
model and the TAO-layout file itself (converted in memory on ONNX Runtime, as the node does)
on every labeled cloud of a simulated validation set, and prints one table: per variant the
detections, the largest difference to the native model's (same frames: labels must be equal,
boxes and scores within ``--tolerance``) and the 3D / BEV AP (R40, moderate), scored as
``tao-pointpillars eval --model`` does. Exit 1 when a variant differs beyond the tolerance or
any of its APs by more than 0.05.
Run: ``.venv/bin/python bench/tao_round_trip.py --data data/val [--frames 200]``
(``tao-pointpillars sim --frames 200 --seed 2 --out data/val`` makes such a set).
"""

from __future__ import annotations

import argparse
from pathlib import Path
import sys

import numpy as np
import onnx

from tao_pointpillars_py.core.config import PostProcessConfig
from tao_pointpillars_py.data.labels import FrameLabels, LabelsFile, read_labels
from tao_pointpillars_py.inference.detector import Detector
from tao_pointpillars_py.inference.model_file import default_model_path, read_onnx
from tao_pointpillars_py.inference.tao_layout import export_tao, import_tao
from tao_pointpillars_py.tools.evaluation import (detector_detections, evaluate_detections,
                                                  MODEL_SCORE_THRESHOLD)

AP_TOLERANCE = 0.05


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=None, help="native model (reference)")
    parser.add_argument("--data", type=Path, required=True, help="dataset dir: bag/ + labels")
    parser.add_argument("--frames", type=int, default=200, help="labeled frames to use")
    parser.add_argument("--out", type=Path, default=Path("out/tao_round_trip"))
    parser.add_argument("--tolerance", type=float, default=1e-4)
    return parser.parse_args()


def first_frames(labels: LabelsFile, count: int) -> LabelsFile:
    """Cut a labels file to its first ``count`` frames."""
    kept = dict(list(labels.frames.items())[:count])
    return LabelsFile(labels.class_names, labels.topic, labels.frame_id, kept)


def largest_difference(native: dict[int, FrameLabels],
                       other: dict[int, FrameLabels]) -> tuple[int, float, float, int]:
    """(frames whose labels differ, max |box diff|, max |score diff|, detections)."""
    mismatched, box, score, total = 0, 0.0, 0.0, 0
    for stamp, ours in native.items():
        theirs = other[stamp]
        total += len(theirs)
        if not np.array_equal(ours.labels, theirs.labels):
            mismatched += 1
            continue
        if len(ours):
            box = max(box, float(np.abs(ours.boxes - theirs.boxes).max()))
            score = max(score, float(np.abs(ours.scores - theirs.scores).max()))
    return mismatched, box, score, total


def main() -> int:
    args = parse_args()
    model = args.model or default_model_path()
    args.out.mkdir(parents=True, exist_ok=True)
    tao_file, back_file = args.out / "model.tao.onnx", args.out / "model.roundtrip.onnx"
    onnx.save(export_tao(read_onnx(str(model))), str(tao_file))
    onnx.save(import_tao(read_onnx(str(tao_file))), str(back_file))
    labels = first_frames(read_labels(args.data / "labels.jsonl"), args.frames)
    variants = {"native": model, "export-tao + import-tao": back_file,
                "TAO layout (in memory)": tao_file}
    post = PostProcessConfig(score_threshold=MODEL_SCORE_THRESHOLD)  # as `eval --model`
    detectors = {name: Detector.from_model(str(path), post=post)
                 for name, path in variants.items()}
    found = {name: detector_detections(detector, args.data / "bag", labels.topic, labels,
                                       desc=name) for name, detector in detectors.items()}
    limits = detectors["native"].config.pillars.point_cloud_range
    results = {name: evaluate_detections(labels, dets, limits) for name, dets in found.items()}
    print(f"\n{len(labels.frames)} frames of {args.data}, model {model}\n")
    print(f"{'variant':<26}{'detections':>11}{'label diff':>11}{'max |dbox|':>12}"
          f"{'max |dscore|':>13}{'3D AP mod (V/P/C)':>26}{'BEV AP mod':>22}")
    failed = False
    for name, dets in found.items():
        mismatched, box, score, total = largest_difference(found["native"], dets)
        ap = results[name].ap
        ap3d = "/".join(f"{ap['3d'][c]['moderate']:.2f}" for c in labels.class_names)
        bev = "/".join(f"{ap['bev'][c]['moderate']:.2f}" for c in labels.class_names)
        print(f"{name:<26}{total:>11}{mismatched:>11}{box:>12.2e}{score:>13.2e}{ap3d:>26}"
              f"{bev:>22}")
        gap = max(abs(ap[m][c][d] - results["native"].ap[m][c][d]) for m in ap
                  for c in ap[m] for d in ap[m][c] if not np.isnan(ap[m][c][d]))
        failed |= mismatched > 0 or box > args.tolerance or score > args.tolerance
        failed |= gap > AP_TOLERANCE
    print(f"\n{'FAILED' if failed else 'OK'}: labels equal, boxes and scores within "
          f"{args.tolerance}, every AP within {AP_TOLERANCE} of the native model's")
    return int(failed)


if __name__ == "__main__":
    sys.exit(main())
