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

"""Tests of ``tao-pointpillars sim``: the dataset directory it writes from the simulator."""

import numpy as np
import pytest

from tao_pointpillars_py.cli import main
from tao_pointpillars_py.data.bags import count_clouds, open_reader
from tao_pointpillars_py.data.dataset import iter_labeled_frames
from tao_pointpillars_py.data.labels import read_labels

try:
    from tao_pointpillars_py.sim import ml30s, SimConfig, simulate_frame
except ImportError:  # the simulator is optional for the tests that do not generate frames
    simulate_frame = None

needs_sim = pytest.mark.skipif(simulate_frame is None, reason="simulator not available")
T0 = 1_700_000_000 * 10**9


@needs_sim
@pytest.mark.parametrize("storage,workers", [("sqlite3", 1), ("mcap", 2)])
def test_sim_writes_frames_matching_simulate_frame(tmp_path, capsys, storage, workers):
    out = tmp_path / "ds"
    assert main(["sim", "--frames", "2", "--seed", "3", "--out", str(out),
                 "--storage", storage, "--workers", str(workers)]) == 0
    frames = list(iter_labeled_frames(out))
    assert [f.timestamp_ns for f in frames] == [T0, T0 + 100_000_000]
    for index, frame in enumerate(frames):
        expected = simulate_frame(3, index)
        np.testing.assert_array_equal(frame.points, expected.points)
        np.testing.assert_array_equal(frame.labels.boxes, expected.boxes)
        np.testing.assert_array_equal(frame.labels.labels, expected.labels)
        np.testing.assert_array_equal(frame.labels.num_points, expected.num_points)
    labels = read_labels(out / "labels.jsonl")
    assert labels.class_names == ("Vehicle", "Pedestrian", "Cyclist")
    assert (labels.topic, labels.frame_id) == ("/ns1/zvision_lidar_points", "lidar_front")
    assert "2 frames" in capsys.readouterr().out


@needs_sim
def test_sim_honours_start_time_and_force(tmp_path):
    out = tmp_path / "ds"
    assert main(["sim", "--frames", "1", "--out", str(out), "--workers", "1"]) == 0
    assert main(["sim", "--frames", "2", "--out", str(out), "--workers", "1", "--force",
                 "--start-time-ns", "5"]) == 0
    assert list(read_labels(out / "labels.jsonl").frames) == [5, 100_000_005]
    assert count_clouds(out / "bag") == 2


def test_sim_refuses_non_empty_out_without_force(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("mine")
    assert main(["sim", "--frames", "1", "--out", str(tmp_path)]) == 2
    assert "--force" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


@pytest.mark.parametrize("option,value", [("--frames", "0"), ("--workers", "0")])
def test_sim_rejects_non_positive_counts(tmp_path, capsys, option, value):
    args = {"--frames": "1", "--workers": "1", option: value}
    argv = ["sim", "--out", str(tmp_path / "ds")] + [x for kv in args.items() for x in kv]
    assert main(argv) == 2
    assert option in capsys.readouterr().err
    assert not (tmp_path / "ds").exists()


@needs_sim
def test_sim_ml30s_a1_writes_the_angle_table_sensor_at_its_mounting_heights(tmp_path, capsys):
    out = tmp_path / "ds"
    assert main(["sim", "--frames", "2", "--seed", "6", "--out", str(out), "--workers", "1",
                 "--sensor", "ml30s-a1", "--mount-height-range", "1.1", "1.3"]) == 0
    config = ml30s.mounted_config(SimConfig(), (1.1, 1.3))
    for index, frame in enumerate(iter_labeled_frames(out)):
        expected = simulate_frame(6, index, config, ml30s.Ml30sA1())
        np.testing.assert_array_equal(frame.points, expected.points)
        np.testing.assert_array_equal(frame.labels.boxes, expected.boxes)
    labels = read_labels(out / "labels.jsonl")
    assert (labels.topic, labels.frame_id) == ("/ns1/zvision_lidar_points", "lidar_front")
    assert "2 frames" in capsys.readouterr().out


@needs_sim
def test_sim_distractors_sets_the_clutter_count_and_leaves_the_labels_alone(tmp_path):
    out = tmp_path / "ds"
    assert main(["sim", "--frames", "2", "--seed", "6", "--out", str(out), "--workers", "1",
                 "--sensor", "ml30s-a1", "--distractors", "40", "40"]) == 0
    config = ml30s.mounted_config(SimConfig(num_distractors=(40, 40)),
                                  ml30s.DEFAULT_MOUNT_HEIGHT_RANGE)
    plain = ml30s.mounted_config(SimConfig(), ml30s.DEFAULT_MOUNT_HEIGHT_RANGE)
    for index, frame in enumerate(iter_labeled_frames(out)):
        expected = simulate_frame(6, index, config, ml30s.Ml30sA1())
        np.testing.assert_array_equal(frame.points, expected.points)
        # the labeled objects are drawn first: the same boxes, more clutter around them
        default = simulate_frame(6, index, plain, ml30s.Ml30sA1())
        np.testing.assert_array_equal(frame.labels.boxes, default.boxes)
        assert not np.array_equal(frame.points, default.points)


@needs_sim
def test_sim_driver_frame_writes_what_the_zvision_driver_publishes(tmp_path, capsys):
    out = tmp_path / "ds"
    assert main(["sim", "--frames", "2", "--seed", "6", "--out", str(out), "--workers", "2",
                 "--sensor", "ml30s-a1", "--driver-frame"]) == 0
    with open_reader(out / "bag") as reader:
        connections = list(reader.connections)
        assert [c.topic for c in connections] == ["/zvision_lidar_points"]
        _, _, raw = next(iter(reader.messages(connections)))
        msg = reader.deserialize(raw, connections[0].msgtype)
    assert msg.header.frame_id == "zvision_lidar"
    assert (msg.height, msg.width, msg.point_step, msg.is_dense) == (1, 51_200, 32, False)
    assert [(f.name, f.offset, f.datatype, f.count) for f in msg.fields] == [
        ("x", 0, 7, 1), ("y", 4, 7, 1), ("z", 8, 7, 1), ("intensity", 16, 7, 1)]
    labels = read_labels(out / "labels.jsonl")
    assert (labels.topic, labels.frame_id) == ("/zvision_lidar_points", "zvision_lidar")
    config = ml30s.mounted_config(SimConfig(), ml30s.DEFAULT_MOUNT_HEIGHT_RANGE)
    returns = 0
    for index, frame in enumerate(iter_labeled_frames(out)):
        expected = ml30s.to_driver_frame(simulate_frame(6, index, config, ml30s.Ml30sA1()))
        slots = expected.points[:, :3].any(axis=1)  # reading drops the (0, 0, 0) slots
        np.testing.assert_array_equal(frame.points, expected.points[slots])
        np.testing.assert_array_equal(frame.labels.boxes, expected.boxes)
        returns += int(np.count_nonzero(expected.points[:, :3].any(axis=1)))
        assert np.median(frame.points[frame.points[:, 1] != 0, 1]) > 0   # +y forward
    assert f"2 frames, {returns} points" in capsys.readouterr().out


@pytest.mark.parametrize("argv,message", [
    (["--driver-frame"], "--sensor ml30s-a1"),
    (["--sensor", "ml30s-a1", "--mount-height-range", "1.3", "1.1"], "--mount-height-range"),
    (["--mount-height-range", "0", "1"], "--mount-height-range"),
    (["--distractors", "9", "3"], "--distractors 9 3"),
    (["--distractors", "-1", "3"], "--distractors -1 3"),
])
def test_sim_rejects_inconsistent_sensor_options(tmp_path, capsys, argv, message):
    out = tmp_path / "ds"
    assert main(["sim", "--frames", "1", "--out", str(out), "--workers", "1"] + argv) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
