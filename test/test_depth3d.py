# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""3D geometry (sspanoptic_ros.depth3d): back-projection, registration, labels and thing boxes."""

import numpy as np
import pytest
import torch

from sspanoptic_ros.depth3d import (
    BOX_PERCENTILES,
    BOX_SAMPLES,
    Intrinsics,
    axis_quantiles,
    depth_grid,
    registered_pixels,
    thing_boxes,
)
from sspanoptic_ros.head.result import PanopticResult, Segment

K = Intrinsics(fx=100.0, fy=120.0, cx=2.0, cy=1.5, width=4, height=3)
RGB_OF_ID = np.arange(20000, dtype=np.uint32) * 7  # any colour per id


def result_of(panoptic: np.ndarray, segments: list[Segment]) -> PanopticResult:
    panoptic = torch.from_numpy(panoptic.astype(np.int32))
    return PanopticResult(panoptic // 1000, panoptic % 1000, panoptic, segments)


def test_back_projection_follows_the_pinhole_model_for_valid_pixels_only():
    depth = np.array([[1.0, 2.0, 0.0, 4.0],
                      [np.nan, 0.05, 3.0, np.inf],
                      [2.5, 30.0, 1.5, 1.0]], np.float32)
    panoptic = np.arange(12).reshape(3, 4) + 1000
    grid = depth_grid(result_of(panoptic, []), depth, K, 0.1, 20.0)
    assert grid.valid.tolist() == [[True, True, False, True], [False, False, True, False],
                                   [True, False, True, True]]
    cloud = grid.cloud(RGB_OF_ID)
    index = [0, 1, 3, 6, 8, 10, 11]  # the valid pixels, row-major
    assert cloud.labels.tolist() == [1000 + i for i in index]
    assert cloud.rgb.tolist() == RGB_OF_ID[cloud.labels].tolist()
    for (x, y, z), i in zip(cloud.points.tolist(), index):
        v, u = divmod(i, 4)
        z_true = depth.flatten()[i]
        assert z == pytest.approx(z_true)
        assert x == pytest.approx((u - K.cx) * z_true / K.fx)
        assert y == pytest.approx((v - K.cy) * z_true / K.fy)
    strided = depth_grid(result_of(panoptic, []), depth, K, 0.1, 20.0, stride=2).cloud(RGB_OF_ID)
    assert strided.labels.tolist() == [1000, 1008, 1010]  # rows 0, 2 and columns 0, 2, valid
    np.testing.assert_allclose(strided.points, cloud.points[[0, 4, 5]])
    dense = depth_grid(result_of(panoptic, []), np.full((3, 4), 2.0, np.float32), K, 0.1, 20.0)
    assert dense.cloud(RGB_OF_ID).labels.tolist() == list(range(1000, 1012))  # no gather


def test_registration_scales_the_intrinsics_of_the_same_aspect_ratio_and_refuses_others():
    k = Intrinsics(600.0, 600.0, 320.0, 240.0, 640, 480)
    assert k.registered(480, 640) is k
    assert k.registered(240, 320) == Intrinsics(300.0, 300.0, 160.0, 120.0, 320, 240)
    with pytest.raises(ValueError, match="not registered.*640x480"):
        k.registered(360, 640)
    with pytest.raises(ValueError, match="no usable focal lengths"):
        Intrinsics.from_k([0.0] * 9, 640, 480)
    assert Intrinsics.from_k([600, 0, 320, 0, 610, 240, 0, 0, 1], 640, 480).fy == 610.0


def test_half_size_depth_takes_the_label_of_the_colour_pixel_holding_its_centre():
    assert registered_pixels(2, 4, 1, "cpu").tolist() == [1, 3]  # 2 depth rows over 4 colour rows
    assert registered_pixels(3, 6, 1, "cpu").tolist() == [1, 3, 5]
    assert registered_pixels(6, 6, 2, "cpu").tolist() == [0, 2, 4]
    panoptic = np.arange(24).reshape(4, 6) + 1000
    cloud = depth_grid(result_of(panoptic, []), np.full((2, 3), 2.0, np.float32),
                       Intrinsics(10.0, 10.0, 3.0, 2.0, 6, 4), 0.1, 20.0).cloud(RGB_OF_ID)
    assert cloud.labels.tolist() == [1007, 1009, 1011, 1019, 1021, 1023]
    # x of depth column 0 with the halved intrinsics: (0 - 1.5) * 2 / 5
    assert cloud.points[0].tolist() == pytest.approx([-0.6, -0.4, 2.0])


def test_axis_quantiles_equal_numpys_linear_quantiles():
    rng = np.random.default_rng(0)
    for n in (1, 2, 3, 20, 1001):
        points = rng.normal(size=(n, 3)).astype(np.float32)
        np.testing.assert_allclose(axis_quantiles(points, (0.05, 0.5, 0.95)),
                                   np.quantile(points, [0.05, 0.5, 0.95], axis=0), rtol=1e-6)


def test_thing_boxes_give_median_centres_and_percentile_sizes_of_things_with_enough_points():
    rng = np.random.default_rng(0)
    height, width = 40, 50
    panoptic = np.full((height, width), 11000)  # stuff
    panoptic[5:25, 10:30] = 1001  # a thing of 400 pixels
    panoptic[30:33, 40:43] = 2002  # a thing of 9 pixels
    depth = np.full((height, width), 5.0, np.float32)
    depth[5:25, 10:30] = 2.0 + rng.normal(0, 0.01, (20, 20))
    depth[5, 10] = 9.0  # one stray pixel: the median and the percentiles ignore it
    segments = [Segment(1001, 1, True, 0.9, (10, 5, 20, 20), 400),
                Segment(2002, 2, True, 0.8, (40, 30, 3, 3), 9),
                Segment(11000, 11, False, None, (0, 0, width, height), 1591)]
    result = result_of(panoptic, segments)
    k = Intrinsics(100.0, 100.0, 20.0, 15.0, width, height)
    grid = depth_grid(result, depth, k, 0.1, 20.0)
    boxes = thing_boxes(grid, result, min_points=10)
    assert [b.id for b in boxes] == [1001]  # 2002 has 9 points; stuff gets none
    box = boxes[0]
    assert (box.category_id, box.score, box.num_points) == (1, pytest.approx(0.9), 400)
    # pixel centres 10..29 and 5..24 around the principal point, at 2 m
    assert box.centre == pytest.approx(((19.5 - 20) * 0.02, (14.5 - 15) * 0.02, 2.0), abs=2e-3)
    assert box.size[0] == pytest.approx(0.9 * 19 * 0.02, abs=0.01)  # 5th..95th of 20 columns
    assert box.size[2] < 0.05  # the stray pixel at 9 m is outside the 95th percentile
    assert [b.id for b in thing_boxes(grid, result, min_points=5)] == [1001, 2002]


def test_thing_boxes_equal_the_statistics_of_all_points_with_the_things_label():
    """Searched within bounding boxes on a half-size depth image, sampled above BOX_SAMPLES."""
    rng = np.random.default_rng(1)
    height, width = 120, 160
    panoptic = np.full((height, width), 11000)
    segments = []
    for i, (top, left, h, w) in enumerate([(0, 0, 90, 150), (30, 20, 40, 30), (100, 140, 20, 20),
                                           (50, 100, 1, 60)]):  # big, middle, corner, one row
        panoptic[top:top + h, left:left + w] = 1001 + i
        segments.append(Segment(1001 + i, 1, True, 0.5, (left, top, w, h), 0))
    depth = (2.0 + rng.random((height // 2, width // 2))).astype(np.float32)
    depth[rng.random(depth.shape) < 0.1] = 0.0  # holes
    result = result_of(panoptic, segments)
    grid = depth_grid(result, depth, Intrinsics(150.0, 150.0, 80.0, 60.0, width, height), 0.1, 20.0)
    cloud = grid.cloud(RGB_OF_ID)
    levels = [BOX_PERCENTILES[0], 0.5, BOX_PERCENTILES[1]]
    boxes = {b.id: b for b in thing_boxes(grid, result, min_points=1)}
    assert set(boxes) == {1001, 1002, 1003}  # the one-row thing falls between depth rows
    for box in boxes.values():
        points = cloud.points[cloud.labels == box.id]
        assert box.num_points == len(points)
        low, centre, high = np.quantile(points, levels, axis=0)
        exact = len(points) <= BOX_SAMPLES
        footprint = 2 * 3.0 / 75  # two depth pixels at the farthest depth
        np.testing.assert_allclose(box.centre, centre, atol=1e-6 if exact else footprint)
        np.testing.assert_allclose(box.size, high - low, atol=1e-5 if exact else footprint)
    assert boxes[1001].num_points > BOX_SAMPLES  # the sampled case was tested
