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

"""Tests of the bird's-eye-view drawing module: pixels where the boxes are, files it writes."""

import numpy as np
from PIL import Image
import pytest

from tao_pointpillars_py.core.detections import Detections
from tao_pointpillars_py.core.markers import CLASS_COLOURS
from tao_pointpillars_py.core.pointcloud2 import DRIVER_INTENSITY_RANGE
from tao_pointpillars_py.data.bags import CloudFrame
from tao_pointpillars_py.tools.render.drawing import (BevRenderer, BevView, blend, colour_255,
                                                      draw_summary, edge_midpoints, GifWriter,
                                                      GROUND_TRUTH_COLOUR, heading_segments,
                                                      PLOT_BACKGROUND, point_raster,
                                                      PointShading, summary_figure)
from tao_pointpillars_py.tools.render.frames import (frame_title, FrameRecord,
                                                     INTENSITY_PERCENTILES, intensity_scale,
                                                     MODEL_FRAME)

NAMES = ("Vehicle", "Pedestrian", "Cyclist")
CLASS_RGB = {name: np.array(CLASS_COLOURS[name][:3]) * 255.0 for name in NAMES}
WHITE = np.array(GROUND_TRUTH_COLOUR) * 255.0
#: one box per class, well apart, turned differently (x, y, z, dx, dy, dz, yaw)
BOXES = np.array([[10.0, 5.0, -1.0, 4.5, 2.0, 1.5, 0.3],
                  [6.0, -4.0, -1.0, 1.0, 1.0, 1.7, 2.0],
                  [14.0, -8.0, -1.0, 1.8, 0.8, 1.7, -1.2]], dtype=np.float32)
NO_POINTS = np.zeros((0, 4), dtype=np.float32)


def detections(boxes=BOXES, labels=(0, 1, 2), scores=(0.9, 0.6, 0.45)):
    return Detections(np.asarray(boxes, np.float32), np.asarray(scores, np.float32),
                      np.asarray(labels, np.int64))


@pytest.fixture(scope="module")
def view():
    return BevView.around_lidar(20.0, fov_deg=140.0)


@pytest.fixture
def renderer(view):
    with BevRenderer(view, NAMES, PointShading("intensity", (0.0, 255.0)), 140.0,
                     (0.0, -25.6, -3.0, 40.96, 25.6, 3.0)) as renderer:
        yield renderer


def pixel(picture, view, x, y):
    col, row = view.to_pixel(x, y)
    return picture[int(row), int(col)].astype(np.float64)


def near_white(picture, view, x, y):
    """Tell whether a pixel within one of world (x, y) is the ground truth's white."""
    col, row = (int(v) for v in view.to_pixel(x, y))
    around = picture[row - 1:row + 2, col - 1:col + 2].reshape(-1, 3).astype(np.float64)
    return bool(np.min(np.abs(around - WHITE).max(axis=1)) <= 3)


def test_view_maps_forward_up_and_left_to_the_left(view):
    width, height = view.picture_size
    assert width % 2 == 0 and height % 2 == 0
    assert view.pixels_per_metre == pytest.approx(view.width_px / 40.0)
    assert view.to_pixel(view.x_max, 20.0) == pytest.approx((view.left_px, view.top_px))
    assert view.to_pixel(view.x_min, -20.0) == pytest.approx(
        (view.left_px + view.width_px, view.top_px + view.height_px))
    lidar_col, lidar_row = view.to_pixel(0.0, 0.0)
    ahead_col, ahead_row = view.to_pixel(5.0, 0.0)
    left_col, left_row = view.to_pixel(0.0, 5.0)
    assert lidar_col == pytest.approx(view.left_px + view.width_px / 2)
    assert ahead_col == lidar_col and ahead_row == pytest.approx(lidar_row - 5 * 25.0)
    assert left_row == lidar_row and left_col == pytest.approx(lidar_col - 5 * 25.0)
    # behind the lidar only a margin for a forward lidar, as far as ahead for a 360 one
    assert -5.0 < view.x_min < 0.0
    assert BevView.around_lidar(20.0, fov_deg=360.0).x_min == pytest.approx(-20.0)


def test_each_box_centre_carries_its_class_colour_over_the_fill(renderer, view):
    empty = renderer.draw(NO_POINTS, Detections.empty())
    picture = renderer.draw(NO_POINTS, detections())
    assert picture.shape == (view.picture_size[1], view.picture_size[0], 3)
    for box, name in zip(BOXES, NAMES):
        x, y, yaw, dx = box[0], box[1], box[6], box[3]
        np.testing.assert_allclose(pixel(picture, view, x, y), CLASS_RGB[name], atol=2,
                                   err_msg=f"{name}: heading tick at the centre")
        # halfway to the rear edge: the fill laid over whatever the empty picture shows there
        rx, ry = x - dx / 4 * np.cos(yaw), y - dx / 4 * np.sin(yaw)
        np.testing.assert_allclose(pixel(picture, view, rx, ry),
                                   blend(CLASS_RGB[name] / 255, pixel(empty, view, rx, ry)),
                                   atol=2, err_msg=f"{name}: fill")
    far = pixel(picture, view, 3.0, 15.0)
    np.testing.assert_array_equal(far, pixel(empty, view, 3.0, 15.0))
    for name in NAMES:
        assert np.abs(far - CLASS_RGB[name]).max() > 60
        assert np.abs(far - blend(CLASS_RGB[name] / 255, far)).max() > 20


def test_heading_tick_runs_from_the_centre_to_the_front_edge(renderer, view):
    picture = renderer.draw(NO_POINTS, detections())
    segments = heading_segments(BOXES)
    np.testing.assert_allclose(segments[:, 0], BOXES[:, :2], atol=1e-6)
    for (centre, front), box, name in zip(segments, BOXES, NAMES):
        assert np.linalg.norm(front - centre) == pytest.approx(box[3] / 2, rel=1e-5)
        on_tick = centre + 0.7 * (front - centre)
        behind = centre - 0.3 * (front - centre)
        np.testing.assert_allclose(pixel(picture, view, *on_tick), CLASS_RGB[name], atol=2)
        assert np.abs(pixel(picture, view, *behind) - CLASS_RGB[name]).max() > 20


def test_ground_truth_is_outlined_at_each_edge_middle(renderer, view):
    truth = BOXES + np.array([1.5, 0.5, 0, 0, 0, 0, 0.2], np.float32)
    without = renderer.draw(NO_POINTS, Detections.empty())
    picture = renderer.draw(NO_POINTS, Detections.empty(), truth)
    for middles in edge_midpoints(truth):
        for x, y in middles:
            assert near_white(picture, view, x, y)
            assert not near_white(without, view, x, y)
    assert not near_white(picture, view, 3.0, 15.0)


def test_a_frame_shows_nothing_of_the_frame_before(renderer, view):
    first = renderer.draw(NO_POINTS, Detections.empty())
    renderer.draw(np.array([[5.0, 5.0, 0.0, 200.0]], np.float32), detections(), BOXES)
    again = renderer.draw(NO_POINTS, Detections.empty())
    plot = (slice(view.top_px, view.top_px + view.height_px),
            slice(view.left_px, view.left_px + view.width_px))
    np.testing.assert_array_equal(again[plot], first[plot])


def test_unknown_class_indices_are_not_drawn(renderer, view):
    empty = renderer.draw(NO_POINTS, Detections.empty())
    picture = renderer.draw(NO_POINTS, detections(BOXES[:1], labels=[7], scores=[0.9]))
    np.testing.assert_array_equal(pixel(picture, view, *BOXES[0, :2]),
                                  pixel(empty, view, *BOXES[0, :2]))


def test_points_are_shaded_by_intensity_or_height(view):
    points = np.array([[8.0, 8.0, -1.5, 250.0], [8.0, -8.0, 1.5, 5.0]], np.float32)
    shades = {}
    for color_by, value_range in (("intensity", (0.0, 255.0)), ("height", (-2.0, 2.0))):
        with BevRenderer(view, NAMES, PointShading(color_by, value_range)) as renderer:
            picture = renderer.draw(points, Detections.empty())
        shades[color_by] = [pixel(picture, view, x, y) for x, y in points[:, :2]]
        background = colour_255(PLOT_BACKGROUND)
        assert all(np.abs(s - background).max() > 30 for s in shades[color_by])
    bright, dim = shades["intensity"]
    assert bright.sum() > dim.sum() + 150            # greys: more intensity, lighter
    assert np.ptp(bright) < 3 and np.ptp(dim) < 3
    low, high = shades["height"]                     # viridis: purple low, yellow high
    assert low[2] > low[1] and high[1] > high[2] and high[0] > low[0] + 100


def test_raster_keeps_the_largest_value_in_each_dot(view):
    points = np.array([[8.0, 8.0, 0.0, 5.0], [8.0, 8.0, 0.0, 9.0],
                       [8.0, -8.0, 0.0, 1.0], [90.0, 0.0, 0.0, 3.0]], np.float32)
    raster = point_raster(view, points, points[:, 3])
    assert raster.shape == (view.height_px, view.width_px)
    assert sorted(np.unique(raster.compressed()).tolist()) == [1.0, 9.0]
    assert raster.count() == 2 * 4                    # two dots of 2 x 2 pixels in view
    col, row = (int(v) for v in view.plot_pixels(points[:1, :2])[0])
    assert raster[row, col] == 9.0 and raster[row + 1, col + 1] == 9.0


def test_gif_holds_every_frame(tmp_path):
    path = tmp_path / "a.gif"
    colours = [(200, 30, 30), (30, 200, 30), (30, 30, 200)]
    with GifWriter(path, fps=5) as gif:
        for colour in colours:
            gif.add(np.full((40, 60, 3), colour, np.uint8))
    with Image.open(path) as animation:
        assert animation.n_frames == 3 and animation.size == (60, 40)
        assert animation.info["duration"] == 200 and animation.info["loop"] == 0
        for index, colour in enumerate(colours):
            animation.seek(index)
            np.testing.assert_allclose(animation.convert("RGB").getpixel((30, 20)), colour,
                                       atol=8)


def test_summary_figure_is_written_with_or_without_latency(tmp_path):
    records = [FrameRecord(0.1 * i, "/p", np.array([i, 1, 0]), np.array([i + 1, 1, 1]),
                           20.0 + i) for i in range(6)]
    draw_summary(tmp_path / "timed.png", records, NAMES, "title", "not measured")
    untimed = [FrameRecord(r.time_s, r.topic, r.detections_per_class) for r in records]
    draw_summary(tmp_path / "untimed.png", untimed, NAMES, "title", "not measured")
    with Image.open(tmp_path / "timed.png") as figure:
        assert figure.size == (1200, 800)
    with Image.open(tmp_path / "untimed.png") as figure:
        assert figure.size == (1200, 550)


def legend_texts(axes):
    return [text.get_text() for text in axes.get_legend().get_texts()]


def test_summary_has_a_latency_panel_only_with_latencies_and_truth_only_with_labels():
    timed_with_truth = [FrameRecord(0.1 * i, "/p", np.array([i, 1, 0]), np.array([i + 1, 1, 1]),
                                    20.0 + i) for i in range(6)]
    figure = summary_figure(timed_with_truth, NAMES, "title", "not measured")
    counts, latency = figure.axes
    assert counts.get_title() == "detections per class (dashed: ground truth)"
    assert latency.get_title() == "detector latency, 6 frames"
    assert legend_texts(counts) == [*NAMES, *(f"{n} ground truth" for n in NAMES)]
    assert figure.texts[0].get_text() == "title"

    from_bag = [FrameRecord(r.time_s, r.topic, r.detections_per_class) for r in timed_with_truth]
    figure = summary_figure(from_bag, NAMES, "title", "not measured")
    assert len(figure.axes) == 1
    assert figure.axes[0].get_title() == "detections per class"
    assert legend_texts(figure.axes[0]) == list(NAMES)
    assert figure.texts[0].get_text() == "title\nnot measured"


def renderer_legend(renderer):
    return [text.get_text() for text in renderer.legend.get_texts()]


def test_frame_legend_names_ground_truth_only_when_labels_were_given(view):
    shading = PointShading("intensity", (0.0, 255.0))
    with BevRenderer(view, NAMES, shading, 140.0) as renderer:
        assert renderer_legend(renderer)[:4] == [*NAMES, "ground truth"]
    with BevRenderer(view, NAMES, shading, 140.0, with_ground_truth=False) as renderer:
        texts = renderer_legend(renderer)
        assert texts[:3] == list(NAMES) and not any("ground truth" in t for t in texts)


def small_intensity_points():
    """Points on a grid ahead of the lidar, intensities 0..10 as a real Zvision cloud's."""
    xs, ys = np.meshgrid(np.arange(6.0, 16.0, 1.0), np.arange(-8.0, 8.0, 1.0))
    intensity = np.arange(xs.size) % 11
    return np.c_[xs.ravel(), ys.ravel(), np.full(xs.size, -1.0), intensity].astype(np.float32)


def test_small_intensities_span_the_grey_scale_from_the_bags_percentiles(view):
    points = small_intensity_points()
    low, high = intensity_scale(points[:, 3])
    assert (low, high) == tuple(np.percentile(points[:, 3], INTENSITY_PERCENTILES))
    brightest = points[points[:, 3] == 10][0, :2]
    dimmest = points[points[:, 3] == 0][0, :2]
    greys = {}
    for name, shading in (("fixed", PointShading("intensity", DRIVER_INTENSITY_RANGE)),
                          ("bag", PointShading("intensity", (low, high), "p1..p99 of this bag"))):
        with BevRenderer(view, NAMES, shading) as renderer:
            picture = renderer.draw(points, Detections.empty())
            greys[name] = [pixel(picture, view, *xy) for xy in (brightest, dimmest)]
            bar = renderer.colour_bar
            assert (bar.vmin, bar.vmax) == shading.value_range
    bright, dim = greys["bag"]
    assert np.ptp(bright) < 3 and bright.min() > 200      # the top of the greys
    assert bright.sum() > dim.sum() + 3 * 120
    assert greys["fixed"][0].max() < 90                     # 10 of 0..255: nearly the darkest
    with BevRenderer(view, NAMES, PointShading("intensity", (low, high),
                                               "p1..p99 of this bag")) as renderer:
        ticks = renderer.colour_bar.get_ticks()
        labels = [t.get_text() for t in renderer.colour_bar.ax.get_yticklabels()]
        assert ticks[0] == low and ticks[-1] == high
        assert labels[0] == f"{low:.3g}" and labels[-1] == f"{high:.3g}"
        assert renderer.colour_bar.ax.get_ylabel() == \
            "intensity [driver units], p1..p99 of this bag"


def test_intensity_scale_of_flat_or_empty_clouds():
    assert intensity_scale(np.full(50, 7.0, np.float32)) == (7.0, 8.0)
    assert intensity_scale(np.array([np.nan, np.inf], np.float32)) == DRIVER_INTENSITY_RANGE
    assert intensity_scale(np.zeros(0, np.float32)) == DRIVER_INTENSITY_RANGE
    values = np.r_[np.arange(100.0), np.nan]
    assert intensity_scale(values) == pytest.approx(tuple(np.percentile(values[:-1], (1, 99))))


def test_title_and_axes_say_the_model_frame_when_the_cloud_is_turned(view):
    cloud = CloudFrame(1_500_000_000, "/zvision_lidar_points", "zvision_lidar", NO_POINTS)
    record = FrameRecord(0.0, cloud.topic, np.array([1, 0, 0]))
    plain = frame_title(0, 0, 1, cloud, record, NAMES, "bag")
    turned = frame_title(0, 0, 1, cloud, record, NAMES, "bag", MODEL_FRAME)
    assert plain.startswith("/zvision_lidar_points (zvision_lidar)   t = 0.00 s")
    assert turned.startswith(
        "/zvision_lidar_points (zvision_lidar, drawn in the model frame)   t = 0.00 s")
    shading = PointShading("intensity", (0.0, 255.0))
    with BevRenderer(view, NAMES, shading) as renderer:
        assert renderer.axes.get_xlabel() == "y [m]  (+ left)"
        assert renderer.axes.get_ylabel() == "x [m]  (forward)"
    with BevRenderer(view, NAMES, shading, drawn_frame=MODEL_FRAME) as renderer:
        assert renderer.axes.get_xlabel() == "y [m] in the model frame  (+ left)"
        assert renderer.axes.get_ylabel() == "x [m] in the model frame  (forward)"
