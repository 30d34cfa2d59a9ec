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
``tao-pointpillars render``: bird's-eye-view pictures of a bag with its detections.

Writes ``DIR/frames/frame_000000.png`` ... (one picture per rendered cloud), the animation
``DIR/frames.gif`` (and ``DIR/frames.mp4`` with ``--format mp4`` where ffmpeg is installed) and
``DIR/summary.png`` (detections per class over time, latency histogram where the model ran).
Points are grey by intensity over the bag's own p1..p99 (or coloured by height). Detections
are the bag's own Detection3DArray messages on the cloud topic's detections topic where the
bag has them (as the offline ``detect`` writes them), else the model's, run frame by frame.
"""

from __future__ import annotations

import argparse
from pathlib import Path
import sys
import time
from typing import Callable

from ..data.labels import read_labels
from ..errors import ConfigError
from ..inference.model_file import default_model_path, load_model_info
from ..ros.parameters import settings_from_file
from ..tools.render.bag_detections import DetectionFinder
from ..tools.render.frames import (checked_cloud_count, counted, default_range,
                                   INTENSITY_PERCENTILES, render_frames, RenderJob, summary_line,
                                   UNMEASURED_NOTE, write_mp4)

#: field of view drawn by default: the Zvision ML30S's 140 degrees about +x
DEFAULT_FOV_DEG = 140.0
DEFAULT_FPS = 10.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the render options."""
    parser.add_argument("bag", type=Path, metavar="BAG",
                        help="rosbag2 folder (sqlite3 or mcap) with sensor_msgs/PointCloud2")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="output folder (DIR/frames is cleared of earlier frame_*.png)")
    parser.add_argument("--topic", action="append", default=[], metavar="T",
                        help="PointCloud2 topic (repeatable; default: every PointCloud2 topic)")
    parser.add_argument("--every", type=int, default=1, metavar="N",
                        help="render every Nth cloud (default 1: all)")
    parser.add_argument("--max-frames", type=int, default=None, metavar="N",
                        help="stop after N rendered frames (default: no limit)")
    parser.add_argument("--color-by", choices=("intensity", "height"), default="intensity",
                        help="shade points by intensity (driver units; the grey scale spans "
                             "the bag's p1..p99) or by height z (the model's z range) (default "
                             "intensity)")
    parser.add_argument("--range", type=float, default=None, metavar="METRES",
                        help="half-width of the view; it reaches as far ahead (default: the "
                             "model's point_cloud_range)")
    parser.add_argument("--fov-deg", type=float, default=DEFAULT_FOV_DEG, metavar="DEG",
                        help="lidar field of view drawn as a wedge about +x (default "
                             f"{DEFAULT_FOV_DEG:g}; 360 for none)")
    parser.add_argument("--fps", type=float, default=DEFAULT_FPS,
                        help=f"frames per second of the animation (default {DEFAULT_FPS:g})")
    parser.add_argument("--format", choices=("gif", "mp4"), default="gif",
                        help="animation: frames.gif always, with mp4 also frames.mp4 (needs "
                             "ffmpeg)")
    parser.add_argument("--labels", type=Path, default=None, metavar="LABELS.jsonl",
                        help="ground truth drawn as dashed outlines, matched by timestamp_ns")
    parser.add_argument("--model", type=Path, default=None, metavar="MODEL.onnx",
                        help="model run where the bag holds no detections; its class names "
                             "and range are used in any case (default: the reference model)")
    parser.add_argument("--params-file", type=Path, default=None, metavar="YAML",
                        help="node parameters file (e.g. params/zvision_ml30s.yaml): the model "
                             "reads the clouds as the node would (model_path, intensity_range, "
                             "max_points, score_threshold, NMS settings), and with "
                             "cloud_to_model every picture is drawn in the model's frame; "
                             "the options override it")
    parser.add_argument("--score-threshold", type=float, default=None, metavar="S",
                        help="draw detections scoring at least S (default: the detector's "
                             "own threshold; every detection read from the bag)")


def run(args: argparse.Namespace) -> int:
    draw_summary = _summary_drawing()
    _check_options(args)
    started = time.perf_counter()
    settings = settings_from_file(args.params_file)
    model_path = args.model or Path(settings.runtime.model_path or default_model_path())
    config = load_model_info(str(model_path)).config
    topics = args.topic or None
    total = checked_cloud_count(args.bag, topics)
    labels = read_labels(args.labels) if args.labels is not None else None
    finder = DetectionFinder(args.bag, config.class_names, model_path, args.score_threshold,
                             settings)
    job = RenderJob(args.bag, args.out, topics, args.every, args.max_frames, args.color_by,
                    args.range or default_range(config), args.fov_deg, args.fps)
    records, (width, height), gif_frames, (low, high) = render_frames(job, config, finder,
                                                                      labels, total)
    print(f"render: wrote {counted(len(records), 'frame')} to {job.frames_dir} (frame_000000.png "
          f".. frame_{len(records) - 1:06d}.png, {width}x{height} pixels)")
    if args.color_by == "intensity":
        print(f"render: grey scale intensity {low:.3g} .. {high:.3g} (driver units), "
              "p{:g}..p{:g} of the rendered clouds".format(*INTENSITY_PERCENTILES))
    print(f"render: wrote {args.out / 'frames.gif'} ({counted(gif_frames, 'frame')}, "
          f"{args.fps:g} fps)")
    summary = args.out / "summary.png"
    draw_summary(summary, records, config.class_names,
                 f"{args.bag}: {counted(len(records), 'frame')} rendered of "
                 f"{counted(total, 'cloud')}",
                 UNMEASURED_NOTE)
    if args.format == "mp4":
        _write_mp4(job.frames_dir, args.out / "frames.mp4", args.fps)
    print(f"render: wrote {summary}")
    print(summary_line(records, total, config.class_names, finder, labels is not None,
                       time.perf_counter() - started))
    return 0


def _summary_drawing() -> Callable[..., None]:
    """Import the drawing (the summary figure's here), or say which extra brings matplotlib."""
    try:
        from ..tools.render.drawing import draw_summary
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] in ("matplotlib", "PIL"):
            raise ConfigError(f"render needs matplotlib ({exc}); install it with "
                              "`pip install tao_pointpillars_py[viz]`") from None
        raise
    return draw_summary


def _check_options(args: argparse.Namespace) -> None:
    if not args.bag.exists():
        raise ConfigError(f"bag {args.bag} does not exist; pass a rosbag2 folder")
    for option, path in (("--labels", args.labels), ("--model", args.model)):
        if path is not None and not path.is_file():
            raise ConfigError(f"{option} {path} is not a file")
    if args.every < 1 or (args.max_frames is not None and args.max_frames < 1):
        raise ConfigError("--every and --max-frames must be >= 1")
    if not args.fps > 0 or (args.range is not None and not args.range > 0):
        raise ConfigError("--fps and --range must be > 0")
    if not 0 < args.fov_deg <= 360:
        raise ConfigError(f"--fov-deg must be in (0, 360], got {args.fov_deg}")
    if args.score_threshold is not None and not 0 <= args.score_threshold <= 1:
        raise ConfigError(f"--score-threshold must be in [0, 1], got {args.score_threshold}")


def _write_mp4(frames_dir: Path, path: Path, fps: float) -> None:
    failure = write_mp4(frames_dir, path, fps)
    if failure is not None:
        print(f"render: frames.mp4 not written: {failure}", file=sys.stderr)
        return
    print(f"render: wrote {path}")
