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

"""Tests of tao_pointpillars_py.core.boxes: corners, IoUs, yaw quaternions and extrinsics."""

import math

import numpy as np
import pytest

from tao_pointpillars_py.core.boxes import (bev_corners, box_corners, Extrinsic, limit_period,
                                            nearest_bev_iou, overlapping_pairs,
                                            paired_bev_intersection, quaternion_yaw,
                                            rotated_iou_3d, rotated_iou_bev, transform_boxes,
                                            transform_points, yaw_quaternion)

SQUARE = np.array([[0.0, 0.0, 0.0, 2.0, 2.0, 2.0, 0.0]])


def box(x=0.0, y=0.0, z=0.0, dx=2.0, dy=2.0, dz=2.0, yaw=0.0):
    return np.array([[x, y, z, dx, dy, dz, yaw]])


def random_boxes(rng, n, spread=3.0):
    return np.column_stack([rng.uniform(-spread, spread, (n, 2)), rng.uniform(-1, 1, n),
                            rng.uniform(0.3, 5.0, (n, 3)), rng.uniform(-np.pi, np.pi, n)])


def reference_intersection(a, b):
    """Area of two boxes' BEV intersection, one pair, by plain Sutherland-Hodgman clipping."""
    polygon = [tuple(p) for p in bev_corners(a[None])[0]]
    clip = bev_corners(b[None])[0]
    for i in range(4):
        s, e = clip[i], clip[(i + 1) % 4]

        def side(p):
            return (e[0] - s[0]) * (p[1] - s[1]) - (e[1] - s[1]) * (p[0] - s[0])

        out = []
        for j, p in enumerate(polygon):
            q = polygon[(j + 1) % len(polygon)]
            sp, sq = side(p), side(q)
            if sp >= 0:
                out.append(p)
            if (sp >= 0) != (sq >= 0):
                t = sp / (sp - sq)
                out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
        polygon = out
        if not polygon:
            return 0.0
    return 0.5 * abs(sum(p[0] * q[1] - q[0] * p[1]
                         for p, q in zip(polygon, polygon[1:] + polygon[:1])))


@pytest.mark.parametrize("value,offset,period,expected", [
    (3 * np.pi / 4, 0.5, np.pi, -np.pi / 4),
    (np.pi / 2, 0.5, np.pi, -np.pi / 2),       # half-open: the upper end wraps
    (-np.pi / 2, 0.5, np.pi, -np.pi / 2),
    (7.0, 0.0, 2 * np.pi, 7.0 - 2 * np.pi),
    (-0.1, 0.0, 2 * np.pi, 2 * np.pi - 0.1),
    (0.3, 0.5, np.pi, 0.3),
])
def test_limit_period_wraps_into_half_open_interval(value, offset, period, expected):
    assert limit_period(np.array([value]), offset, period)[0] == pytest.approx(expected)


def test_bev_corners_are_counter_clockwise_and_rotate_with_yaw():
    corners = bev_corners(box(x=1.0, y=2.0, dx=4.0, dy=2.0, yaw=np.pi / 2))[0]
    np.testing.assert_allclose(corners, [[2, 4], [0, 4], [0, 0], [2, 0]], atol=1e-12)
    x, y = corners[:, 0], corners[:, 1]
    signed_area = 0.5 * np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y)
    assert signed_area == pytest.approx(8.0)


def test_box_corners_are_the_bev_corners_at_the_bottom_and_top():
    corners = box_corners(box(x=1.0, y=2.0, z=0.5, dx=4.0, dy=2.0, dz=1.0))[0]
    np.testing.assert_allclose(corners[:4], [[3, 1, 0], [3, 3, 0], [-1, 3, 0], [-1, 1, 0]])
    np.testing.assert_allclose(corners[4:, :2], corners[:4, :2])
    np.testing.assert_allclose(corners[4:, 2], 1.0)


@pytest.mark.parametrize("yaw", [0.0, 0.5, -1.2, np.pi - 1e-3, -np.pi + 1e-3, 3.0])
def test_yaw_round_trips_through_the_quaternion(yaw):
    q = yaw_quaternion(np.array([yaw]))[0]
    assert np.linalg.norm(q) == pytest.approx(1.0)
    assert q[0] == 0.0 and q[1] == 0.0
    assert quaternion_yaw(*q) == pytest.approx(yaw, abs=1e-9)


def test_an_extrinsic_from_a_quaternion_equals_the_one_from_roll_pitch_yaw():
    rpy = Extrinsic.from_xyz_rpy("lidar", (1.0, 2.0, 3.0), (10.0, -20.0, 30.0))
    r = rpy.rotation   # its quaternion (x, y, z, w), by Shepperd's method (w is largest here)
    w = 0.5 * math.sqrt(1.0 + np.trace(r))
    xyzw = ((r[2, 1] - r[1, 2]) / (4 * w), (r[0, 2] - r[2, 0]) / (4 * w),
            (r[1, 0] - r[0, 1]) / (4 * w), w)
    quaternion = Extrinsic.from_quaternion("lidar", (1.0, 2.0, 3.0), xyzw)
    np.testing.assert_allclose(quaternion.rotation, r, atol=1e-12)
    np.testing.assert_allclose(quaternion.translation, rpy.translation)
    assert rpy.heading == pytest.approx(math.radians(30.0))


def test_transformed_boxes_keep_their_size_and_turn_with_the_heading():
    left = Extrinsic.from_xyz_rpy("lidar_left", (0.0, 1.0, 1.5), (0.0, 0.0, 90.0))
    moved = transform_boxes(box(x=10.0, z=-1.0, dx=4.0, dy=2.0, dz=1.5, yaw=3.0), left)
    np.testing.assert_allclose(moved[0, :3], [0.0, 11.0, 0.5], atol=1e-12)
    np.testing.assert_allclose(moved[0, 3:6], [4.0, 2.0, 1.5])
    assert moved[0, 6] == pytest.approx(3.0 + math.pi / 2 - 2 * math.pi)   # wrapped


def test_transform_points_turns_a_y_forward_cloud_x_forward_exactly():
    # "0 0 0 0 0 -90": the Zvision driver's +y forward becomes the model's +x forward
    to_model = Extrinsic.from_xyz_rpy("cloud", (0.0, 0.0, 0.0), (0.0, 0.0, -90.0))
    driver = np.array([[0.5, 20.25, -1.0, 7.0], [-3.0, 0.2, 0.5, 143.0]], dtype=np.float32)
    moved = transform_points(driver, to_model)
    assert moved.dtype == np.float32
    np.testing.assert_array_equal(moved, driver[:, [1, 0, 2, 3]] * [1, -1, 1, 1])
    back = transform_points(moved, to_model.inverse("model"))
    np.testing.assert_array_equal(back, driver)                  # 90 degrees: bit for bit


def test_points_and_boxes_go_there_and_back_through_the_inverse():
    rng = np.random.default_rng(3)
    pose = Extrinsic.from_xyz_rpy("cloud", (0.4, -1.2, 0.6), (3.0, -5.0, 37.0))
    inverse = pose.inverse("model")
    np.testing.assert_allclose(pose.rotation @ inverse.rotation, np.eye(3), atol=1e-12)
    points = np.c_[rng.uniform(-40, 40, (500, 3)), rng.uniform(0, 255, 500)]
    moved = transform_points(points, pose)
    np.testing.assert_allclose(moved[:, :3], points[:, :3] @ pose.rotation.T + pose.translation,
                               atol=1e-4)
    np.testing.assert_array_equal(moved[:, 3], points[:, 3].astype(np.float32))
    np.testing.assert_allclose(transform_points(moved, inverse), points, atol=1e-4)
    boxes = random_boxes(rng, 20, spread=30.0)
    round_trip = transform_boxes(transform_boxes(boxes, pose), inverse)
    np.testing.assert_allclose(round_trip[:, :6], boxes[:, :6], atol=1e-9)
    turned = limit_period(round_trip[:, 6] - boxes[:, 6], 0.5, 2 * math.pi)
    # with roll / pitch the heading of the inverse is not exactly minus the yaw term:
    # the box stays upright, its yaw close to (within a degree here) the original
    np.testing.assert_allclose(turned, 0.0, atol=math.radians(1.0))
    yaw_only = Extrinsic.from_xyz_rpy("cloud", (0.4, -1.2, 0.6), (0.0, 0.0, 37.0))
    exact = transform_boxes(transform_boxes(boxes, yaw_only), yaw_only.inverse("model"))
    np.testing.assert_allclose(limit_period(exact[:, 6] - boxes[:, 6], 0.5, 2 * math.pi), 0.0,
                               atol=1e-12)


@pytest.mark.parametrize("xyz,rpy,identity", [
    ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0), True),
    ((0.0, 0.0, 0.0), (0.0, 0.0, 360.0), True),         # sin(2 pi) = -2.4e-16: still nothing
    ((0.0, 0.0, 0.01), (0.0, 0.0, 0.0), False),
    ((0.0, 0.0, 0.0), (0.0, 0.001, 0.0), False),
])
def test_an_extrinsic_knows_when_it_moves_nothing(xyz, rpy, identity):
    assert Extrinsic.from_xyz_rpy("cloud", xyz, rpy).is_identity is identity


def test_transform_points_refuses_a_flat_array():
    with pytest.raises(ValueError, match=r"\(N, >= 3\)"):
        transform_points(np.zeros(4), Extrinsic.from_xyz_rpy("c", (0, 0, 0), (0, 0, 90)))


@pytest.mark.parametrize("other,expected", [
    (box(), 1.0),                                         # identical
    (box(x=2.0), 0.0),                                    # touching edge to edge
    (box(x=5.0, y=5.0), 0.0),                             # disjoint
    (box(x=1.0), 1.0 / 3.0),                              # half shifted: 2 / (4 + 4 - 2)
    (box(x=1.0, y=1.0), 1.0 / 7.0),                       # quarter overlap: 1 / (8 - 1)
    (box(dx=1.0, dy=1.0, yaw=0.3), 0.25),                 # contained, any rotation
    (box(yaw=np.pi), 1.0),
    (box(yaw=np.pi / 2), 1.0),
    (box(x=0.5, dx=1.0), 0.5),                            # shares three edge segments
])
def test_rotated_iou_bev_hand_computed_cases(other, expected):
    assert rotated_iou_bev(SQUARE, other)[0, 0] == pytest.approx(expected, abs=1e-6)
    assert rotated_iou_bev(other, SQUARE)[0, 0] == pytest.approx(expected, abs=1e-6)


def test_rotated_iou_bev_of_square_rotated_45_degrees_is_the_octagon():
    # Each corner of the turned square sticks out sqrt(2) - 1 beyond a side of the other, a
    # right isosceles triangle of area (sqrt(2) - 1)^2; the octagon is 4 minus four of them.
    octagon = 4.0 - 4.0 * (math.sqrt(2.0) - 1.0) ** 2
    expected = octagon / (8.0 - octagon)
    assert rotated_iou_bev(SQUARE, box(yaw=np.pi / 4))[0, 0] == pytest.approx(expected, 1e-6)
    assert paired_bev_intersection(SQUARE, box(yaw=np.pi / 4))[0] == pytest.approx(octagon)


@pytest.mark.parametrize("seed", [0, 1])
def test_rotated_iou_bev_is_symmetric_and_invariant_to_turning_a_box_by_pi(seed):
    rng = np.random.default_rng(seed)
    a, b = random_boxes(rng, 20), random_boxes(rng, 30)
    iou = rotated_iou_bev(a, b)
    np.testing.assert_allclose(iou, rotated_iou_bev(b, a).T, atol=1e-6)
    flipped = b.copy()
    flipped[:, 6] += np.pi
    np.testing.assert_allclose(iou, rotated_iou_bev(a, flipped), atol=1e-6)
    assert iou.dtype == np.float32 and iou.shape == (20, 30)
    assert (iou > 0).sum() > 50 and iou.min() >= 0.0 and iou.max() <= 1.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_paired_bev_intersection_matches_plain_polygon_clipping(seed):
    rng = np.random.default_rng(seed)
    a, b = random_boxes(rng, 300, spread=2.0), random_boxes(rng, 300, spread=2.0)
    # Include exact special cases: shared edges, identical boxes, quarter turns.
    b[:20] = a[:20]
    b[20:40, 6] = a[20:40, 6] + np.pi / 2
    b[20:40, :2] = a[20:40, :2]
    expected = [reference_intersection(p, q) for p, q in zip(a, b)]
    np.testing.assert_allclose(paired_bev_intersection(a, b), expected, rtol=1e-7, atol=1e-7)


def test_rotated_iou_bev_agrees_with_monte_carlo_areas():
    rng = np.random.default_rng(7)
    a, b = random_boxes(rng, 12, spread=1.5), random_boxes(rng, 12, spread=1.5)
    for p, q in zip(a, b):
        corners = bev_corners(np.stack([p, q])).reshape(-1, 2)
        low, high = corners.min(axis=0), corners.max(axis=0)
        samples = rng.uniform(low, high, (300_000, 2))
        inside = np.ones(len(samples), dtype=bool)
        for bx in (p, q):
            c, s = math.cos(bx[6]), math.sin(bx[6])
            rel = samples - bx[:2]
            u, v = rel[:, 0] * c + rel[:, 1] * s, -rel[:, 0] * s + rel[:, 1] * c
            inside &= (np.abs(u) <= bx[3] / 2) & (np.abs(v) <= bx[4] / 2)
        inter = inside.mean() * np.prod(high - low)
        expected = inter / (p[3] * p[4] + q[3] * q[4] - inter)
        assert rotated_iou_bev(p[None], q[None])[0, 0] == pytest.approx(expected, abs=0.01)


def test_rotated_iou_bev_keeps_precision_far_from_the_origin():
    far = np.array([1e5, -2e5, 0.0, 0.0, 0.0, 0.0, 0.0])
    assert rotated_iou_bev(SQUARE + far, box(x=1.0) + far)[0, 0] == pytest.approx(1 / 3, 1e-6)


@pytest.mark.parametrize("other,expected", [
    (box(z=1.0), 1.0 / 3.0),                               # half the height: 4 / (8 + 8 - 4)
    (box(z=2.0), 0.0),                                     # stacked, touching
    (box(x=1.0, z=1.0), 2.0 / 14.0),                       # half area x half height
    (box(dz=1.0), 0.5),                                    # inside in z
])
def test_rotated_iou_3d_multiplies_bev_area_by_height_overlap(other, expected):
    assert rotated_iou_3d(SQUARE, other)[0, 0] == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("n,m", [(0, 3), (3, 0), (0, 0)])
def test_rotated_iou_handles_empty_inputs(n, m):
    rng = np.random.default_rng(0)
    for fn in (rotated_iou_bev, rotated_iou_3d, nearest_bev_iou):
        assert fn(random_boxes(rng, n), random_boxes(rng, m)).shape == (n, m)


def test_rotated_iou_rejects_boxes_without_seven_columns():
    with pytest.raises(ValueError, match=r"\(N, 7\)"):
        rotated_iou_bev(np.zeros((2, 5)), SQUARE)


def test_overlapping_pairs_cover_every_overlapping_pair():
    rng = np.random.default_rng(3)
    a, b = random_boxes(rng, 80, spread=15.0), random_boxes(rng, 60, spread=15.0)
    ia, ib = overlapping_pairs(a, b)
    found = set(zip(ia.tolist(), ib.tolist()))
    assert len(found) == len(ia)                            # no duplicates
    truth = {(i, j) for i in range(80) for j in range(60)
             if reference_intersection(a[i], b[j]) > 0}
    assert truth <= found and len(truth) > 10
    assert len(found) < 80 * 60 / 4                         # the prefilter does filter
    ia, ib = overlapping_pairs(a)
    assert set(zip(ia.tolist(), ib.tolist())) == {
        (i, j) for i, j in zip(*overlapping_pairs(a, a)) if i < j}
    assert np.all(np.diff(ia) >= 0)


@pytest.mark.parametrize("yaw,expected", [
    (0.0, 1.0 / 3.0),          # (4 x 2) vs (2 x 4): overlap 2 x 2 = 4, union 12
    (np.pi / 2, 1.0),          # snapped to the other orientation: identical
    (0.7, 1.0 / 3.0),          # below pi / 4: stays at 0
    (0.9, 1.0),                # above pi / 4: snaps to pi / 2
    (np.pi / 4, 1.0),          # ties snap to pi / 2, as in OpenPCDet
    (np.pi, 1.0 / 3.0),
    (-np.pi / 2, 1.0),
])
def test_nearest_bev_iou_snaps_yaw_to_the_nearest_axis(yaw, expected):
    tall = box(dx=2.0, dy=4.0)
    iou = nearest_bev_iou(box(dx=4.0, dy=2.0, yaw=yaw), tall)
    assert iou.dtype == np.float32
    assert iou[0, 0] == pytest.approx(expected)


def test_boxes_with_non_finite_values_overlap_nothing():
    boxes = np.concatenate([SQUARE, box(x=np.nan), box(x=1.0), box(dx=np.inf)])
    ia, ib = overlapping_pairs(boxes, boxes)
    assert set(zip(ia.tolist(), ib.tolist())) == {(0, 0), (0, 2), (2, 0), (2, 2)}
    iou = rotated_iou_bev(boxes, boxes)
    assert iou[0, 2] == pytest.approx(1 / 3) and iou[1].max() == 0.0 and iou[3].max() == 0.0
