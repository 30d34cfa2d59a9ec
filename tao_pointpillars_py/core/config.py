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
Model geometry and post-processing settings: one typed config that travels with the model.

Coordinates follow TAO-PointPillars: origin at the lidar, x forward, y left, z up (metres).
Boxes are ``(x, y, z, dx, dy, dz, yaw)`` with (x, y, z) the box centre, dx along x at yaw 0 and
yaw counter-clockwise from +x (radians).

The :class:`ModelConfig` is written into the ONNX file's ``metadata_props`` by the exporter and
read back by the loader (:func:`ModelConfig.from_metadata`), so geometry is never duplicated in
code, launch files or YAML.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
import json
import math
from typing import cast, Mapping, Sequence

from .pointcloud2 import check_intensity_range
from ..errors import ConfigError, ModelMetadataError

DEFAULT_CLASS_NAMES: tuple[str, ...] = ("Vehicle", "Pedestrian", "Cyclist")

#: Name of the 10-channel pillar feature layout (see :mod:`tao_pointpillars_py.core.pillars`).
FEATURE_ENCODING = "xyzr_mean_offset_center_offset_v1"
#: Name of the box residual coder (see :mod:`tao_pointpillars_py.core.box_coder`).
BOX_CODER = "residual_v1"
METADATA_FORMAT_VERSION = "1"


@dataclass(frozen=True)
class PillarConfig:
    """
    Voxelization grid.

    Attributes
    ----------
    point_cloud_range
        (x_min, y_min, z_min, x_max, y_max, z_max) in metres; points outside
        are dropped (a point on a max face is outside).
    voxel_size
        (vx, vy, vz) in metres; vz spans the whole z range (one pillar per column).
    max_points_per_pillar
        points kept per pillar (the first ones in input order).
    max_pillars
        pillars kept per frame (the first ones by first-point input order).

    """

    point_cloud_range: tuple[float, float, float, float, float, float] = (
        0.0, -25.6, -3.0, 40.96, 25.6, 3.0)
    voxel_size: tuple[float, float, float] = (0.32, 0.32, 6.0)
    max_points_per_pillar: int = 32
    max_pillars: int = 12000

    def __post_init__(self) -> None:
        r, v = self.point_cloud_range, self.voxel_size
        if len(r) != 6 or len(v) != 3:
            raise ConfigError("point_cloud_range needs 6 numbers and voxel_size 3")
        for axis in range(3):
            if not r[axis + 3] > r[axis]:
                raise ConfigError(f"point_cloud_range max must exceed min on axis {axis}: {r}")
            if not v[axis] > 0:
                raise ConfigError(f"voxel_size must be positive: {v}")
        nx, ny = self.grid_size
        if abs(nx * v[0] - (r[3] - r[0])) > 1e-4 or abs(ny * v[1] - (r[4] - r[1])) > 1e-4:
            raise ConfigError(
                f"point_cloud_range {r} is not a whole number of voxels of size {v}")
        if self.max_points_per_pillar < 1 or self.max_pillars < 1:
            raise ConfigError("max_points_per_pillar and max_pillars must be >= 1")

    @property
    def grid_size(self) -> tuple[int, int]:
        """Canvas size (nx, ny): columns along x, rows along y."""
        r, v = self.point_cloud_range, self.voxel_size
        return (int(round((r[3] - r[0]) / v[0])), int(round((r[4] - r[1]) / v[1])))


@dataclass(frozen=True)
class AnchorSpec:
    """One class's anchor: size (dx, dy, dz) in metres, bottom z, rotations, match thresholds."""

    class_name: str
    size: tuple[float, float, float]
    bottom_height: float
    rotations: tuple[float, ...] = (0.0, math.pi / 2)
    matched_threshold: float = 0.6
    unmatched_threshold: float = 0.45


def default_anchors() -> tuple[AnchorSpec, ...]:
    """Anchors for Vehicle, Pedestrian, Cyclist with a lidar about 1 m above the ground."""
    return (
        AnchorSpec("Vehicle", (4.6, 1.9, 1.7), -1.0, matched_threshold=0.6,
                   unmatched_threshold=0.45),
        AnchorSpec("Pedestrian", (0.8, 0.6, 1.73), -1.0, matched_threshold=0.4,
                   unmatched_threshold=0.25),
        AnchorSpec("Cyclist", (1.76, 0.6, 1.73), -1.0, matched_threshold=0.4,
                   unmatched_threshold=0.25),
    )


@dataclass(frozen=True)
class ModelConfig:
    """
    Everything a runtime needs to feed a model and decode its outputs.

    Attributes
    ----------
    class_names
        class index -> name; anchors are given in the same order.
    pillars
        voxelization grid.
    anchors
        one :class:`AnchorSpec` per class.
    feature_stride
        canvas cells per head cell (the head runs at canvas / feature_stride).
    dir_offset, dir_limit_offset, num_dir_bins
        direction classifier (OpenPCDet names).
    intensity_range
        (min, max) of the intensity channel the model was trained on; clouds are
        mapped onto it before pillarization.

    """

    class_names: tuple[str, ...] = DEFAULT_CLASS_NAMES
    pillars: PillarConfig = field(default_factory=PillarConfig)
    anchors: tuple[AnchorSpec, ...] = field(default_factory=default_anchors)
    feature_stride: int = 2
    dir_offset: float = 0.78539
    dir_limit_offset: float = 0.0
    num_dir_bins: int = 2
    intensity_range: tuple[float, float] = (0.0, 1.0)
    feature_encoding: str = FEATURE_ENCODING
    box_coder: str = BOX_CODER

    def __post_init__(self) -> None:
        if not self.class_names:
            raise ConfigError("class_names must not be empty")
        if tuple(a.class_name for a in self.anchors) != tuple(self.class_names):
            raise ConfigError(
                f"anchors are for {[a.class_name for a in self.anchors]} but class_names are "
                f"{list(self.class_names)}: give one anchor per class, in class order")
        nx, ny = self.pillars.grid_size
        if nx % (4 * self.feature_stride) or ny % (4 * self.feature_stride):
            raise ConfigError(
                f"canvas {nx}x{ny} must be divisible by {4 * self.feature_stride} "
                "(backbone strides)")
        check_intensity_range(self.intensity_range)
        if self.feature_encoding != FEATURE_ENCODING:
            raise ConfigError(f"unsupported feature_encoding {self.feature_encoding!r}; "
                              f"this version supports {FEATURE_ENCODING!r}")
        if self.box_coder != BOX_CODER:
            raise ConfigError(f"unsupported box_coder {self.box_coder!r}; "
                              f"this version supports {BOX_CODER!r}")

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def num_anchors_per_location(self) -> int:
        return sum(len(a.rotations) for a in self.anchors)

    @property
    def feature_map_size(self) -> tuple[int, int]:
        """Head resolution (nx, ny) = canvas size / feature_stride."""
        nx, ny = self.pillars.grid_size
        return (nx // self.feature_stride, ny // self.feature_stride)

    def with_class_names(self, names: Sequence[str]) -> ModelConfig:
        """
        Return a copy whose classes, and their anchors, are called ``names`` (in class order).

        For models that carry no class names (a TAO export): the geometry stays, only the
        names change, so ``names`` must have one name per class.
        """
        renamed = tuple(str(name) for name in names)
        if len(renamed) != self.num_classes:
            raise ConfigError(
                f"{len(renamed)} class names {list(renamed)} for a model with "
                f"{self.num_classes} classes {list(self.class_names)}; give {self.num_classes} "
                "names, one per class in the order the model was trained with")
        anchors = tuple(replace(anchor, class_name=name)
                        for anchor, name in zip(self.anchors, renamed))
        return replace(self, class_names=renamed, anchors=anchors)

    def to_metadata(self) -> dict[str, str]:
        """ONNX ``metadata_props`` entries (JSON-encoded values) describing this config."""
        p = self.pillars
        return {
            "tao_pointpillars.format_version": METADATA_FORMAT_VERSION,
            "class_names": json.dumps(list(self.class_names)),
            "point_cloud_range": json.dumps(list(p.point_cloud_range)),
            "voxel_size": json.dumps(list(p.voxel_size)),
            "max_points_per_pillar": json.dumps(p.max_points_per_pillar),
            "max_pillars": json.dumps(p.max_pillars),
            "feature_encoding": json.dumps(self.feature_encoding),
            "anchors": json.dumps([
                {"class_name": a.class_name, "size": list(a.size),
                 "bottom_height": a.bottom_height, "rotations": list(a.rotations),
                 "matched_threshold": a.matched_threshold,
                 "unmatched_threshold": a.unmatched_threshold}
                for a in self.anchors]),
            "box_coder": json.dumps({
                "name": self.box_coder, "feature_stride": self.feature_stride,
                "dir_offset": self.dir_offset, "dir_limit_offset": self.dir_limit_offset,
                "num_dir_bins": self.num_dir_bins}),
            "intensity_range": json.dumps(list(self.intensity_range)),
        }

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, str], source: str = "model") -> ModelConfig:
        """Rebuild the config from ``metadata_props``; raise ModelMetadataError naming gaps."""
        required = ("class_names", "point_cloud_range", "voxel_size", "max_points_per_pillar",
                    "max_pillars", "feature_encoding", "anchors", "box_coder",
                    "intensity_range")
        missing = [k for k in required if k not in metadata]
        if missing:
            raise ModelMetadataError(
                f"{source} lacks the metadata_props {', '.join(missing)}; export it with "
                "`tao-pointpillars export` (or add the keys with onnx.helper."
                "set_model_props) so the runtime knows its geometry")
        try:
            values = {k: json.loads(metadata[k]) for k in required}
            coder = values["box_coder"]
            anchors = tuple(
                AnchorSpec(a["class_name"],
                           cast("tuple[float, float, float]",
                                tuple(float(s) for s in a["size"])),
                           float(a["bottom_height"]),
                           tuple(float(r) for r in a["rotations"]),
                           float(a.get("matched_threshold", 0.6)),
                           float(a.get("unmatched_threshold", 0.45)))
                for a in values["anchors"])
            return cls(
                class_names=tuple(str(c) for c in values["class_names"]),
                pillars=PillarConfig(
                    point_cloud_range=cast("tuple[float, float, float, float, float, float]",
                                           tuple(float(x) for x in values["point_cloud_range"])),
                    voxel_size=cast("tuple[float, float, float]",
                                    tuple(float(x) for x in values["voxel_size"])),
                    max_points_per_pillar=int(values["max_points_per_pillar"]),
                    max_pillars=int(values["max_pillars"])),
                anchors=anchors,
                feature_stride=int(coder["feature_stride"]),
                dir_offset=float(coder["dir_offset"]),
                dir_limit_offset=float(coder["dir_limit_offset"]),
                num_dir_bins=int(coder["num_dir_bins"]),
                intensity_range=cast("tuple[float, float]",
                                     tuple(float(x) for x in values["intensity_range"])),
                feature_encoding=str(values["feature_encoding"]),
                box_coder=str(coder["name"]),
            )
        except ConfigError as exc:
            raise ModelMetadataError(f"{source} metadata is inconsistent: {exc}") from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise ModelMetadataError(
                f"{source} metadata is malformed ({type(exc).__name__}: {exc}); "
                "re-export the model with `tao-pointpillars export`") from exc


@dataclass(frozen=True)
class PostProcessConfig:
    """Decode and NMS settings; these may change at run time (ROS parameters)."""

    score_threshold: float = 0.3
    pre_nms_top_n: int = 4096
    nms_iou_thresh: float = 0.1
    max_detections: int = 100
    class_agnostic_nms: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.score_threshold <= 1.0:
            raise ConfigError(f"score_threshold must be in [0, 1], got {self.score_threshold}")
        if not 0.0 <= self.nms_iou_thresh <= 1.0:
            raise ConfigError(
                f"nms_iou_thresh must be in [0, 1], got {self.nms_iou_thresh}")
        if self.pre_nms_top_n < 1 or self.max_detections < 1:
            raise ConfigError("pre_nms_top_n and max_detections must be >= 1")
