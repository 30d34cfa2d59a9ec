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

"""Tests of ``tao-pointpillars eval``: AP of a detections file or of a model run on a bag."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from tao_pointpillars_py.cli import main
from tao_pointpillars_py.core.boxes import Extrinsic, transform_boxes, transform_points
from tao_pointpillars_py.data.bags import read_clouds, write_cloud_bag
from tao_pointpillars_py.data.labels import FrameLabels, read_labels, write_labels

NAMES = ("Vehicle", "Pedestrian", "Cyclist")
TOPIC, FRAME_ID = "/ns1/zvision_lidar_points", "lidar_front"
CAR = [10.0, 0.0, -1.0, 4.0, 2.0, 1.5, 0.0]
WALKER = [6.0, 3.0, -1.0, 0.8, 0.6, 1.7, 0.0]
REPO = Path(__file__).resolve().parents[2]
MODEL = REPO / "models" / "pointpillars_zvision.onnx"
ZVISION_PARAMS = REPO / "params" / "zvision_ml30s.yaml"


def labels_file(path, frames, names=NAMES):
    write_labels(path, frames, names, TOPIC, FRAME_ID)
    return str(path)


def gt(*boxes_and_labels):
    boxes = [b for b, _ in boxes_and_labels]
    return FrameLabels(np.array(boxes, np.float32).reshape(-1, 7),
                       np.array([lab for _, lab in boxes_and_labels], np.int64),
                       np.full(len(boxes), 100, np.int32))


def dets(*rows):
    """Build one frame's detections from (box, label, score) rows."""
    return FrameLabels(np.array([r[0] for r in rows], np.float32).reshape(-1, 7),
                       np.array([r[1] for r in rows], np.int64),
                       np.zeros(len(rows), np.int32), np.array([r[2] for r in rows], np.float32))


@pytest.fixture
def labels(tmp_path):
    return labels_file(tmp_path / "labels.jsonl",
                       [(100, gt((CAR, 0), (WALKER, 1))), (200, gt((CAR, 0)))])


def run_eval(capsys, *argv):
    code = main(["eval", *argv])
    return code, capsys.readouterr()


def test_eval_prints_table_and_writes_json(tmp_path, capsys, labels):
    detections = labels_file(tmp_path / "dets.jsonl", [
        (100, dets((CAR, 0, 0.9), (WALKER, 1, 0.8))), (200, dets((CAR, 0, 0.7)))])
    out = tmp_path / "out" / "ap.json"
    code, captured = run_eval(capsys, "--labels", labels, "--detections", detections,
                              "--json", str(out))
    assert code == 0
    rows = {line.split()[0]: line.split() for line in captured.out.splitlines() if line}
    assert rows["Vehicle"][2:8] == ["100.00"] * 6
    assert rows["Pedestrian"][2:8] == ["100.00"] * 6
    result = json.loads(out.read_text())
    assert result["num_frames"] == 2
    assert result["ap"]["3d"]["Vehicle"]["moderate"] == 100.0
    assert result["num_gt"]["Vehicle"] == {"easy": 2, "moderate": 2, "hard": 2}
    assert result["ap"]["bev"]["Cyclist"]["hard"] is None


def test_labeled_frame_without_detections_counts_as_missed(tmp_path, capsys, labels):
    detections = labels_file(tmp_path / "dets.jsonl", [(100, dets((CAR, 0, 0.9))),
                                                       (999, dets((CAR, 0, 0.9)))])
    out = tmp_path / "ap.json"
    code, captured = run_eval(capsys, "--labels", labels, "--detections", detections,
                              "--json", str(out))
    assert code == 0
    ap = json.loads(out.read_text())["ap"]["bev"]
    assert ap["Vehicle"]["easy"] == 50.0                  # 1 of 2 cars: recall 1/2
    assert ap["Pedestrian"]["easy"] == 0.0
    assert "1 detection frames have no labeled frame" in captured.err


def test_detection_classes_are_matched_by_name(tmp_path, capsys, labels):
    names = ("Pedestrian", "Vehicle", "Truck")
    detections = labels_file(tmp_path / "dets.jsonl", [
        (100, dets((CAR, 1, 0.9), (WALKER, 0, 0.8), (CAR, 2, 0.99))),
        (200, dets((CAR, 1, 0.7)))], names=names)
    out = tmp_path / "ap.json"
    code, captured = run_eval(capsys, "--labels", labels, "--detections", detections,
                              "--json", str(out))
    assert code == 0
    ap = json.loads(out.read_text())["ap"]["3d"]
    assert ap["Vehicle"]["hard"] == 100.0 and ap["Pedestrian"]["hard"] == 100.0
    assert "Truck" in captured.err


@pytest.mark.parametrize("threshold,expected", [(None, 100.0), ("0.5", 50.0)])
def test_score_threshold_drops_low_scoring_detections(tmp_path, capsys, labels, threshold,
                                                      expected):
    detections = labels_file(tmp_path / "dets.jsonl", [
        (100, dets((CAR, 0, 0.9))), (200, dets((CAR, 0, 0.2)))])
    out = tmp_path / "ap.json"
    extra = [] if threshold is None else ["--score-threshold", threshold]
    code, _ = run_eval(capsys, "--labels", labels, "--detections", detections,
                       "--json", str(out), *extra)
    assert code == 0
    assert json.loads(out.read_text())["ap"]["bev"]["Vehicle"]["moderate"] == expected


def test_iou_threshold_option_overrides_a_class(tmp_path, capsys, labels):
    shifted = list(CAR)
    shifted[0] += 0.8                                     # IoU 3.2 / 4.8 = 0.67 < 0.7
    detections = labels_file(tmp_path / "dets.jsonl", [(100, dets((shifted, 0, 0.8))),
                                                       (200, dets((CAR, 0, 0.9)))])
    out = tmp_path / "ap.json"
    for option, expected in [([], 50.0), (["--iou-threshold", "Vehicle=0.6"], 100.0)]:
        assert run_eval(capsys, "--labels", labels, "--detections", detections,
                        "--json", str(out), *option)[0] == 0
        assert json.loads(out.read_text())["ap"]["bev"]["Vehicle"]["easy"] == expected


@pytest.mark.parametrize("argv,message", [
    (["--model", "m.onnx"], "--bag"),
    (["--detections", "d.jsonl", "--iou-threshold", "Vehicle"], "CLASS=IOU"),
    (["--detections", "missing.jsonl"], "is not a file"),
    (["--detections", "gt.jsonl"], "without a \"score\""),
])
def test_bad_options_exit_2_with_a_message(tmp_path, capsys, labels, argv, message):
    labels_file(tmp_path / "d.jsonl", [])
    labels_file(tmp_path / "gt.jsonl", [(100, gt((CAR, 0)))])
    argv = [str(tmp_path / a) if a.endswith(".jsonl") else a for a in argv]
    code, captured = run_eval(capsys, "--labels", labels, *argv)
    assert code == 2
    assert message in captured.err


def test_eval_runs_a_model_over_a_bag(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    from tao_pointpillars_py.data.bags import write_cloud_bag
    from tao_pointpillars_py.core.config import ModelConfig, PillarConfig
    from tao_pointpillars_py.training.export import export_model
    from tao_pointpillars_py.training.network import PointPillarsNet

    torch.manual_seed(0)
    cfg = ModelConfig(pillars=PillarConfig((0.0, -5.12, -3.0, 10.24, 5.12, 3.0),
                                           (0.32, 0.32, 6.0), 8, 256))
    model_path = tmp_path / "tiny.onnx"
    export_model(PointPillarsNet(cfg), model_path)
    rng = np.random.default_rng(0)
    clouds = [(t, np.column_stack([rng.uniform([0, -5, -2], [10, 5, 0], (500, 3)),
                                   rng.uniform(0, 255, 500)]).astype(np.float32))
              for t in (100, 200, 300)]
    write_cloud_bag(tmp_path / "bag", clouds, TOPIC, FRAME_ID)
    inside = [5.0, 0.0, -1.0, 4.0, 2.0, 1.5, 0.0]
    outside = [30.0, 0.0, -1.0, 4.0, 2.0, 1.5, 0.0]       # beyond the model's 10.24 m
    labels = labels_file(tmp_path / "labels.jsonl",
                         [(100, gt((inside, 0), (outside, 0))), (300, gt((inside, 0))),
                          (400, gt((inside, 0)))])        # 400: no cloud in the bag
    out = tmp_path / "ap.json"
    code, captured = run_eval(capsys, "--labels", labels, "--model", str(model_path),
                              "--bag", str(tmp_path / "bag"), "--score-threshold", "0.0",
                              "--json", str(out))
    assert code == 0
    result = json.loads(out.read_text())
    assert result["num_frames"] == 3
    assert result["num_gt"]["Vehicle"]["easy"] == 3       # the one outside the range is ignored
    assert sum(result["num_detections"].values()) > 0     # threshold 0: every frame detects
    assert "1 labeled frames have no cloud" in captured.err
    assert "Vehicle" in captured.out


def y_forward_copy(data, out):
    """Copy a sim dataset (bag/, labels.jsonl) turned into the Zvision driver's +y forward."""
    to_cloud = Extrinsic.from_xyz_rpy("model", (0.0, 0.0, 0.0), (0.0, 0.0, 90.0))
    clouds = [(c.timestamp_ns, transform_points(c.points, to_cloud))
              for c in read_clouds(data / "bag")]
    labels = read_labels(data / "labels.jsonl")
    write_cloud_bag(out / "bag", clouds, labels.topic, "zvision_lidar")
    frames = [(stamp, dataclasses.replace(
        frame, boxes=transform_boxes(frame.boxes, to_cloud).astype(np.float32)))
        for stamp, frame in labels.frames.items()]
    write_labels(out / "labels.jsonl", frames, labels.class_names, labels.topic, "zvision_lidar")
    return out


def test_params_file_turns_a_y_forward_bag_into_the_models_frame(tmp_path, capsys):
    data = tmp_path / "data"
    assert main(["sim", "--frames", "3", "--seed", "9", "--out", str(data), "--sensor",
                 "ml30s-a1", "--workers", "1"]) == 0
    turned = y_forward_copy(data, tmp_path / "turned")
    results = {}
    for name, source, params in (("plain", data, ()), ("unturned", turned, ()),
                                 ("turned", turned, ("--params-file", str(ZVISION_PARAMS)))):
        out = tmp_path / f"{name}.json"
        code, _ = run_eval(capsys, "--labels", str(source / "labels.jsonl"), "--model",
                           str(MODEL), "--bag", str(source / "bag"), "--json", str(out),
                           *params)
        assert code == 0
        results[name] = json.loads(out.read_text())
    plain, turned_ap = results["plain"]["ap"], results["turned"]["ap"]
    assert plain["3d"]["Vehicle"]["moderate"] > 50.0
    for metric in ("bev", "3d"):
        for name in NAMES:
            for level, value in plain[metric][name].items():
                got = turned_ap[metric][name][level]
                assert (got is None and value is None) or got == pytest.approx(value, abs=0.01)
    assert results["turned"]["num_detections"] == results["plain"]["num_detections"]
    # the same bag without the params file: the model looks sideways and misses, and the
    # range check (the model's, x forward) leaves out ground truth that is in view
    unturned = results["unturned"]
    assert unturned["ap"]["3d"]["Vehicle"]["moderate"] < plain["3d"]["Vehicle"]["moderate"] - 20
    assert unturned["num_gt"] != results["plain"]["num_gt"]


def test_params_file_is_checked_and_needs_model(tmp_path, capsys, labels):
    bad = tmp_path / "bad.yaml"
    bad.write_text("/**:\n  ros__parameters:\n    cloud_to_model: '0 0 -90'\n")
    code, captured = run_eval(capsys, "--labels", labels, "--model", str(MODEL), "--bag",
                              str(tmp_path), "--params-file", str(bad))
    assert code == 2
    assert "cloud_to_model must be a string 'x y z roll pitch yaw'" in captured.err
    detections = labels_file(tmp_path / "dets.jsonl", [(100, dets((CAR, 0, 0.9)))])
    code, captured = run_eval(capsys, "--labels", labels, "--detections", detections,
                              "--params-file", str(ZVISION_PARAMS))
    assert code == 2
    assert "a --detections file is scored as it is: leave --params-file out" in captured.err


def test_sampling_option_picks_exact_or_the_kitti_devkits(tmp_path, capsys, labels):
    detections = labels_file(tmp_path / "dets.jsonl", [
        (100, dets((CAR, 0, 0.9), (WALKER, 1, 0.8))), (200, dets((CAR, 0, 0.7)))])
    out = tmp_path / "ap.json"
    for sampling, vehicle in [("exact", 100.0), ("kitti", 100.0 * (2 - 1) / 40)]:
        code, captured = run_eval(capsys, "--labels", labels, "--detections", detections,
                                  "--json", str(out), "--sampling", sampling)
        assert code == 0 and f"{sampling} sampling" in captured.out
        result = json.loads(out.read_text())
        assert result["sampling"] == sampling
        assert result["ap"]["bev"]["Vehicle"]["moderate"] == vehicle
        assert ("ap_r11" in result) == (sampling == "kitti")
    with pytest.raises(SystemExit):
        main(["eval", "--labels", labels, "--detections", detections, "--sampling", "r11"])
    assert "invalid choice" in capsys.readouterr().err
