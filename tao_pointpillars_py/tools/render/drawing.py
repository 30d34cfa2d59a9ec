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
Bird's-eye-view pictures of lidar clouds with detections and ground truth (matplotlib, Agg).

World coordinates are the lidar's: x forward, y left, metres, lidar at the origin. A picture
shows +x up and +y to the left, as seen from above. :class:`BevView` maps metres to picture
pixels, so what is drawn where can be checked pixel by pixel. Figures are drawn on matplotlib's
Agg canvas directly (no pyplot, no GUI backend, no global backend switch).
"""

from __future__ import annotations

from dataclasses import dataclass
import math
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, cast, Literal, Sequence

from matplotlib import colormaps
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.colorbar import Colorbar
from matplotlib.colors import Colormap, ListedColormap, Normalize, to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Patch, Rectangle, Wedge
from matplotlib.patheffects import withStroke
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import offset_copy
import numpy as np
from PIL import GifImagePlugin, Image

from .frames import FrameRecord
from ...core.boxes import bev_corners
from ...core.detections import Detections
from ...core.markers import class_colours
from ...core.stats import percentiles

ColorBy = Literal["intensity", "height"]
COLOR_BY: tuple[ColorBy, ...] = ("intensity", "height")

DPI = 100
PLOT_BACKGROUND = "#0b0e12"
FIGURE_BACKGROUND = "#161a20"
TEXT_COLOUR = "#dde3ea"
RING_COLOUR = "#56606c"
FIELD_OF_VIEW_TINT = (0.55, 0.65, 0.8, 0.07)
#: ground truth outlines: pure white, dashed; points never reach white (see _point_colormap)
GROUND_TRUTH_COLOUR = (1.0, 1.0, 1.0)
#: opacity of a detection's fill over what lies under it
FILL_ALPHA = 0.3
RING_STEP_M = 10.0
#: what the picture shows behind the lidar when its field of view does not reach behind it
BEHIND_MARGIN = 0.15
# Line widths in pixels (converted to points where matplotlib wants them).
EDGE_PX, HEADING_PX, GROUND_TRUTH_PX = 1.5, 3.0, 2.0
# A point is a DOT_PX x DOT_PX square: single pixels vanish at a glance.
DOT_PX = 2


def _points(px: float) -> float:
    """Give a length in pixels as typographic points at :data:`DPI`."""
    return px * 72.0 / DPI


@dataclass(frozen=True)
class BevView:
    """
    Where the world's metres land in a picture.

    The plot area shows y in [-half_width_m, half_width_m] (+y on the left) and x in
    [x_min, x_max] (+x up) at ``pixels_per_metre``; its top-left corner is pixel
    (``left_px``, ``top_px``) of the picture. Margins hold the title, axes, legend and
    colour bar.
    """

    half_width_m: float
    x_min: float
    x_max: float
    pixels_per_metre: float
    left_px: int = 72
    top_px: int = 70
    right_margin_px: int = 260
    bottom_margin_px: int = 58

    @classmethod
    def around_lidar(cls, half_width_m: float, fov_deg: float = 140.0,
                     plot_width_px: int = 1000) -> BevView:
        """
        Give a view reaching ``half_width_m`` ahead and to each side of the lidar.

        Behind the lidar it shows only a small margin unless the field of view reaches
        behind it (``fov_deg`` over 180), then as far as ahead.
        """
        scale = plot_width_px / (2.0 * half_width_m)
        behind = half_width_m if fov_deg > 180.0 else BEHIND_MARGIN * half_width_m
        height_px = round((half_width_m + behind) * scale)
        return cls(half_width_m, half_width_m - height_px / scale, half_width_m, scale)

    @property
    def width_px(self) -> int:
        return round(2.0 * self.half_width_m * self.pixels_per_metre)

    @property
    def height_px(self) -> int:
        return round((self.x_max - self.x_min) * self.pixels_per_metre)

    @property
    def picture_size(self) -> tuple[int, int]:
        """Give (width, height) of the whole picture in pixels, both even (video encoders)."""
        width = self.left_px + self.width_px + self.right_margin_px
        height = self.top_px + self.height_px + self.bottom_margin_px
        return width + width % 2, height + height % 2

    def plot_pixels(self, xy: np.ndarray) -> np.ndarray:
        """Give (N, 2) float (col, row) in the plot area of world (N, 2) (x, y) metres."""
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        return np.stack([(self.half_width_m - xy[:, 1]) * self.pixels_per_metre,
                         (self.x_max - xy[:, 0]) * self.pixels_per_metre], axis=1)

    def to_pixels(self, xy: np.ndarray) -> np.ndarray:
        """Give (N, 2) float (col, row) in the picture of world (N, 2) (x, y) metres."""
        return self.plot_pixels(xy) + np.array([self.left_px, self.top_px], dtype=np.float64)

    def to_pixel(self, x: float, y: float) -> tuple[float, float]:
        """Give the picture's (col, row) of world (x, y); ``int()`` of each indexes the pixel."""
        col, row = self.to_pixels(np.array([[x, y]]))[0]
        return float(col), float(row)


def plot_xy(xy: np.ndarray) -> np.ndarray:
    """Give matplotlib data coordinates (y, x) of world (..., 2) (x, y): y across, x up."""
    return np.asarray(xy, dtype=np.float64)[..., ::-1]


def point_raster(view: BevView, points: np.ndarray, values: np.ndarray) -> np.ma.MaskedArray:
    """
    Rasterize points into the plot area: each pixel holds the largest value of its points.

    Points are ``DOT_PX`` pixels square; pixels without points are masked.
    """
    pixels = np.floor(view.plot_pixels(points[:, :2])).astype(np.int64)
    offsets = np.array([(dc, dr) for dr in range(DOT_PX) for dc in range(DOT_PX)])
    dots = (pixels[:, None, :] + offsets[None]).reshape(-1, 2)
    dot_values = np.repeat(np.asarray(values, dtype=np.float32), len(offsets))
    inside = ((dots[:, 0] >= 0) & (dots[:, 0] < view.width_px)
              & (dots[:, 1] >= 0) & (dots[:, 1] < view.height_px))
    dots, dot_values = dots[inside], dot_values[inside]
    order = np.argsort(dot_values, kind="stable")  # the largest value is written last: it wins
    grid = np.zeros((view.height_px, view.width_px), dtype=np.float32)
    empty = np.ones(grid.shape, dtype=bool)
    grid[dots[order, 1], dots[order, 0]] = dot_values[order]
    empty[dots[:, 1], dots[:, 0]] = False
    return np.ma.MaskedArray(grid, mask=empty)


def heading_segments(boxes: np.ndarray) -> np.ndarray:
    """Give world (N, 2, 2) segments from each box centre to the middle of its front edge."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 7)
    centre = boxes[:, 0:2]
    front = centre + boxes[:, 3:4] / 2.0 * np.stack([np.cos(boxes[:, 6]),
                                                     np.sin(boxes[:, 6])], axis=1)
    return np.stack([centre, front], axis=1)


def edge_midpoints(boxes: np.ndarray) -> np.ndarray:
    """Give world (N, 4, 2) middles of each box's four BEV edges."""
    corners = bev_corners(np.asarray(boxes, dtype=np.float64).reshape(-1, 7))
    return (corners + np.roll(corners, -1, axis=1)) / 2.0


def outline_half_edges(boxes: np.ndarray) -> np.ndarray:
    """
    Give world (N * 8, 2, 2) segments from each edge's middle to its two corners.

    Dashes start at a segment's first point, so every edge is dashed symmetrically about its
    middle and the middle itself is always drawn.
    """
    corners = bev_corners(np.asarray(boxes, dtype=np.float64).reshape(-1, 7))
    following = np.roll(corners, -1, axis=1)
    middles = (corners + following) / 2.0
    halves = np.stack([np.stack([middles, corners], axis=2),
                       np.stack([middles, following], axis=2)], axis=2)   # (N, 4, 2, 2, 2)
    return halves.reshape(-1, 2, 2)


def _point_colormap(color_by: ColorBy) -> Colormap:
    """Give the points' colormap: greys for intensity (never white), viridis for height."""
    if color_by == "intensity":
        return ListedColormap(colormaps["gray"](np.linspace(0.3, 0.88, 256)), name="grey")
    return colormaps["viridis"]


@dataclass(frozen=True)
class PointShading:
    """
    What colours the points and over which range of values (fixed, so frames compare).

    ``scale_note`` says where the range comes from (e.g. "p1..p99 of this bag"); with one, the
    colour bar names it and marks both ends with their values.
    """

    color_by: ColorBy
    value_range: tuple[float, float]
    scale_note: str = ""

    @property
    def label(self) -> str:
        quantity = "intensity [driver units]" if self.color_by == "intensity" else "height z [m]"
        return f"{quantity}, {self.scale_note}" if self.scale_note else quantity

    def values(self, points: np.ndarray) -> np.ndarray:
        """Give the value of each (N, 4) point that selects its colour."""
        return points[:, 3] if self.color_by == "intensity" else points[:, 2]

    def ticks(self) -> list[float] | None:
        """Give the colour bar's ticks: both ends and round values between (None: automatic)."""
        if not self.scale_note:
            return None
        low, high = self.value_range
        inner = MaxNLocator(nbins=5).tick_values(low, high)
        margin = 0.15 * (high - low)    # no round tick crowding an end's number
        return [low, *(float(t) for t in inner if low + margin < t < high - margin), high]


class BevRenderer:
    """
    One reusable figure that draws frame after frame in bird's-eye view.

    What every frame shares (rings, field of view, legend, colour bar) is drawn once and kept
    as a background; each frame restores it and draws only the points, boxes, ground truth,
    scores and title over it (and the few static marks that lie above the points).
    """

    def __init__(self, view: BevView, class_names: Sequence[str], shading: PointShading,
                 fov_deg: float = 140.0, model_range: Sequence[float] | None = None, *,
                 with_ground_truth: bool = True, drawn_frame: str = "") -> None:
        """
        Draw what every frame shares.

        ``with_ground_truth`` False leaves ground truth out of the legend (no labels given);
        ``drawn_frame`` names the frame on the axes where it is not the cloud's own (e.g.
        "model frame" with ``cloud_to_model``).
        """
        self.view = view
        self.class_names = tuple(class_names)
        self.class_rgb = np.array([c[:3] for c in class_colours(self.class_names)])
        self.shading = shading
        width, height = view.picture_size
        self.figure = Figure(figsize=(width / DPI, height / DPI), dpi=DPI,
                             facecolor=FIGURE_BACKGROUND)
        # Any: the Agg canvas's methods carry no type hints
        self.canvas: Any = cast(Any, FigureCanvasAgg(self.figure))
        self.axes = self._plot_axes(drawn_frame)
        self._draw_field_of_view(fov_deg)
        #: static marks drawn above the points, so redrawn with each frame
        self._overlay: list[Artist] = self._draw_range_rings(fov_deg)
        if model_range is not None:
            self._draw_model_range(model_range)
        self._overlay += self.axes.plot([0.0], [0.0], marker="^", markersize=9,
                                        color=TEXT_COLOUR, linestyle="none", zorder=8)
        self._overlay += self.axes.spines.values()
        self._points = self.axes.imshow(
            np.ma.MaskedArray(np.zeros((view.height_px, view.width_px), dtype=np.float32),
                              mask=True),
            cmap=_point_colormap(shading.color_by), norm=Normalize(*shading.value_range),
            extent=(view.half_width_m, -view.half_width_m, view.x_min, view.x_max),
            origin="upper", interpolation="nearest", zorder=2)
        self._fix_limits()
        self._boxes = PolyCollection([], linewidths=_points(EDGE_PX), zorder=4)
        self._ground_truth = LineCollection([], colors=[GROUND_TRUTH_COLOUR],
                                            linewidths=_points(GROUND_TRUTH_PX),
                                            linestyles=[(0, (3.0, 2.0))], zorder=6)
        self._headings = LineCollection([], linewidths=_points(HEADING_PX),
                                        capstyle="projecting", zorder=7)
        for collection in (self._boxes, self._ground_truth, self._headings):
            self.axes.add_collection(collection)
        self._scores: list[Text] = []
        self._score_anchor = offset_copy(self.axes.transData, fig=self.figure, y=3,
                                         units="dots")
        self._title = self.figure.text(view.left_px / width, 1.0 - 10.0 / height, "",
                                       color=TEXT_COLOUR, fontsize=11, va="top",
                                       linespacing=1.6)
        self.legend = self._draw_legend(fov_deg, model_range is not None, with_ground_truth)
        self.colour_bar = self._draw_colour_bar()
        for artist in (self._points, self._boxes, self._ground_truth, self._headings,
                       self._title, *self._overlay):
            artist.set_animated(True)
        self.canvas.draw()
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)

    def __enter__(self) -> BevRenderer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Release the figure."""
        self.figure.clear()

    def draw(self, points: np.ndarray, detections: Detections,
             ground_truth: np.ndarray | None = None, title: str = "") -> np.ndarray:
        """
        Draw one frame and give the picture as (H, W, 3) uint8 RGB.

        ``points`` (N, 4) x, y, z, intensity; ``detections`` with class indices into the
        renderer's class names; ``ground_truth`` (M, 7) boxes or None.
        """
        self._points.set_data(point_raster(self.view, points, self.shading.values(points)))
        self._draw_detections(detections)
        gt_boxes = np.zeros((0, 7)) if ground_truth is None else ground_truth
        self._ground_truth.set_segments(list(plot_xy(outline_half_edges(gt_boxes))))
        self._title.set_text(title)
        self.canvas.restore_region(self._background)
        layers = [self._points, self._boxes, self._ground_truth, self._headings, *self._scores,
                  *self._overlay]
        for artist in sorted(layers, key=lambda a: a.get_zorder()):
            self.axes.draw_artist(artist)
        self.figure.draw_artist(self._title)
        return np.asarray(self.canvas.buffer_rgba())[..., :3].copy()

    def _draw_detections(self, detections: Detections) -> None:
        labels = np.asarray(detections.labels, dtype=np.int64)
        known = (labels >= 0) & (labels < len(self.class_names))
        boxes = np.asarray(detections.boxes, dtype=np.float64)[known]
        rgb = self.class_rgb[labels[known]]
        self._boxes.set_verts(list(plot_xy(bev_corners(boxes))))
        self._boxes.set_facecolor(np.c_[rgb, np.full(len(rgb), FILL_ALPHA)])
        edges = [to_hex(c) for c in rgb]
        self._boxes.set_edgecolor(edges)
        self._headings.set_segments(list(plot_xy(heading_segments(boxes))))
        self._headings.set_color(edges)
        for text in self._scores:
            text.remove()
        corners = bev_corners(boxes)
        foremost = corners[np.arange(len(boxes)), np.argmax(corners[..., 0], axis=1)]
        stroke = [withStroke(linewidth=2.5, foreground=PLOT_BACKGROUND)]
        self._scores = [
            self.axes.text(y, x, f"{score:.2f}", color=colour, fontsize=8, ha="center",
                           va="bottom", transform=self._score_anchor, zorder=5,
                           path_effects=stroke, clip_on=True, animated=True)
            for (x, y), score, colour in zip(foremost, detections.scores[known], rgb)]

    def _plot_axes(self, drawn_frame: str) -> Axes:
        view = self.view
        width, height = view.picture_size
        bottom = height - view.top_px - view.height_px
        axes = self.figure.add_axes((view.left_px / width, bottom / height,
                                     view.width_px / width, view.height_px / height))
        axes.set_facecolor(PLOT_BACKGROUND)
        frame = f" in the {drawn_frame}" if drawn_frame else ""
        axes.set_xlabel(f"y [m]{frame}  (+ left)", color=TEXT_COLOUR)
        axes.set_ylabel(f"x [m]{frame}  (forward)", color=TEXT_COLOUR)
        axes.tick_params(colors=TEXT_COLOUR, labelsize=9)
        for spine in axes.spines.values():
            spine.set_color(RING_COLOUR)
        axes.set_xticks(_ring_ticks(view.half_width_m))
        axes.set_yticks([t for t in _ring_ticks(max(view.x_max, -view.x_min))
                         if view.x_min <= t <= view.x_max])
        return axes

    def _fix_limits(self) -> None:
        self.axes.set_xlim(self.view.half_width_m, -self.view.half_width_m)
        self.axes.set_ylim(self.view.x_min, self.view.x_max)
        self.axes.set_aspect("auto")
        self.axes.set_autoscale_on(False)

    def _draw_field_of_view(self, fov_deg: float) -> None:
        if fov_deg >= 360.0:
            return
        reach = math.hypot(self.view.half_width_m, max(self.view.x_max, -self.view.x_min)) * 2
        half = fov_deg / 2.0
        # plot angles run from the y axis (across) to the x axis (up): bearing b is 90 - b
        self.axes.add_patch(Wedge((0.0, 0.0), reach, 90.0 - half, 90.0 + half,
                                  facecolor=FIELD_OF_VIEW_TINT, edgecolor="none", zorder=0))
        for bearing in (-half, half):
            rad = math.radians(bearing)
            self.axes.plot([0.0, reach * math.sin(rad)], [0.0, reach * math.cos(rad)],
                           color=RING_COLOUR, linewidth=_points(1.0), linestyle=(0, (6, 4)),
                           zorder=1)

    def _draw_range_rings(self, fov_deg: float) -> list[Artist]:
        """Draw a ring every :data:`RING_STEP_M`; give their labels."""
        view = self.view
        labels: list[Artist] = []
        farthest = math.hypot(view.half_width_m, max(view.x_max, -view.x_min))
        label_bearing = math.radians(-min(fov_deg / 2.0 + 8.0, 172.0))
        for radius in np.arange(RING_STEP_M, farthest, RING_STEP_M):
            self.axes.add_patch(Circle((0.0, 0.0), radius, fill=False, edgecolor=RING_COLOUR,
                                       linewidth=_points(1.0), zorder=1))
            x, y = radius * math.cos(label_bearing), radius * math.sin(label_bearing)
            if view.x_min < x < view.x_max and abs(y) < view.half_width_m - 1.5:
                labels.append(self.axes.text(
                    y, x, f"{radius:.0f} m", color=TEXT_COLOUR, fontsize=8, ha="center",
                    va="center", zorder=3, alpha=0.8,
                    path_effects=[withStroke(linewidth=3, foreground=PLOT_BACKGROUND)]))
        return labels

    def _draw_model_range(self, model_range: Sequence[float]) -> None:
        x_min, y_min, x_max, y_max = (float(model_range[i]) for i in (0, 1, 3, 4))
        self.axes.add_patch(Rectangle((y_max, x_min), y_min - y_max, x_max - x_min,
                                      fill=False, edgecolor=RING_COLOUR, zorder=1,
                                      linewidth=_points(1.0), linestyle=(0, (1, 2))))

    def _draw_legend(self, fov_deg: float, with_model_range: bool,
                     with_ground_truth: bool) -> Legend:
        handles: list[Patch | Line2D] = [
            Patch(facecolor=(*rgb, FILL_ALPHA), edgecolor=rgb, linewidth=_points(EDGE_PX),
                  label=name) for name, rgb in zip(self.class_names, self.class_rgb)]
        if with_ground_truth:
            handles.append(Line2D([], [], color=GROUND_TRUTH_COLOUR, linestyle=(0, (3.0, 2.0)),
                                  linewidth=_points(GROUND_TRUTH_PX), label="ground truth"))
        handles.append(Line2D([], [], color=RING_COLOUR, linewidth=_points(1.0),
                              label=f"range rings, {RING_STEP_M:.0f} m"))
        if fov_deg < 360.0:
            handles.append(Patch(facecolor=FIELD_OF_VIEW_TINT, edgecolor=RING_COLOUR,
                                 linestyle=(0, (6, 4)), label=f"field of view {fov_deg:g}°"))
        if with_model_range:
            handles.append(Line2D([], [], color=RING_COLOUR, linestyle=(0, (1, 2)),
                                  label="model range"))
        width, height = self.view.picture_size
        left = (self.view.left_px + self.view.width_px + 24) / width
        legend = self.figure.legend(
            handles=handles, loc="upper left", bbox_to_anchor=(left, 1.0 - 60 / height),
            frameon=False, labelcolor=TEXT_COLOUR, fontsize=10, title="box: score, heading",
            title_fontsize=9, alignment="left")
        legend.get_title().set_color(TEXT_COLOUR)
        return legend

    def _draw_colour_bar(self) -> Colorbar:
        view = self.view
        width, height = view.picture_size
        bar_height = view.height_px * 0.42
        bar_bottom = height - view.top_px - view.height_px
        bar = self.figure.add_axes(((view.left_px + view.width_px + 34) / width,
                                    bar_bottom / height, 16 / width, bar_height / height))
        colour_bar = self.figure.colorbar(self._points, cax=bar)
        colour_bar.set_label(self.shading.label, color=TEXT_COLOUR)
        colour_bar.outline.set_edgecolor(RING_COLOUR)
        ticks = self.shading.ticks()
        if ticks is not None:
            colour_bar.set_ticks(ticks, labels=[f"{t:.3g}" for t in ticks])
        bar.tick_params(colors=TEXT_COLOUR, labelsize=9)
        return colour_bar


def _ring_ticks(reach: float) -> list[float]:
    """Give tick positions every ring step within +-``reach``."""
    last = math.floor(reach / RING_STEP_M) * RING_STEP_M
    return [float(t) for t in np.arange(-last, last + RING_STEP_M / 2, RING_STEP_M)]


def blend(colour: Sequence[float], under: Sequence[float], alpha: float = FILL_ALPHA
          ) -> np.ndarray:
    """Give RGB in [0, 255] of ``colour`` (RGB in [0, 1]) laid with ``alpha`` over ``under``."""
    top = np.asarray(colour[:3], dtype=np.float64) * 255.0
    return alpha * top + (1.0 - alpha) * np.asarray(under[:3], dtype=np.float64)


def colour_255(name: str) -> np.ndarray:
    """Give a matplotlib colour as RGB in [0, 255]."""
    return np.asarray(to_rgb(name), dtype=np.float64) * 255.0


def save_png(path: str | Path, picture: np.ndarray) -> None:
    """Write an (H, W, 3) uint8 picture as PNG (light compression: frames are many)."""
    Image.fromarray(picture).save(path, format="PNG", compress_level=3)


class GifWriter:
    """
    Animated GIF written frame by frame, so no more than one frame is ever held.

    Each frame gets its own 256-colour palette (a local colour table); the animation loops.
    """

    def __init__(self, path: str | Path, fps: float) -> None:
        self.path = Path(path)
        self.duration_ms = max(20, round(1000.0 / fps))
        self.frames = 0
        self._file: BinaryIO | None = None

    def __enter__(self) -> GifWriter:
        self._file = self.path.open("wb")
        return self

    def add(self, picture: np.ndarray) -> None:
        """Append an (H, W, 3) uint8 picture."""
        if self._file is None:
            raise RuntimeError("GifWriter.add called outside its with block")
        # fast octree: 6x quicker than median cut, and as good on these few-coloured pictures
        frame = Image.fromarray(picture).quantize(colors=256, method=Image.Quantize.FASTOCTREE)
        if self.frames == 0:
            header, _ = GifImagePlugin.getheader(frame, info={"loop": 0})
            self._file.write(b"".join(header))
        self._file.write(b"".join(GifImagePlugin.getdata(
            frame, duration=self.duration_ms, include_color_table=True)))
        self.frames += 1

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._file is not None:
            self._file.write(b";")  # GIF trailer
            self._file.close()
            self._file = None


def draw_summary(path: str | Path, records: Sequence[FrameRecord], class_names: Sequence[str],
                 title: str, unmeasured_note: str) -> None:
    """Write :func:`summary_figure` to ``path``."""
    summary_figure(records, class_names, title, unmeasured_note).savefig(path)


def summary_figure(records: Sequence[FrameRecord], class_names: Sequence[str], title: str,
                   unmeasured_note: str) -> Figure:
    """
    Give the summary figure: detections per class over time and the latency histogram.

    Ground truth counts, where known, are dashed lines in the class colour. When no frame has
    a latency (detections read from the bag) there is no histogram: ``unmeasured_note`` goes
    under the title instead.
    """
    latencies = np.array([r.latency_ms for r in records if r.latency_ms is not None])
    figure = Figure(figsize=(12.0, 8.0 if latencies.size else 5.5), dpi=DPI)
    FigureCanvasAgg(figure)
    if latencies.size:
        counts_axes, latency_axes = figure.subplots(2, 1, height_ratios=(3, 2))
        _draw_latency(latency_axes, latencies)
        figure.suptitle(title, fontsize=12)
        figure.subplots_adjust(left=0.06, right=0.78, top=0.91, bottom=0.08, hspace=0.4)
    else:
        counts_axes = figure.subplots(1, 1)
        figure.suptitle(f"{title}\n{unmeasured_note}", fontsize=12)
        figure.subplots_adjust(left=0.06, right=0.78, top=0.83, bottom=0.11)
    _draw_counts(counts_axes, records, class_names)
    return figure


def _draw_counts(axes: Axes, records: Sequence[FrameRecord], class_names: Sequence[str]) -> None:
    topics = list(dict.fromkeys(r.topic for r in records))
    markers = "osD^v"
    colours = class_colours(class_names)
    for topic_index, topic in enumerate(topics):
        chosen = [r for r in records if r.topic == topic]
        times = np.array([r.time_s for r in chosen])
        counts = np.array([r.detections_per_class for r in chosen]).reshape(len(chosen), -1)
        suffix = f" ({topic})" if len(topics) > 1 else ""
        marker = markers[topic_index % len(markers)]
        for index, name in enumerate(class_names):
            axes.plot(times, counts[:, index], color=colours[index], marker=marker,
                      markersize=3, linewidth=1.5, label=f"{name}{suffix}")
        truth = [r.ground_truth_per_class for r in chosen]
        if all(t is not None for t in truth):
            truth_counts = np.array(truth).reshape(len(chosen), -1)
            for index, name in enumerate(class_names):
                axes.plot(times, truth_counts[:, index], color=colours[index], linewidth=1.0,
                          linestyle="--", label=f"{name} ground truth{suffix}")
    axes.set_xlabel("frame time [s] since the first frame")
    axes.set_ylabel("detections per frame")
    with_truth = all(r.ground_truth_per_class is not None for r in records)
    axes.set_title("detections per class" + (" (dashed: ground truth)" if with_truth else ""),
                   fontsize=11)
    axes.grid(alpha=0.3)
    axes.set_ylim(bottom=0)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)


def _draw_latency(axes: Axes, latencies: np.ndarray) -> None:
    p50, p99 = percentiles(latencies, (50, 99))
    axes.hist(latencies, bins=min(40, max(5, latencies.size // 3)), color="#6b8fb5",
              edgecolor="white")
    axes.axvline(p50, color="#1f4e79", linewidth=2, label=f"p50 {p50:.1f} ms")
    axes.axvline(p99, color="#c0392b", linewidth=2, linestyle="--", label=f"p99 {p99:.1f} ms")
    axes.set_xlabel("latency per frame [ms] (pre-processing + inference + post-processing)")
    axes.set_ylabel("frames")
    axes.set_title(f"detector latency, {latencies.size} frames", fontsize=11)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(alpha=0.3)
    axes.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
