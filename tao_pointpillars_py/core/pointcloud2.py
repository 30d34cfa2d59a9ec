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
PointCloud2 buffers <-> (N, 4) float32 points; ROS-free.

Works on any object with the ``sensor_msgs/msg/PointCloud2`` attributes (rclpy messages,
rosbags message classes, or a plain namespace): ``height``, ``width``, ``fields`` (each with
``name``, ``offset``, ``datatype``, ``count``), ``is_bigendian``, ``point_step``, ``row_step``,
``data``. The buffer is viewed through a structured numpy dtype built from the fields, so any
field order, padding, endianness and organized (height > 1) layout decodes without a Python loop
over points.
"""

from __future__ import annotations

from typing import Any, Literal, Sequence

import numpy as np

from ..errors import CloudFormatError, ConfigError

#: sensor_msgs/msg/PointField datatype code -> numpy type code (without byte order).
POINT_FIELD_DTYPES: dict[int, str] = {
    1: "i1",  # INT8
    2: "u1",  # UINT8
    3: "i2",  # INT16
    4: "u2",  # UINT16
    5: "i4",  # INT32
    6: "u4",  # UINT32
    7: "f4",  # FLOAT32
    8: "f8",  # FLOAT64
}
FLOAT32 = 7

#: Intensity field names accepted, in order of preference.
INTENSITY_FIELD_NAMES: tuple[str, ...] = ("intensity", "i", "reflectivity")

#: Zvision ROS driver layout (PCL PointXYZI): x, y, z, intensity float32, 32 bytes per point.
ZVISION_POINT_STEP = 32
ZVISION_OFFSETS: dict[str, int] = {"x": 0, "y": 4, "z": 8, "intensity": 16}
#: Intensity range of the Zvision driver (and of `tao-pointpillars sim`), driver units.
DRIVER_INTENSITY_RANGE: tuple[float, float] = (0.0, 255.0)
#: What to give as the intensity range of incoming clouds, for error messages.
DRIVER_RANGE_HINT = "use the driver's range, e.g. [0.0, 255.0] for Zvision"
#: Largest point_step numpy can view (a structured dtype's itemsize is a C int).
MAX_POINT_STEP = int(np.iinfo(np.intc).max)


def _field_dtype(field: Any, point_step: int, byte_order: Literal["<", ">"]) -> np.dtype:
    code = POINT_FIELD_DTYPES.get(int(field.datatype))
    if code is None:
        raise CloudFormatError(
            f"field {field.name!r} has unsupported PointField datatype {field.datatype}; "
            f"expected one of {sorted(POINT_FIELD_DTYPES)} (INT8..FLOAT64)")
    dtype = np.dtype(code).newbyteorder(byte_order)
    offset = int(field.offset)
    if offset < 0 or offset + dtype.itemsize > point_step:
        raise CloudFormatError(
            f"field {field.name!r} at offset {offset} ({dtype.itemsize} bytes) does not fit "
            f"in point_step {point_step}; fix the cloud's fields or point_step")
    return dtype


def _select_fields(fields: Sequence[Any]) -> list[Any]:
    """Return the PointFields used for x, y, z, intensity (first field of each name wins)."""
    by_name: dict[str, Any] = {}
    for field in fields:
        by_name.setdefault(str(field.name), field)
    missing = [name for name in ("x", "y", "z") if name not in by_name]
    intensity = next((by_name[n] for n in INTENSITY_FIELD_NAMES if n in by_name), None)
    if intensity is None:
        missing.append("intensity")
    if missing:
        raise CloudFormatError(
            f"PointCloud2 lacks field(s) {missing}; it has {sorted(by_name)}. x, y, z and one "
            f"of {list(INTENSITY_FIELD_NAMES)} are required")
    return [by_name["x"], by_name["y"], by_name["z"], intensity]


def _as_bytes(data: Any) -> np.ndarray:
    """View the message's ``data`` (bytes, array.array, memoryview, ndarray, list) as uint8."""
    try:
        return np.frombuffer(data, dtype=np.uint8)
    except (TypeError, ValueError):
        pass
    try:  # a list, or an ndarray that is not contiguous
        values = np.asarray(data)
        # numpy < 2 casts integers outside 0..255 modulo 256 (256 -> 0) where numpy 2 raises
        if values.dtype.kind in "iu" and values.size and (values.min() < 0 or values.max() > 255):
            raise OverflowError(f"values {values.min()}..{values.max()} are not all in 0..255")
        return np.ascontiguousarray(values, dtype=np.uint8).reshape(-1)
    except (TypeError, ValueError, OverflowError) as error:
        raise CloudFormatError(
            f"PointCloud2 data must be bytes or a sequence of integers 0..255, got "
            f"{type(data).__name__} ({error})") from error


def structured_view(msg: Any) -> np.ndarray:
    """
    Structured array (height * width,) with float-or-int fields x, y, z, intensity.

    No copy is made for dense clouds; organized clouds with row padding are gathered row by row
    through strides. An unorganized cloud's (height 1) row_step is not read. Raises
    :class:`CloudFormatError` when the layout cannot hold the points: negative sizes, a
    point_step over :data:`MAX_POINT_STEP`, a field that does not fit in point_step, row_step
    shorter than width x point_step, or data shorter than height x row_step.
    """
    height, width = int(msg.height), int(msg.width)
    point_step, row_step = int(msg.point_step), int(msg.row_step)
    if min(height, width, point_step, row_step) < 0 or point_step > MAX_POINT_STEP:
        raise CloudFormatError(
            f"PointCloud2 height {height}, width {width}, point_step {point_step} and row_step "
            f"{row_step} must be >= 0, point_step at most {MAX_POINT_STEP}")
    byte_order: Literal["<", ">"] = ">" if msg.is_bigendian else "<"
    fields = _select_fields(msg.fields)
    layout: Any = {  # a numpy "fields dict"; its TypedDict is private to numpy
        "names": ["x", "y", "z", "intensity"],
        "formats": [_field_dtype(f, point_step, byte_order) for f in fields],
        "offsets": [int(f.offset) for f in fields],
        "itemsize": point_step,
    }
    dtype = np.dtype(layout)
    buffer = _as_bytes(msg.data)
    if height == 0 or width == 0:
        return np.zeros(0, dtype=dtype)
    if height == 1:
        row_step = width * point_step
    elif row_step < width * point_step:
        raise CloudFormatError(
            f"row_step {row_step} is shorter than width {width} x point_step {point_step}")
    needed = height * row_step
    if buffer.size < needed:
        raise CloudFormatError(
            f"PointCloud2 data has {buffer.size} bytes but height {height}, width {width}, "
            f"point_step {point_step}, row_step {row_step} need {needed}")
    grid = np.ndarray(shape=(height, width), dtype=dtype, buffer=buffer,
                      strides=(row_step, point_step))
    return grid.reshape(-1)


def points_from_cloud(msg: Any) -> np.ndarray:
    """
    Decode a PointCloud2 into (N, 4) float32 x, y, z [m], intensity (driver units).

    Only returns are kept: points with NaN or Inf in any of the four values are dropped (so are
    points with a FLOAT64 value beyond float32's range: it becomes Inf), and so are the slots a
    driver fills with x = y = z = 0 where no return came (the Zvision driver's 51,200-point
    clouds, ``is_dense`` false: :func:`empty_slots`). Intensity is returned as published (e.g.
    0..255); use :func:`map_intensity` to bring it to the model's range.
    """
    view = structured_view(msg)
    points = np.empty((view.shape[0], 4), dtype=np.float32)
    with np.errstate(over="ignore"):  # FLOAT64 beyond float32's range: Inf, dropped below
        for column, name in enumerate(("x", "y", "z", "intensity")):
            points[:, column] = view[name]
    returns = _finite_rows(points) & ~empty_slots(points)
    return points if returns.all() else _rows(points, returns)


def _rows(points: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Give the rows of ``points`` where ``keep`` is True (C-contiguous)."""
    # np.compress: ~10x faster than points[keep] on (N, 4) float32 (0.05 vs 0.5 ms for 51,200)
    return np.compress(keep, points, axis=0)


def _finite_rows(points: np.ndarray) -> np.ndarray:
    """Boolean (N,): rows of C-contiguous (N, 4) float32 ``points`` without NaN or Inf."""
    # a row of four True bytes read as one uint32 is 0x01010101 in either byte order; this is
    # ~25x faster than isfinite(points).all(axis=1), a reduction over 4-element rows
    return np.isfinite(points).view(np.uint32)[:, 0] == 0x01010101


def drop_non_finite(points: np.ndarray) -> np.ndarray:
    """Return C-contiguous (N, 4) float32 ``points`` without rows holding NaN or Inf."""
    points = np.ascontiguousarray(points, dtype=np.float32)
    finite = _finite_rows(points)
    return points if finite.all() else _rows(points, finite)


def empty_slots(points: np.ndarray) -> np.ndarray:
    """
    Boolean (N,): rows of (N, >=3) float32 ``points`` with x, y and z exactly 0 (+0 or -0).

    What a driver publishes for a slot without a return (the Zvision driver computes it as
    0 x cos/sin, so with either sign). A real return is never exactly at the sensor's origin.
    """
    bits = np.asarray(points, dtype=np.float32)[:, :3].view(np.uint32)
    # the sign bit masked off: -0.0 is 0x80000000; ~2x faster than three float compares
    return ((bits[:, 0] | bits[:, 1] | bits[:, 2]) & np.uint32(0x7FFFFFFF)) == 0


def drop_empty_slots(points: np.ndarray) -> np.ndarray:
    """Return (N, 4) float32 ``points`` without the driver's empty (0, 0, 0) slots."""
    points = np.ascontiguousarray(points, dtype=np.float32)
    empty = empty_slots(points)
    return _rows(points, ~empty) if empty.any() else points


def thin_points(points: np.ndarray, max_points: int) -> np.ndarray:
    """
    Return at most ``max_points`` rows of ``points`` (N, C): every k-th, k = ceil(N / max).

    Keeping every k-th point thins the whole field of view evenly, where cutting the tail
    would blind the detector to the part of the scan the driver sends last. ``max_points``
    of 0 means no limit. The caller warns: a thinned cloud is a degraded input.
    """
    if max_points < 0:
        raise ConfigError(f"max_points must be >= 0, got {max_points}")
    count = points.shape[0]
    if max_points == 0 or count <= max_points:
        return points
    step = -(-count // max_points)
    return points[::step]


def check_intensity_range(intensity_range: Any, name: str = "intensity_range",
                          hint: str = "") -> tuple[float, float]:
    """Return a (min, max) intensity range as floats; ConfigError unless finite, max > min."""
    suffix = f"; {hint}" if hint else ""
    try:
        lo, hi = (float(v) for v in intensity_range)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} needs two numbers (min, max), got {intensity_range!r}"
                          f"{suffix}") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        raise ConfigError(f"{name} must be finite with max > min, got [{lo}, {hi}]{suffix}")
    return lo, hi


def check_driver_intensity_range(intensity_range: Any) -> tuple[float, float]:
    """Validate the (min, max) intensity range of the incoming clouds (driver units)."""
    return check_intensity_range(intensity_range, hint=DRIVER_RANGE_HINT)


def map_intensity(points: np.ndarray, source_range: Sequence[float],
                  target_range: Sequence[float]) -> np.ndarray:
    """
    Return a copy of (N, 4) ``points`` with intensity mapped linearly and clipped.

    ``source_range`` (lo, hi) is mapped onto ``target_range`` (lo, hi); results are clipped to
    ``target_range``.
    """
    s_lo, s_hi = check_intensity_range(source_range, "source intensity range")
    t_lo, t_hi = check_intensity_range(target_range, "target intensity range")
    points = np.asarray(points)
    if points.ndim != 2 or points.shape[1] != 4:
        raise CloudFormatError(f"points must have shape (N, 4), got {points.shape}")
    out = np.array(points, dtype=np.float32, order="C")
    intensity = out[:, 3]
    # float32 in place: one strided pass per step instead of float64 temporaries (~3x faster)
    intensity -= np.float32(s_lo)
    intensity *= np.float32((t_hi - t_lo) / (s_hi - s_lo))
    intensity += np.float32(t_lo)
    np.clip(intensity, np.float32(t_lo), np.float32(t_hi), out=intensity)
    return out


def zvision_fields() -> list[tuple[str, int, int, int]]:
    """Return the Zvision cloud's PointFields as (name, offset, datatype, count) tuples."""
    return [(name, offset, FLOAT32, 1) for name, offset in ZVISION_OFFSETS.items()]


def encode_zvision_cloud_data(points: np.ndarray) -> bytes:
    """
    Encode (N, 4) x, y, z, intensity as the Zvision driver's little-endian 32-byte points.

    Padding bytes (12..16 and 20..32 of each point) are zero.
    """
    points = np.asarray(points)
    if points.ndim != 2 or points.shape[1] != 4:
        raise CloudFormatError(f"points must have shape (N, 4), got {points.shape}")
    dtype = np.dtype({
        "names": list(ZVISION_OFFSETS),
        "formats": ["<f4"] * 4,
        "offsets": list(ZVISION_OFFSETS.values()),
        "itemsize": ZVISION_POINT_STEP,
    })
    records = np.zeros(points.shape[0], dtype=dtype)
    for column, name in enumerate(ZVISION_OFFSETS):
        records[name] = points[:, column]
    return records.tobytes()
