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

"""Tests of ``tao-pointpillars render`` end to end on simulated bags."""

from pathlib import Path
import shutil
import subprocess
import sys

import numpy as np
from PIL import Image
import pytest
from rosbags.highlevel import AnyReader
from rosbags.rosbag2 import Writer

from tao_pointpillars_py.cli import main
from tao_pointpillars_py.core.boxes import Extrinsic, transform_points
from tao_pointpillars_py.core.detections import Detections
from tao_pointpillars_py.core.markers import CLASS_COLOURS
from tao_pointpillars_py.data.bags import POINTCLOUD2, read_clouds, write_cloud_bag
from tao_pointpillars_py.data.detection_messages import DETECTION3D_ARRAY, vision_typestore
from tao_pointpillars_py.data.labels import read_labels
from tao_pointpillars_py.inference.detector import Detector
from tao_pointpillars_py.inference.model_file import load_model_info
from tao_pointpillars_py.tools.render.bag_detections import BagDetections
from tao_pointpillars_py.tools.render.drawing import BevView, edge_midpoints, heading_segments
from tao_pointpillars_py.tools.render.frames import default_range, UNMEASURED_NOTE
from vision_fixtures import detection_array_message

MODEL = Path(__file__).resolve().parents[2] / "models" / "pointpillars_zvision.onnx"
TOPIC = "/ns1/zvision_lidar_points"
ZVISION_PARAMS = MODEL.parents[1] / "params" / "zvision_ml30s.yaml"
ZVISION = MODEL.parents[1] / "test" / "data_files" / "zvision"
NAMES = ("Vehicle", "Pedestrian", "Cyclist")
CLASS_RGB = np.array([CLASS_COLOURS[name][:3] for name in NAMES]) * 255.0


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    data = tmp_path_factory.mktemp("render") / "data"
    assert main(["sim", "--frames", "4", "--seed", "9", "--out", str(data),
                 "--workers", "1"]) == 0
    return data


@pytest.fixture(scope="module")
def view():
    return BevView.around_lidar(default_range(load_model_info(str(MODEL)).config), 140.0)


def render(capsys, bag, out, *options):
    code = main(["render", str(bag), "--out", str(out), *options])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def frames(out):
    return sorted((out / "frames").glob("frame_*.png"))


def picture(path):
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB")).astype(np.float64)


def covered(point, boxes, margin_m):
    """Tell whether world ``point`` lies in (or within ``margin_m`` of) any of ``boxes``."""
    offset = point[None, :] - boxes[:, :2]
    cos, sin = np.cos(boxes[:, 6]), np.sin(boxes[:, 6])
    along = np.abs(offset[:, 0] * cos + offset[:, 1] * sin)
    across = np.abs(-offset[:, 0] * sin + offset[:, 1] * cos)
    return bool(np.any((along <= boxes[:, 3] / 2 + margin_m)
                       & (across <= boxes[:, 4] / 2 + margin_m)))


def distance_to_segments(point, segments):
    """Give the smallest distance of a point (2,) to segments (N, 2, 2), in their units."""
    start, end = segments[:, 0], segments[:, 1]
    direction = end - start
    length2 = np.maximum((direction ** 2).sum(axis=1), 1e-12)
    t = np.clip(((point - start) * direction).sum(axis=1) / length2, 0.0, 1.0)
    return float(np.min(np.linalg.norm(start + t[:, None] * direction - point, axis=1),
                        initial=np.inf))


def test_render_writes_frames_animation_and_summary(sim, view, tmp_path, capsys):
    out = tmp_path / "out"
    code, stdout, _ = render(capsys, sim / "bag", out, "--labels", str(sim / "labels.jsonl"))
    assert code == 0
    pictures = frames(out)
    assert [p.name for p in pictures] == [f"frame_{i:06d}.png" for i in range(4)]
    for path in pictures:
        with Image.open(path) as image:
            assert image.size == view.picture_size
    with Image.open(out / "frames.gif") as animation:
        assert animation.n_frames == len(pictures)
    with Image.open(out / "summary.png") as summary:
        assert summary.size[0] > 600
    assert f"wrote 4 frames to {out / 'frames'}" in stdout
    assert str(out / "frames.gif") in stdout and str(out / "summary.png") in stdout
    summary_line = stdout.strip().splitlines()[-1]
    assert summary_line.startswith("render: 4 frames of 4 clouds on " + TOPIC)
    assert "latency p50" in summary_line and "ground truth" in summary_line


def test_model_detections_and_ground_truth_are_where_the_view_says(sim, view, tmp_path,
                                                                   capsys):
    out = tmp_path / "out"
    assert render(capsys, sim / "bag", out, "--labels", str(sim / "labels.jsonl"))[0] == 0
    detector = Detector.from_model(str(MODEL))
    labels = read_labels(sim / "labels.jsonl")
    checked_centres = checked_edges = 0
    for cloud, path in zip(read_clouds(sim / "bag"), frames(out)):
        image = picture(path)
        found = detector.detect(cloud.points)
        assert len(found) > 0
        for i, (box, label) in enumerate(zip(found.boxes, found.labels)):
            others = np.delete(found.boxes, i, axis=0)
            if covered(box[:2], others, 0.3):
                continue  # another box's tick or edge may lie over this centre
            col, row = view.to_pixel(box[0], box[1])
            np.testing.assert_allclose(image[int(row), int(col)], CLASS_RGB[label], atol=3,
                                       err_msg=f"{path.name}: {NAMES[label]} at {box[:2]}")
            checked_centres += 1
        ticks = view.to_pixels(heading_segments(found.boxes).reshape(-1, 2)).reshape(-1, 2, 2)
        for middle in edge_midpoints(labels.frames[cloud.timestamp_ns].boxes).reshape(-1, 2):
            col, row = view.to_pixel(*middle)
            if (not view.x_min + 0.5 < middle[0] < view.x_max - 0.5
                    or abs(middle[1]) > view.half_width_m - 0.5
                    or distance_to_segments(np.array([col, row]), ticks) < 4
                    or np.hypot(*middle) < 1.0):
                continue  # out of view, or under a heading tick or the lidar mark
            around = image[int(row) - 1:int(row) + 2, int(col) - 1:int(col) + 2].reshape(-1, 3)
            assert np.min(np.abs(around - 255.0).max(axis=1)) <= 3, f"{path.name}: {middle}"
            checked_edges += 1
        # far from every box, outside the field of view: no class colour
        far = np.array([view.x_min + 1.0, view.half_width_m - 3.0])
        assert not covered(far, np.vstack([found.boxes,
                                           labels.frames[cloud.timestamp_ns].boxes]), 3.0)
        col, row = view.to_pixel(*far)
        assert np.abs(image[int(row), int(col)] - CLASS_RGB).max(axis=1).min() > 60
    assert checked_centres >= 20 and checked_edges >= 100


#: what the bag's own detections say, in every frame (x, y, z, dx, dy, dz, yaw)
BAG_BOXES = np.array([[12.0, 6.0, -1.0, 4.4, 1.9, 1.5, 0.4],
                      [8.0, -5.0, -1.0, 0.9, 0.9, 1.7, 1.0],
                      [20.0, -3.0, -1.0, 1.8, 0.7, 1.7, -0.5]])
BAG_CLASSES = ["Vehicle", "Pedestrian", "2"]      # a name or an index, as class_id_format
BAG_SCORES = [0.9, 0.2, 0.7]


def copy_with_detections(source, target, with_clouds=True):
    typestore = vision_typestore()
    with AnyReader([source], default_typestore=typestore) as reader, \
            Writer(target, version=8) as writer:
        clouds = writer.add_connection(TOPIC, POINTCLOUD2, typestore=typestore)
        answers = writer.add_connection("/ns1/bbox", DETECTION3D_ARRAY, typestore=typestore)
        for _, timestamp, raw in reader.messages():
            if with_clouds:
                writer.write(clouds, timestamp, raw)
            msg = detection_array_message(typestore, timestamp, BAG_BOXES, BAG_CLASSES, BAG_SCORES)
            writer.write(answers, timestamp, typestore.serialize_cdr(msg, DETECTION3D_ARRAY))
    return target


def test_detections_in_the_bag_are_drawn_instead_of_running_the_model(sim, view, tmp_path,
                                                                      capsys):
    bag = copy_with_detections(sim / "bag", tmp_path / "answered")
    out = tmp_path / "out"
    code, stdout, _ = render(capsys, bag, out, "--score-threshold", "0.5")
    assert code == 0 and UNMEASURED_NOTE in stdout
    assert "without a detections message" not in stdout
    kept = [0, 2]                                   # the pedestrian scores under 0.5
    for path in frames(out):
        image = picture(path)
        for index, box in enumerate(BAG_BOXES):
            col, row = view.to_pixel(box[0], box[1])
            distance = np.abs(image[int(row), int(col)] - CLASS_RGB[index]).max()
            assert (distance <= 3) == (index in kept), f"{path.name}: {NAMES[index]}"


def test_bag_detections_are_matched_to_the_nearest_stamp_within_half_a_period():
    frames = {stamp: Detections.empty() for stamp in (1_000, 2_000, 3_000)}
    found = BagDetections(frames)
    assert found.at(2_000) is frames[2_000]
    assert found.at(2_400) is frames[2_000] and found.at(2_600) is frames[3_000]
    assert found.at(3_500) is frames[3_000] and found.at(500) is frames[1_000]
    assert found.unmatched == 0
    assert found.at(3_501) is None and found.at(499) is None
    assert found.unmatched == 2
    assert BagDetections({7: Detections.empty()}).at(8) is None


def test_every_and_max_frames_choose_the_frames(sim, view, tmp_path, capsys):
    every_cloud, out = tmp_path / "all", tmp_path / "out"
    # by height: the intensity scale is the rendered clouds' own, so it differs between them
    assert render(capsys, sim / "bag", every_cloud, "--color-by", "height")[0] == 0
    assert render(capsys, sim / "bag", out, "--every", "2", "--color-by", "height")[0] == 0
    assert len(frames(out)) == 2
    plot = slice(view.top_px, view.top_px + view.height_px)   # the titles differ in latency
    for rendered, cloud in zip(frames(out), frames(every_cloud)[::2]):
        np.testing.assert_array_equal(picture(rendered)[plot], picture(cloud)[plot])
    assert render(capsys, sim / "bag", out, "--max-frames", "3", "--color-by", "height")[0] == 0
    assert len(frames(out)) == 3
    code, stdout, _ = render(capsys, sim / "bag", out, "--every", "3", "--max-frames", "1")
    assert code == 0 and len(frames(out)) == 1
    with Image.open(out / "frames.gif") as animation:
        assert animation.n_frames == 1
    assert stdout.strip().splitlines()[-1].startswith("render: 1 frame of 4 clouds")


def test_mp4_is_written_or_its_absence_explained(sim, tmp_path, capsys):
    out = tmp_path / "out"
    code, stdout, stderr = render(capsys, sim / "bag", out, "--max-frames", "2",
                                  "--format", "mp4")
    assert code == 0
    if shutil.which("ffmpeg") is None:
        assert "frames.mp4 not written: ffmpeg is not installed" in stderr
        assert not (out / "frames.mp4").exists()
    else:
        assert (out / "frames.mp4").stat().st_size > 0 or "ffmpeg failed" in stderr


def test_missing_bag_or_bag_without_clouds_is_a_clear_error(sim, tmp_path, capsys):
    code, _, stderr = render(capsys, tmp_path / "nowhere", tmp_path / "out")
    assert code == 2 and "bag" in stderr and "does not exist" in stderr
    no_clouds = copy_with_detections(sim / "bag", tmp_path / "answers_only", with_clouds=False)
    code, _, stderr = render(capsys, no_clouds, tmp_path / "out")
    assert code == 2 and "holds no sensor_msgs/PointCloud2 messages" in stderr
    assert "/ns1/bbox" in stderr
    code, _, stderr = render(capsys, sim / "bag", tmp_path / "out", "--topic", "/nope")
    assert code == 2 and "/nope" in stderr
    code, _, stderr = render(capsys, sim / "bag", tmp_path / "out", "--every", "0")
    assert code == 2 and "--every" in stderr


def test_without_matplotlib_the_command_names_the_extra(sim, tmp_path):
    script = ("import sys; sys.modules['matplotlib'] = None\n"
              "from tao_pointpillars_py.cli import main\n"
              f"sys.exit(main(['render', {str(sim / 'bag')!r}, '--out', "
              f"{str(tmp_path / 'out')!r}]))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 2
    assert "pip install tao_pointpillars_py[viz]" in result.stderr


def test_params_file_draws_a_y_forward_bag_in_the_models_frame(sim, tmp_path, capsys):
    to_cloud = Extrinsic.from_xyz_rpy("model", (0.0, 0.0, 0.0), (0.0, 0.0, 90.0))
    turned = tmp_path / "turned"
    write_cloud_bag(turned, [(c.timestamp_ns, transform_points(c.points, to_cloud))
                             for c in read_clouds(sim / "bag")], TOPIC, "zvision_lidar")
    outs = {name: tmp_path / name for name in ("plain", "turned", "unturned")}
    assert render(capsys, sim / "bag", outs["plain"], "--max-frames", "2")[0] == 0
    code, stdout, _ = render(capsys, turned, outs["turned"], "--max-frames", "2",
                             "--params-file", str(ZVISION_PARAMS))
    assert code == 0 and "render: wrote 2 frames" in stdout
    assert render(capsys, turned, outs["unturned"], "--max-frames", "2")[0] == 0
    view = BevView.around_lidar(default_range(load_model_info(str(MODEL)).config), 140.0)
    # the plot, legend and colour bar; the titles (bag name, latency) and the axis labels
    # (the turned one's say "in the model frame") differ
    shown = (slice(view.top_px, view.top_px + view.height_px), slice(view.left_px, None))
    for plain, same, other in zip(*(frames(out) for out in outs.values())):
        expected = picture(plain)[shown]
        assert np.all(picture(same)[shown] == expected)
        assert np.mean(np.any(picture(other)[shown] != expected, axis=2)) > 0.01
        axis_labels = (slice(view.top_px, None), slice(0, view.left_px))
        assert np.any(picture(same)[axis_labels] != picture(plain)[axis_labels])


def test_params_file_with_a_bad_value_is_refused(sim, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("/**:\n  ros__parameters:\n    intensity_range: [255.0, 0.0]\n")
    code, _, stderr = render(capsys, sim / "bag", tmp_path / "out", "--params-file", str(bad))
    assert code == 2 and "intensity_range" in stderr


def grey_scale(stdout):
    """Give the (low, high) of the printed ``render: grey scale intensity LOW .. HIGH`` line."""
    line = next(line for line in stdout.splitlines()
                if line.startswith("render: grey scale intensity "))
    low, _, high = line.split()[4:7]
    return float(low), float(high)


def test_grey_scale_spans_the_rendered_clouds_percentiles(tmp_path, capsys):
    rng = np.random.default_rng(3)
    clouds = []
    for index in range(12):
        points = np.c_[rng.uniform(5.0, 30.0, 300), rng.uniform(-10.0, 10.0, 300),
                       rng.uniform(-1.5, 0.0, 300), rng.integers(0, 11, 300)]
        if index % 2:
            points[:, 3] += 200.0            # not rendered with --every 2: not in the scale
        points[:20, :3] = 0.0                # no-return slots, as the Zvision driver writes them
        points[:20, 3] = 250.0
        clouds.append((1_000_000_000 + index * 100_000_000, points.astype(np.float32)))
    bag = tmp_path / "dim"
    write_cloud_bag(bag, clouds, TOPIC)
    code, stdout, _ = render(capsys, bag, tmp_path / "out", "--every", "2")
    assert code == 0
    rendered = np.concatenate([points[20:, 3] for _, points in clouds[::2]])
    low, high = np.percentile(rendered, (1, 99))
    assert grey_scale(stdout) == (float(f"{low:.3g}"), float(f"{high:.3g}"))
    assert "p1..p99 of the rendered clouds" in stdout


def test_real_zvision_capture_is_drawn_in_light_greys(tmp_path, capsys):
    bag = tmp_path / "zvision"
    assert main(["import-pcap", str(ZVISION / "ML30S_A1_Default.pcap"), "--calibration",
                 str(ZVISION / "ML30S_A1_Default.cal"), "--out", str(bag)]) == 0
    out = tmp_path / "out"
    code, stdout, _ = render(capsys, bag, out, "--max-frames", "2", "--params-file",
                             str(ZVISION_PARAMS))
    assert code == 0
    returns = np.concatenate([c.points[np.any(c.points[:, :3] != 0, axis=1), 3]
                              for c in list(read_clouds(bag))[:2]])
    low, high = grey_scale(stdout)
    assert low == pytest.approx(np.percentile(returns, 1), abs=1.0)
    assert high == pytest.approx(np.percentile(returns, 99), abs=1.5)
    assert high < 100                        # the driver's 0..255 would leave it all dark
    view = BevView.around_lidar(default_range(load_model_info(str(MODEL)).config), 140.0)
    plot = (slice(view.top_px, view.top_px + view.height_px),
            slice(view.left_px, view.left_px + view.width_px))
    for path in frames(out):
        image = picture(path)[plot]
        grey = np.ptp(image, axis=2) <= 2
        light = grey & (image.min(axis=2) > 150)
        # on a 0..255 scale intensity 45 is grey 102: no point would be this light
        assert np.count_nonzero(light) > 400, path.name
