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

"""Tests of core.pointcloud2: PointCloud2 decoding, intensity mapping, Zvision layout."""

import array
from types import SimpleNamespace

from cloud_fixtures import CloudLayout, POINT_FIELD_CODES, point_records, XYZI_16, ZVISION_DRIVER
import numpy as np
import pytest

from tao_pointpillars_py.core.pointcloud2 import (check_driver_intensity_range,
                                                  drop_empty_slots, drop_non_finite,
                                                  empty_slots, encode_zvision_cloud_data,
                                                  map_intensity, points_from_cloud, thin_points,
                                                  zvision_fields, ZVISION_POINT_STEP)
from tao_pointpillars_py.errors import CloudFormatError, ConfigError

POINTS = np.array([[1.5, -2.0, 0.25, 7.0],
                   [10.0, 3.5, -1.0, 200.0],
                   [0.0, 0.0, -1.5, 0.0]], dtype=np.float32)  # on the z axis: a return


def field(name, offset, datatype, count=1):
    return SimpleNamespace(name=name, offset=offset, datatype=datatype, count=count)


def make_cloud(points, layout, point_step, bigendian=False, height=1, row_pad=0, name="intensity",
               data_type=bytes):
    """Pack (N, 4) points with layout [(offset, 'f4'), ...] for x, y, z, intensity."""
    records = point_records(points, CloudLayout(layout, point_step), bigendian, name)
    width = points.shape[0] // height
    rows = records.reshape(height, width)
    row_bytes = [rows[r].tobytes() + b"\xee" * row_pad for r in range(height)]
    data = b"".join(row_bytes)
    if data_type is not bytes:
        data = data_type(data)
    return SimpleNamespace(
        height=height, width=width, is_bigendian=bigendian, point_step=point_step,
        row_step=width * point_step + row_pad, is_dense=True, data=data,
        fields=[field(key, o, POINT_FIELD_CODES[t])
                for key, (o, t) in zip(["x", "y", "z", name], layout)])


@pytest.mark.parametrize("layout,point_step", [
    ZVISION_DRIVER,                                                 # Zvision / PCL PointXYZI
    XYZI_16,                                                        # packed
    ([(12, "f4"), (8, "f4"), (4, "f4"), (0, "f4")], 16),            # reversed order
    ([(0, "f8"), (8, "f8"), (16, "f8"), (24, "f8")], 40),           # float64 and padding
    ([(1, "f4"), (5, "f4"), (9, "f4"), (0, "u1")], 13),             # unaligned, uint8 intensity
    ([(0, "f4"), (4, "f4"), (8, "f4"), (12, "u2")], 14),            # uint16 intensity
    ([(0, "f4"), (4, "f4"), (8, "f4"), (12, "i4")], 20),            # int32 intensity
])
@pytest.mark.parametrize("bigendian", [False, True])
def test_points_from_cloud_decodes_any_layout(layout, point_step, bigendian):
    cloud = make_cloud(POINTS, layout, point_step, bigendian)
    np.testing.assert_array_equal(points_from_cloud(cloud), POINTS)
    assert points_from_cloud(cloud).dtype == np.float32


@pytest.mark.parametrize("data_type", [bytes, bytearray, memoryview,
                                       lambda b: array.array("B", b),
                                       lambda b: np.frombuffer(b, np.uint8), list])
def test_points_from_cloud_accepts_any_data_container(data_type):
    cloud = make_cloud(POINTS, *ZVISION_DRIVER,
                       data_type=data_type)
    np.testing.assert_array_equal(points_from_cloud(cloud), POINTS)


@pytest.mark.parametrize("name", ["intensity", "i", "reflectivity"])
def test_points_from_cloud_accepts_intensity_aliases(name):
    cloud = make_cloud(POINTS, *XYZI_16, name=name)
    np.testing.assert_array_equal(points_from_cloud(cloud)[:, 3], POINTS[:, 3])


def test_points_from_cloud_prefers_intensity_over_reflectivity():
    cloud = make_cloud(POINTS, [(0, "f4"), (4, "f4"), (8, "f4"), (12, "f4")], 20)
    cloud.fields.insert(0, field("reflectivity", 16, 7))
    np.testing.assert_array_equal(points_from_cloud(cloud)[:, 3], POINTS[:, 3])


@pytest.mark.parametrize("row_pad", [0, 8])
def test_points_from_cloud_honours_row_step_of_organized_cloud(row_pad):
    points = np.arange(24, dtype=np.float32).reshape(6, 4)
    cloud = make_cloud(points, *ZVISION_DRIVER, height=2,
                       row_pad=row_pad)
    np.testing.assert_array_equal(points_from_cloud(cloud), points)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("column", [0, 1, 2, 3])
def test_points_from_cloud_drops_non_finite_points(bad, column):
    points = POINTS.copy()
    points[1, column] = bad
    cloud = make_cloud(points, *ZVISION_DRIVER)
    np.testing.assert_array_equal(points_from_cloud(cloud), POINTS[[0, 2]])


def test_points_from_cloud_drops_the_drivers_empty_slots_of_either_sign():
    # the Zvision driver: 51,200 slots, (0, 0, 0) where no return came, computed as
    # 0 x cos/sin, so with -0.0 where the sine or cosine is negative (is_dense false)
    rng = np.random.default_rng(3)
    slots = rng.uniform(-20, 50, (51_200, 4)).astype(np.float32)
    empty = rng.random(51_200) < 0.2
    slots[empty, :3] = rng.choice(np.array([0.0, -0.0], np.float32), (int(empty.sum()), 3))
    slots[empty, 3] = 7.0  # whatever intensity a driver leaves there
    slots[:5, :3] = [[0.0, 0.0, 1.0], [0.0, -2.0, 0.0], [3.0, 0.0, 0.0], [0.0, 0.0, 1e-40],
                     [np.nan, 0.0, 0.0]]  # returns on an axis (and a denormal): kept; NaN not
    empty[:5] = False
    cloud = make_cloud(slots, *ZVISION_DRIVER)
    got = points_from_cloud(cloud)
    expected = slots[~empty & np.isfinite(slots).all(axis=1)]
    np.testing.assert_array_equal(got, expected)
    assert got.shape[0] == 51_200 - int(empty.sum()) - 1
    assert empty_slots(slots).tolist() == empty.tolist()
    np.testing.assert_array_equal(drop_empty_slots(slots), slots[~empty])


def test_a_cloud_of_empty_slots_only_decodes_to_no_points():
    cloud = make_cloud(np.zeros((64, 4), np.float32), *ZVISION_DRIVER)
    assert points_from_cloud(cloud).shape == (0, 4)


@pytest.mark.parametrize("seed", range(3))
def test_empty_slots_equals_three_float_compares(seed):
    rng = np.random.default_rng(seed)
    points = rng.choice(np.array([0.0, -0.0, 1.0, np.nan, 1e-45], np.float32), (2000, 4))
    expected = (points[:, 0] == 0) & (points[:, 1] == 0) & (points[:, 2] == 0)
    assert empty_slots(points).tolist() == expected.tolist()
    assert empty_slots(np.asfortranarray(points)).tolist() == expected.tolist()


@pytest.mark.parametrize("seed", range(5))
def test_drop_non_finite_equals_row_wise_isfinite(seed):
    rng = np.random.default_rng(seed)
    points = rng.normal(size=(500, 4)).astype(np.float32)
    bad = rng.random(points.shape) < 0.02
    points[bad] = rng.choice([np.nan, np.inf, -np.inf], size=int(bad.sum()))
    expected = points[np.isfinite(points).all(axis=1)]
    np.testing.assert_array_equal(drop_non_finite(points), expected)
    np.testing.assert_array_equal(drop_non_finite(np.asfortranarray(points)), expected)


def test_points_from_cloud_of_empty_cloud_is_empty():
    cloud = make_cloud(POINTS[:0], *ZVISION_DRIVER)
    assert points_from_cloud(cloud).shape == (0, 4)


def zvision(points=POINTS):
    return make_cloud(points, *ZVISION_DRIVER)


@pytest.mark.parametrize("break_it,message", [
    (lambda c: c.fields.pop(2), "'z'"),
    (lambda c: c.fields.pop(3), "intensity"),
    (lambda c: setattr(c, "data", c.data[:-1]), "bytes"),
    (lambda c: setattr(c.fields[3], "offset", 30), "does not fit"),
    (lambda c: setattr(c.fields[0], "datatype", 9), "unsupported"),
    (lambda c: setattr(c.fields[0], "datatype", 0), "unsupported"),
])
def test_points_from_cloud_raises_on_broken_layout(break_it, message):
    cloud = zvision()
    break_it(cloud)
    with pytest.raises(CloudFormatError, match=message):
        points_from_cloud(cloud)


def test_points_from_cloud_raises_on_short_row_step():
    points = np.zeros((4, 4), np.float32)
    cloud = make_cloud(points, *ZVISION_DRIVER, height=2)
    cloud.row_step = 32
    with pytest.raises(CloudFormatError, match="row_step"):
        points_from_cloud(cloud)


@pytest.mark.parametrize("source,target,expected", [
    ((0, 255), (0, 1), [7 / 255, 200 / 255, 0.0]),
    ((0, 100), (0, 1), [0.07, 1.0, 0.0]),          # clipped above
    ((10, 210), (0, 1), [0.0, 0.95, 0.0]),         # clipped below
    ((0, 1), (0, 255), [255.0, 255.0, 0.0]),
])
def test_map_intensity_maps_linearly_and_clips(source, target, expected):
    mapped = map_intensity(POINTS, source, target)
    np.testing.assert_allclose(mapped[:, 3], expected, rtol=1e-6)
    np.testing.assert_array_equal(mapped[:, :3], POINTS[:, :3])
    assert mapped.dtype == np.float32


def test_map_intensity_leaves_input_unchanged():
    points = POINTS.copy()
    map_intensity(points, (0, 255), (0, 1))
    np.testing.assert_array_equal(points, POINTS)


@pytest.mark.parametrize("source,target", [((1, 1), (0, 1)), ((0, 255), (1, 0))])
def test_map_intensity_rejects_empty_ranges(source, target):
    with pytest.raises(ConfigError):
        map_intensity(POINTS, source, target)


def test_zvision_encoding_matches_documented_layout():
    data = encode_zvision_cloud_data(POINTS)
    assert len(data) == POINTS.shape[0] * ZVISION_POINT_STEP == POINTS.shape[0] * 32
    assert zvision_fields() == [("x", 0, 7, 1), ("y", 4, 7, 1), ("z", 8, 7, 1),
                                ("intensity", 16, 7, 1)]
    second = np.frombuffer(data[32:64], dtype="<f4")
    np.testing.assert_array_equal(second[[0, 1, 2, 4]], POINTS[1])
    assert second[3] == 0 and not second[5:].any()


def test_zvision_encoding_round_trips_through_points_from_cloud():
    cloud = SimpleNamespace(
        height=1, width=3, is_bigendian=False, point_step=32, row_step=96, is_dense=True,
        data=encode_zvision_cloud_data(POINTS),
        fields=[field(*f) for f in zvision_fields()])
    np.testing.assert_array_equal(points_from_cloud(cloud), POINTS)


def test_zvision_encoding_rejects_wrong_shape():
    with pytest.raises(CloudFormatError, match=r"\(N, 4\)"):
        encode_zvision_cloud_data(np.zeros((3, 3), np.float32))


@pytest.mark.parametrize("count,limit,expected_step", [(10, 0, 1), (10, 10, 1), (11, 10, 2),
                                                       (204_801, 204_800, 2), (30, 7, 5)])
def test_thin_points_keeps_every_kth_point(count, limit, expected_step):
    points = np.arange(count * 4, dtype=np.float32).reshape(count, 4)
    thinned = thin_points(points, limit)
    np.testing.assert_array_equal(thinned, points[::expected_step])
    assert limit == 0 or thinned.shape[0] <= limit


def test_thin_points_rejects_a_negative_limit():
    with pytest.raises(ConfigError, match="max_points"):
        thin_points(POINTS, -1)


def ros_cloud(cloud):
    """Build the real sensor_msgs/PointCloud2 of a make_cloud() namespace."""
    from sensor_msgs.msg import PointCloud2, PointField
    msg = PointCloud2(height=cloud.height, width=cloud.width, is_bigendian=cloud.is_bigendian,
                      point_step=cloud.point_step, row_step=cloud.row_step,
                      is_dense=cloud.is_dense, data=bytes(cloud.data))
    msg.fields = [PointField(name=f.name, offset=f.offset, datatype=f.datatype, count=f.count)
                  for f in cloud.fields]
    return msg


@pytest.mark.parametrize("layout,point_step,bigendian", [
    (*ZVISION_DRIVER, False),
    ([(0, "f4"), (4, "f4"), (8, "f4"), (12, "u1")], 13, False),
    ([(0, "f8"), (8, "f8"), (16, "f8"), (24, "u2")], 26, True),
])
def test_points_from_cloud_agrees_with_sensor_msgs_py(layout, point_step, bigendian):
    # sensor_msgs_py (ros2/common_interfaces) is not on PyPI: this runs on ROS installs only.
    # It asserts a real PointCloud2, and read_points_numpy refuses mixed field types.
    point_cloud2 = pytest.importorskip(
        "sensor_msgs_py.point_cloud2", reason="sensor_msgs_py comes with a ROS 2 install")
    names = ("x", "y", "z", "intensity")
    ours = points_from_cloud(ros_cloud(make_cloud(POINTS, layout, point_step, bigendian)))
    # a fresh message each: read_points byte-swaps a big-endian cloud's buffer in place
    theirs = point_cloud2.read_points(ros_cloud(make_cloud(POINTS, layout, point_step,
                                                           bigendian)),
                                      field_names=names, skip_nans=True)
    expected = np.column_stack([theirs[name].astype(np.float32) for name in names])
    np.testing.assert_array_equal(ours, expected)
    np.testing.assert_array_equal(ours, POINTS)
    if len({t for _, t in layout}) == 1:  # one field type: the unstructured reader too
        single = point_cloud2.read_points_numpy(
            ros_cloud(make_cloud(POINTS, layout, point_step, bigendian)), field_names=names,
            skip_nans=True)
        np.testing.assert_array_equal(ours, single.astype(np.float32))


@pytest.mark.parametrize("bad", [(255.0, 0.0), (0.0, 0.0), (0.0, float("nan")), (1.0,)])
def test_bad_driver_intensity_range_is_refused_with_the_driver_hint(bad):
    with pytest.raises(ConfigError, match="intensity_range .*; use the driver's range"):
        check_driver_intensity_range(bad)
