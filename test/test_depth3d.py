# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""3D geometry (sspanoptic_ros.depth3d): back-projection, registration, labels and thing boxes."""

import numpy as np
import pytest
import torch

from sspanoptic_ros.depth3d import (
    Intrinsics,
    back_project,
    colour_pixels,
    panoptic_cloud,
    thing_boxes,
    valid_depth,
)
from sspanoptic_ros.head.panoptic import PanopticResult, Segment

K = Intrinsics(fx=100.0, fy=120.0, cx=2.0, cy=1.5, width=4, height=3)


def result_of(panoptic: np.ndarray, segments: list[Segment]) -> PanopticResult:
    panoptic = torch.from_numpy(panoptic.astype(np.int32))
    return PanopticResult(panoptic // 1000, panoptic % 1000, panoptic, segments)


def test_back_projection_follows_the_pinhole_model_for_valid_pixels_only():
    depth = torch.tensor([[1.0, 2.0, 0.0, 4.0],
                          [float("nan"), 0.05, 3.0, float("inf")],
                          [2.5, 30.0, 1.5, 1.0]])
    valid = valid_depth(depth, 0.1, 20.0)
    assert valid.tolist() == [[True, True, False, True], [False, False, True, False],
                              [True, False, True, True]]
    points, index = back_project(depth, K, valid)
    assert index.tolist() == [0, 1, 3, 6, 8, 10, 11]
    for (x, y, z), i in zip(points.tolist(), index.tolist()):
        v, u = divmod(i, 4)
        z_true = depth.flatten()[i].item()
        assert z == pytest.approx(z_true)
        assert x == pytest.approx((u - K.cx) * z_true / K.fx)
        assert y == pytest.approx((v - K.cy) * z_true / K.fy)
    strided, strided_index = back_project(depth, K, valid, stride=2)
    assert strided_index.tolist() == [0, 8, 10]  # rows 0, 2 and columns 0, 2, valid
    torch.testing.assert_close(strided, points[[0, 4, 5]])


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
    index = torch.arange(6)  # a 2x3 depth image over a 4x6 colour image
    assert colour_pixels(index, (2, 3), (4, 6)).tolist() == [7, 9, 11, 19, 21, 23]
    panoptic = np.arange(24).reshape(4, 6) + 1000
    cloud = panoptic_cloud(result_of(panoptic, []), np.full((2, 3), 2.0, np.float32),
                           Intrinsics(10.0, 10.0, 3.0, 2.0, 6, 4), 0.1, 20.0)
    assert cloud.labels.tolist() == [1007, 1009, 1011, 1019, 1021, 1023]
    # x of depth column 0 with the halved intrinsics: (0 - 1.5) * 2 / 5
    assert cloud.points[0].tolist() == pytest.approx([-0.6, -0.4, 2.0])


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
    cloud = panoptic_cloud(result, depth, k, 0.1, 20.0)
    boxes = thing_boxes(cloud, result, min_points=10)
    assert [b.id for b in boxes] == [1001]  # 2002 has 9 points; stuff gets none
    box = boxes[0]
    assert (box.category_id, box.score, box.num_points) == (1, pytest.approx(0.9), 400)
    # pixel centres 10..29 and 5..24 around the principal point, at 2 m
    assert box.centre == pytest.approx(((19.5 - 20) * 0.02, (14.5 - 15) * 0.02, 2.0), abs=2e-3)
    assert box.size[0] == pytest.approx(0.9 * 19 * 0.02, abs=0.01)  # 5th..95th of 20 columns
    assert box.size[2] < 0.05  # the stray pixel at 9 m is outside the 95th percentile
    assert [b.id for b in thing_boxes(cloud, result, min_points=5)] == [1001, 2002]
