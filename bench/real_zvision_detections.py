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
Every detection of a model on the real ML-30S-A1 recording, with what its box holds.

The recording (test/data_files/zvision, a static courtyard: no vehicles, no people, no
cyclists) is decoded as the vendor driver publishes it and answered as the node does with a
params file (default params/zvision_ml30s.yaml). Every detection is then a false positive; the
table lists each one in the model's frame (x forward, y left, z up) with the returns inside
its box (footprint grown by 0.2 m): how many, their height span above the lowest and their
median intensity, so it can be matched with the renders (`tao-pointpillars render`).

    .venv/bin/python bench/real_zvision_detections.py [--model M.onnx] [--params-file P.yaml]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import sys

import numpy as np

from tao_pointpillars_py.core.boxes import transform_boxes
from tao_pointpillars_py.data import zvision_pcap
from tao_pointpillars_py.inference.detector import Detector
from tao_pointpillars_py.inference.model_file import default_model_path
from tao_pointpillars_py.ros.parameters import settings_from_file

REPO = Path(__file__).resolve().parents[1]
CAPTURE = REPO / "test" / "data_files" / "zvision" / "ML30S_A1_Default.pcap"
CALIBRATION = CAPTURE.with_suffix(".cal")
PARAMS = REPO / "params" / "zvision_ml30s.yaml"
FOOTPRINT_MARGIN_M = 0.2
#: score thresholds the summary also counts at (how far above the default the boxes score)
HIGHER_THRESHOLDS = (0.4, 0.5, 0.6, 0.7)


def real_clouds(pcap: Path, calibration: Path) -> list[np.ndarray]:
    """Each complete frame's returns (N, 4): x, y, z in the driver's frame, reflectance."""
    return [frame.return_points() for frame in zvision_pcap.decode_capture(pcap, calibration)]


def points_in_footprint(points: np.ndarray, box: np.ndarray, margin: float) -> np.ndarray:
    """Points (N, >=3) whose x, y fall inside a box's footprint grown by ``margin``."""
    c, s = np.cos(box[6]), np.sin(box[6])
    dx, dy = points[:, 0] - box[0], points[:, 1] - box[1]
    along, across = dx * c + dy * s, -dx * s + dy * c
    return points[(np.abs(along) <= box[3] / 2 + margin) & (np.abs(across) <= box[4] / 2 + margin)]


def detection_rows(detector: Detector, clouds: list[np.ndarray]) -> list[dict]:
    """One row per detection over all clouds, in the model's frame."""
    to_model = detector.cloud_to_model
    rows = []
    for index, cloud in enumerate(clouds):
        found = detector.detect(cloud)
        model_points = detector.model_frame_points(cloud)
        boxes = transform_boxes(found.boxes, to_model) if to_model is not None else found.boxes
        for box, score, label in zip(boxes, found.scores, found.labels):
            inside = points_in_footprint(model_points, box, FOOTPRINT_MARGIN_M)
            z = inside[:, 2] if inside.shape[0] else np.zeros(1, np.float32)
            rows.append({"frame": index, "class": detector.config.class_names[int(label)],
                         "score": round(float(score), 3),
                         "box": [round(float(v), 2) for v in box],
                         "points": int(inside.shape[0]),
                         "z_low": round(float(z.min()), 2), "z_high": round(float(z.max()), 2),
                         "intensity_p50": (round(float(np.median(inside[:, 3])), 1)
                                           if inside.shape[0] else None)})
    return rows


def class_counts(rows: list[dict], class_names: tuple[str, ...]) -> dict[str, int]:
    """Count the detections of each class name."""
    return {name: sum(r["class"] == name for r in rows) for name in class_names}


def table(rows: list[dict]) -> str:
    """Markdown table of the rows."""
    lines = ["| frame | class | score | x fwd | y left | z | l x w x h | yaw | points | "
             "z of points | intensity p50 |", "|" + " --- |" * 11]
    for r in rows:
        x, y, z, dx, dy, dz, yaw = r["box"]
        lines.append(f"| {r['frame']} | {r['class']} | {r['score']:.2f} | {x:.1f} | {y:.1f} | "
                     f"{z:.1f} | {dx:.1f} x {dy:.1f} x {dz:.1f} | {np.degrees(yaw):.0f} | "
                     f"{r['points']} | {r['z_low']:.1f} .. {r['z_high']:.1f} | "
                     f"{r['intensity_p50']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=default_model_path())
    parser.add_argument("--params-file", type=Path, default=PARAMS)
    parser.add_argument("--pcap", type=Path, default=CAPTURE)
    parser.add_argument("--calibration", type=Path, default=CALIBRATION)
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = parser.parse_args(argv)
    settings = settings_from_file(args.params_file)
    detector = Detector.from_model(str(args.model), post=settings.post,
                                   intensity_range=settings.intensity_range,
                                   cloud_to_model=settings.cloud_to_model)
    clouds = real_clouds(args.pcap, args.calibration)
    rows = detection_rows(detector, clouds)
    counts = class_counts(rows, detector.config.class_names)
    print(f"{args.model.name} on {len(clouds)} real frames ({args.pcap.name}), "
          f"{args.params_file.name}, score threshold {settings.post.score_threshold}: "
          + ", ".join(f"{name} {n}" for name, n in counts.items()))
    print("at higher score thresholds: " + "; ".join(
        f"{t:.1f}: " + ", ".join(f"{name} {n}" for name, n in class_counts(
            [r for r in rows if r["score"] >= t], detector.config.class_names).items())
        for t in HIGHER_THRESHOLDS if t > settings.post.score_threshold))
    print(table(rows))
    if args.json is not None:
        args.json.write_text(json.dumps({"counts": counts, "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
