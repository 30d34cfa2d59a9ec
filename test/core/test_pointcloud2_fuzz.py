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
Fuzz tests of cloud.points_from_cloud with hypothesis: random PointCloud2 layouts.

Well-formed clouds (any field order, offsets, padding, datatype, endianness, extra fields,
organized or not, NaN/Inf values, zero or more points than the model takes) must decode like a
slow reference decoder that reads every field of every point with ``struct.unpack_from``.
Malformed clouds (a valid cloud broken in one way) must raise ``CloudFormatError``.
Runs are derandomized, so a CI failure reproduces locally; the last test prints the example
counts.
"""

import array
import collections
import dataclasses
import random
import struct
from types import SimpleNamespace
from typing import Any, Callable

from hypothesis import given, HealthCheck, settings, strategies as st
import numpy as np
import pytest

from tao_pointpillars_py.core.pointcloud2 import (INTENSITY_FIELD_NAMES, POINT_FIELD_DTYPES,
                                                  points_from_cloud)
from tao_pointpillars_py.errors import CloudFormatError

try:  # rclpy's message classes: a second message implementation, where ROS 2 is installed
    from sensor_msgs.msg import PointCloud2, PointField
except ImportError:  # pragma: no cover - depends on the machine
    PointCloud2 = PointField = None

#: PointField datatype -> struct format character (the reference decoder's own table).
STRUCT_CODES = {1: "b", 2: "B", 3: "h", 4: "H", 5: "i", 6: "I", 7: "f", 8: "d"}
SIZES = {code: struct.calcsize(char) for code, char in STRUCT_CODES.items()}
ALL_DATATYPES = tuple(sorted(POINT_FIELD_DTYPES))
FLOAT32, FLOAT64 = 7, 8
#: node_settings' default max_points: the most points the model takes.
MODEL_MAX_POINTS = 204_800
UINT32_MAX = 2**32 - 1

#: Names of extra fields; the intensity aliases and x/y/z appear as duplicates to be ignored.
EXTRA_NAMES = ("ring", "t", "rgb", "ambient", "range", "normal_x", "", "X", "Intensity",
               "x", "y", "z", *INTENSITY_FIELD_NAMES)
MUTATIONS = ("short_data", "offset_past_point_step", "negative_offset", "point_step_too_small",
             "missing_field", "unsupported_datatype", "short_row_step", "negative_size",
             "absurd_size", "data_not_bytes")
#: Mutations that break a cloud only when it has points (data, sizes).
NEED_POINTS = {"short_data", "short_row_step", "negative_size", "absurd_size", "data_not_bytes"}

WELL_FORMED_EXAMPLES = 1500
ROW_STEP_EXAMPLES = 200
MALFORMED_EXAMPLES = 1500
BIG_EXAMPLES = 2
FUZZ: dict[str, Any] = {
    "deadline": None, "derandomize": True, "database": None, "print_blob": True,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}
#: Examples run per test, printed and checked by the last test of the module.
COUNTS: collections.Counter = collections.Counter()

CONTAINERS: dict[str, Callable[[bytes], Any]] = {
    "bytes": bytes, "bytearray": bytearray, "memoryview": memoryview,
    "array.array": lambda b: array.array("B", b),  # what rclpy messages hold
    "ndarray": lambda b: np.frombuffer(b, np.uint8).copy(),  # what rosbags messages hold
    "strided ndarray": lambda b: np.repeat(np.frombuffer(b, np.uint8), 2)[::2],
    "list": list,
}


@dataclasses.dataclass
class Field:
    """A sensor_msgs/msg/PointField look-alike."""

    name: str
    offset: int
    datatype: int
    count: int = 1


@dataclasses.dataclass
class Cloud:
    """A sensor_msgs/msg/PointCloud2 look-alike (plain attributes, no type checks)."""

    header: Any
    height: int
    width: int
    fields: list
    is_bigendian: bool
    point_step: int
    row_step: int
    data: Any
    is_dense: bool = False


@dataclasses.dataclass
class Layout:
    """Fields in message order, the four that must be decoded, point_step and byte order."""

    fields: list
    used: list
    point_step: int
    bigendian: bool


# --- reference decoder: one Python loop per point, struct.unpack_from per field ---------------

def reference_fields(fields):
    """Return x, y, z, intensity fields: first of each name, intensity by alias preference."""
    first = {}
    for field in fields:
        first.setdefault(field.name, field)
    intensity = next(first[name] for name in INTENSITY_FIELD_NAMES if name in first)
    return [first["x"], first["y"], first["z"], intensity]


def reference_decode(msg):
    """Decode ``msg`` point by point; drop points with a non-finite float32 value."""
    fields = reference_fields(msg.fields)
    order = ">" if msg.is_bigendian else "<"
    formats = [struct.Struct(order + STRUCT_CODES[f.datatype]) for f in fields]
    offsets = [f.offset for f in fields]
    data = raw(msg.data)
    # an unorganized cloud's row_step is not read: its one row is width * point_step bytes
    row_step = msg.row_step if msg.height > 1 else msg.width * msg.point_step
    rows = []
    for row in range(msg.height):
        for column in range(msg.width):
            base = row * row_step + column * msg.point_step
            rows.append([fmt.unpack_from(data, base + offset)[0]
                         for fmt, offset in zip(formats, offsets)])
    return finite_float32(rows)


def raw(data):
    """Return the bytes of a PointCloud2 ``data`` container."""
    return data.tobytes() if isinstance(data, np.ndarray) else bytes(data)


def finite_float32(rows):
    """
    (N, 4) float32 of Python numbers (rounded once), the returns only.

    Dropped: rows holding NaN or Inf, and empty slots, x = y = z = 0 (-0.0 too) in float32.
    """
    values = np.array(rows, dtype=np.float64).reshape(-1, 4)  # integers here are < 2**53
    with np.errstate(over="ignore"):  # finite float64 beyond float32's range becomes Inf
        points = values.astype(np.float32)
    return points[np.isfinite(points).all(axis=1) & (points[:, :3] != 0).any(axis=1)]


def assert_same_points(actual, expected):
    """Assert (N, 4) float32 arrays are bit for bit equal (same points, same order)."""
    assert actual.dtype == np.float32 and actual.ndim == 2 and actual.shape[1] == 4
    assert actual.shape == expected.shape
    np.testing.assert_array_equal(actual.view(np.uint32), expected.view(np.uint32))


# --- strategies -----------------------------------------------------------------------------

def values_of(datatype):
    """Return values of one PointField datatype; floats include NaN, Inf and huge values."""
    if datatype in (FLOAT32, FLOAT64):
        width = 32 if datatype == FLOAT32 else 64
        return st.one_of(st.floats(-300.0, 300.0, width=width), st.floats(width=width))
    info = np.iinfo(np.dtype(POINT_FIELD_DTYPES[datatype]))
    return st.integers(int(info.min), int(info.max))


coordinate_datatypes = st.one_of(st.sampled_from((FLOAT32, FLOAT64)),
                                 st.sampled_from(ALL_DATATYPES))
gaps = st.one_of(st.integers(0, 3), st.integers(0, 24))


@st.composite
def layouts(draw):
    """Random well-formed fields: order, offsets, gaps, tail padding, datatypes, extras."""
    intensity_name = draw(st.sampled_from(INTENSITY_FIELD_NAMES))
    used = [Field(name, 0, draw(coordinate_datatypes)) for name in ("x", "y", "z")]
    used.append(Field(intensity_name, 0, draw(st.sampled_from(ALL_DATATYPES))))
    # an alias preferred over the intensity field would be decoded instead: leave those out
    preferred = INTENSITY_FIELD_NAMES[:INTENSITY_FIELD_NAMES.index(intensity_name)]
    extra_names = [name for name in EXTRA_NAMES if name not in preferred]
    extras = draw(st.lists(st.builds(Field, st.sampled_from(extra_names), st.just(0),
                                     st.sampled_from(ALL_DATATYPES), st.integers(1, 4)),
                           max_size=4))
    fields = used + extras
    cursor = draw(gaps)
    for index in draw(st.permutations(range(len(fields)))):  # order in memory
        field = fields[index]
        field.offset = cursor
        cursor += SIZES[field.datatype] * field.count + draw(gaps)
    order = list(draw(st.permutations(range(len(fields)))))  # order in the message
    for index, field in enumerate(used):  # each decoded field precedes its namesakes
        first = min(i for i, j in enumerate(order) if fields[j].name == field.name)
        here = order.index(index)
        order[first], order[here] = order[here], order[first]
    return Layout([fields[j] for j in order], used, cursor, draw(st.booleans()))


def shapes(max_points, min_points=0, min_height=0):
    """Return (height, width): unorganized, organized (height > 1) or, 1 in 7, no points."""
    kinds = {
        "unorganized": st.tuples(st.just(1), st.integers(max(1, min_points), max_points)),
        "organized": st.integers(max(2, min_height), 4).flatmap(lambda h: st.tuples(
            st.just(h), st.integers(max(1, -(-min_points // h)), max(1, max_points // h)))),
        "no points": st.one_of(st.tuples(st.integers(0, 3), st.just(0)),
                               st.tuples(st.just(0), st.integers(0, 5))),
    }
    names = ["unorganized", "organized"] * 3 + ["no points"] * (min_points == 0)
    return st.sampled_from(["organized"] if min_height > 1 else names).flatmap(kinds.get)


def encode(layout, height, width, row_step, columns, garbage):
    """Pack the decoded fields' values into ``garbage`` (padding and extra fields stay random)."""
    order = ">" if layout.bigendian else "<"
    buffer = np.frombuffer(garbage, dtype=np.uint8)
    for row in range(height if width else 0):
        for field, values in zip(layout.used, columns):
            dtype = np.dtype(order + POINT_FIELD_DTYPES[field.datatype])
            view = np.ndarray((width,), dtype=dtype, buffer=buffer, strides=(layout.point_step,),
                              offset=row * row_step + field.offset)
            view[:] = values[row * width:(row + 1) * width]
    return bytes(garbage)


def make_cloud(layout, height, width, row_step, data):
    return Cloud(header=SimpleNamespace(frame_id="lidar_front", stamp=SimpleNamespace(sec=1)),
                 height=height, width=width, is_bigendian=layout.bigendian,
                 fields=[dataclasses.replace(f) for f in layout.fields],
                 point_step=layout.point_step, row_step=row_step, data=data)


@st.composite
def clouds(draw, max_points=24, min_points=0, min_height=0, containers=tuple(CONTAINERS)):
    """Return (Cloud, expected (N, 4) float32 points) with values drawn by hypothesis."""
    layout = draw(layouts())
    height, width = draw(shapes(max_points, min_points, min_height))
    row_step = width * layout.point_step + (draw(st.integers(0, 16)) if height > 1 else 0)
    count = height * width
    columns = [draw(st.lists(values_of(f.datatype), min_size=count, max_size=count))
               for f in layout.used]
    garbage = bytearray(random.Random(draw(st.integers(0, UINT32_MAX))).randbytes(
        height * row_step))
    data = CONTAINERS[draw(st.sampled_from(containers))](
        encode(layout, height, width, row_step, columns, garbage))
    cloud = make_cloud(layout, height, width, row_step, data)
    return cloud, finite_float32(list(zip(*columns)))


def as_ros(cloud):
    """Return ``cloud`` as an rclpy sensor_msgs/msg/PointCloud2."""
    msg = PointCloud2()
    msg.header.frame_id = cloud.header.frame_id
    msg.height, msg.width = cloud.height, cloud.width
    msg.fields = [PointField(name=f.name, offset=f.offset, datatype=f.datatype, count=f.count)
                  for f in cloud.fields]
    msg.is_bigendian = bool(cloud.is_bigendian)
    msg.point_step, msg.row_step = cloud.point_step, cloud.row_step
    msg.data = raw(cloud.data)
    msg.is_dense = cloud.is_dense
    return msg


def fits_ros(cloud):
    """Whether every value of ``cloud`` fits the ROS message's field types."""
    uint32 = [cloud.height, cloud.width, cloud.point_step, cloud.row_step]
    uint32 += [f.offset for f in cloud.fields] + [f.count for f in cloud.fields]
    return (PointCloud2 is not None and all(0 <= v <= UINT32_MAX for v in uint32)
            and all(0 <= f.datatype <= 255 for f in cloud.fields)
            and isinstance(cloud.data, (bytes, bytearray, memoryview, array.array, np.ndarray)))


# --- well-formed clouds ---------------------------------------------------------------------

@settings(max_examples=WELL_FORMED_EXAMPLES, **FUZZ)
@given(case=clouds(), ros=st.booleans())
def test_well_formed_cloud_decodes_like_the_reference(case, ros):
    cloud, expected = case
    msg = as_ros(cloud) if ros and fits_ros(cloud) else cloud
    reference = reference_decode(msg)
    assert_same_points(reference, expected)  # the reference reads what the encoder wrote
    assert_same_points(points_from_cloud(msg), reference)
    COUNTS["well_formed"] += 1
    COUNTS["well_formed: rclpy message" if msg is not cloud else "well_formed: namespace"] += 1
    shape = "no points" if not cloud.height * cloud.width else (
        "organized" if cloud.height > 1 else "unorganized")
    COUNTS[f"well_formed: {shape}"] += 1
    COUNTS["well_formed: points dropped"] += int(reference.shape[0] < cloud.height * cloud.width)


@settings(max_examples=ROW_STEP_EXAMPLES, **FUZZ)
@given(case=clouds(max_points=12, min_points=1, containers=("bytes",)),
       row_step=st.integers(0, UINT32_MAX))
def test_row_step_of_unorganized_cloud_is_not_read(case, row_step):
    cloud, expected = case
    if cloud.height == 1:
        cloud.row_step = row_step
    assert_same_points(points_from_cloud(cloud), expected)
    COUNTS["row_step"] += 1


@settings(max_examples=BIG_EXAMPLES, **FUZZ)
@given(layout=layouts(), height=st.sampled_from((1, 2, 3)),
       extra=st.integers(1, 5_000), seed=st.integers(0, UINT32_MAX))
def test_cloud_with_more_points_than_the_model_takes(layout, height, extra, seed):
    width = -(-(MODEL_MAX_POINTS + extra) // height)
    row_step = width * layout.point_step + (8 if height > 1 else 0)
    count = height * width
    rng = np.random.default_rng(seed)
    columns = []
    for field in layout.used:
        if field.datatype in (FLOAT32, FLOAT64):
            values = rng.normal(0.0, 40.0, count)
            bad = rng.random(count) < 0.01
            values[bad] = rng.choice([np.nan, np.inf, -np.inf], int(bad.sum()))
        else:
            info = np.iinfo(np.dtype(POINT_FIELD_DTYPES[field.datatype]))
            values = rng.integers(int(info.min), int(info.max), count, endpoint=True)
        columns.append(values.tolist())
    garbage = bytearray(random.Random(seed).randbytes(height * row_step))
    cloud = make_cloud(layout, height, width, row_step,
                       encode(layout, height, width, row_step, columns, garbage))
    reference = reference_decode(cloud)
    assert_same_points(reference, finite_float32(list(zip(*columns))))
    assert count > MODEL_MAX_POINTS
    if any(f.datatype in (FLOAT32, FLOAT64) for f in layout.used):
        assert reference.shape[0] < count  # about 1 % of each float column is NaN or Inf
    assert_same_points(points_from_cloud(cloud), reference)
    COUNTS["big"] += 1


def test_empty_cloud_decodes_to_no_points():
    layout = Layout([Field("x", 0, 7), Field("y", 4, 7), Field("z", 8, 7), Field("i", 12, 2)],
                    [], 13, False)
    for height, width in [(0, 0), (1, 0), (0, 7), (5, 0)]:
        points = points_from_cloud(make_cloud(layout, height, width, 0, b""))
        assert points.shape == (0, 4) and points.dtype == np.float32


# --- malformed clouds -----------------------------------------------------------------------

def break_cloud(cloud, mutation, draw):
    """Break a valid ``cloud`` (in place) in one way, drawing the details with ``draw``."""
    used = reference_fields(cloud.fields)
    k = draw(st.integers(0, 3))
    size = SIZES[used[k].datatype]
    if mutation == "short_data":
        needed = cloud.height * cloud.row_step if cloud.height > 1 else (
            cloud.width * cloud.point_step)
        cloud.data = cloud.data[:draw(st.integers(0, needed - 1))]
    elif mutation == "offset_past_point_step":
        used[k].offset = draw(st.one_of(
            st.integers(cloud.point_step - size + 1, cloud.point_step + 64), st.just(UINT32_MAX)))
    elif mutation == "negative_offset":
        used[k].offset = draw(st.integers(-2**31, -1))
    elif mutation == "point_step_too_small":
        end = max(f.offset + SIZES[f.datatype] for f in used)
        cloud.point_step = draw(st.integers(0, end - 1))
        if cloud.height <= 1:
            cloud.row_step = cloud.width * cloud.point_step
    elif mutation == "missing_field":
        name = draw(st.sampled_from(("x", "y", "z", "intensity")))
        names = INTENSITY_FIELD_NAMES if name == "intensity" else (name,)
        cloud.fields = [f for f in cloud.fields if f.name not in names]
    elif mutation == "unsupported_datatype":
        used[k].datatype = draw(st.one_of(st.just(0), st.integers(9, 255)))
    elif mutation == "short_row_step":
        cloud.row_step = draw(st.integers(0, cloud.width * cloud.point_step - 1))
    elif mutation == "negative_size":
        setattr(cloud, draw(st.sampled_from(("height", "width", "point_step", "row_step"))),
                draw(st.integers(-2**32, -1)))
    elif mutation == "absurd_size":
        names = ("height", "width", "point_step") + (("row_step",) if cloud.height > 1 else ())
        setattr(cloud, draw(st.sampled_from(names)), draw(st.integers(2**24, UINT32_MAX)))
    elif mutation == "data_not_bytes":
        needed = cloud.height * max(cloud.row_step, cloud.width * cloud.point_step)
        cloud.data = draw(st.sampled_from((None, "x y z i", object(), [256] * needed,
                                           [-1] * needed, {"data": b""})))
    else:  # pragma: no cover
        raise AssertionError(mutation)


@settings(max_examples=MALFORMED_EXAMPLES, **FUZZ)
@given(mutation=st.sampled_from(MUTATIONS), ros=st.booleans(), data=st.data())
def test_malformed_cloud_raises_cloud_format_error(mutation, ros, data):
    cloud, _ = data.draw(clouds(
        max_points=6, min_points=1 if mutation in NEED_POINTS else 0,
        min_height=2 if mutation == "short_row_step" else 0), label="valid cloud")
    break_cloud(cloud, mutation, data.draw)
    msg = as_ros(cloud) if ros and fits_ros(cloud) else cloud
    with pytest.raises(CloudFormatError):
        points_from_cloud(msg)
    COUNTS["malformed"] += 1
    COUNTS[f"malformed: {mutation}"] += 1
    COUNTS["malformed: rclpy message"] += int(msg is not cloud)


# --- example counts (keep last) -------------------------------------------------------------

MINIMUM_COUNTS = {"well_formed": WELL_FORMED_EXAMPLES, "row_step": ROW_STEP_EXAMPLES,
                  "big": BIG_EXAMPLES, "malformed": MALFORMED_EXAMPLES}


def test_fuzz_example_counts(capsys):
    with capsys.disabled():
        print(f"\ncloud fuzz examples: {sum(COUNTS[n] for n in MINIMUM_COUNTS)} in total")
        for name in sorted(COUNTS):
            print(f"  {name}: {COUNTS[name]}")
    if not any(COUNTS[name] for name in MINIMUM_COUNTS):
        pytest.skip("no fuzz test of this module ran before this one")
    for name, minimum in MINIMUM_COUNTS.items():
        if COUNTS[name]:
            assert COUNTS[name] >= minimum, name
    if PointCloud2 is not None and COUNTS["well_formed"]:
        assert COUNTS["well_formed: rclpy message"] > 0
