# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Depth decoding, the depth topic list and the 3D messages (ros.depth_input, ros.outputs_3d)."""

import numpy as np
import pytest
from builtin_interfaces.msg import Time
from sensor_msgs.msg import Image
from sensor_msgs_py import point_cloud2
from std_msgs.msg import Header

from sspanoptic_ros.data.synthetic import SYNTHETIC_CATEGORIES
from sspanoptic_ros.depth3d import Box3D, Cloud
from sspanoptic_ros.ros.depth_input import DepthError, depth_to_metres, depth_topic_list
from sspanoptic_ros.ros.outputs_3d import cloud_message, markers_message
from sspanoptic_ros.ros.vision import detections_3d_message
from sspanoptic_ros.visualization import color_lut, colorize_panoptic, pack_rgb, panoptic_palette

pytestmark = pytest.mark.ros  # runs on Kilted and Jazzy (setup.cfg)

HEADER = Header(stamp=Time(sec=3, nanosec=4), frame_id="camera_optical")


def depth_msg(values: np.ndarray, encoding: str, padding: int = 0, bigendian: bool = False) -> Image:
    rows = values.astype(values.dtype.newbyteorder(">" if bigendian else "<")).view(np.uint8)
    rows = np.pad(rows.reshape(values.shape[0], -1), ((0, 0), (0, padding)), constant_values=7)
    msg = Image(height=values.shape[0], width=values.shape[1], encoding=encoding,
                is_bigendian=int(bigendian), step=rows.shape[1])
    msg.data = rows.tobytes()
    return msg


def test_millimetres_and_metres_decode_to_metres_in_either_byte_order_with_padded_rows():
    mm = np.array([[0, 1500, 65535], [250, 1, 4000]], np.uint16)
    for bigendian in (False, True):
        metres = depth_to_metres(depth_msg(mm, "16UC1", padding=2, bigendian=bigendian))
        assert metres.dtype == np.float32
        np.testing.assert_allclose(metres, mm / 1000.0, rtol=1e-6)
    floats = np.array([[np.nan, 2.5], [np.inf, 0.0]], np.float32)
    np.testing.assert_array_equal(depth_to_metres(depth_msg(floats, "32FC1", bigendian=True)), floats)


@pytest.mark.parametrize("change, problem", [
    ({"encoding": "mono16"}, "unsupported depth encoding 'mono16'; supported: 16UC1, 32FC1"),
    ({"step": 3}, "step 3 is smaller than width * bytes per pixel = 3 * 2 = 6"),
    ({"step": 8}, "depth image data has 12 bytes, fewer than height * step = 2 * 8 = 16"),
    ({"height": 0}, "empty depth image"),
    ({"height": 70000, "width": 70000, "step": 140000}, "exceeds max_image_pixels = 1000000"),
])
def test_undecodable_depth_is_refused_with_the_reason(change, problem):
    msg = depth_msg(np.ones((2, 3), np.uint16), "16UC1")
    for key, value in change.items():
        setattr(msg, key, value)
    with pytest.raises(DepthError, match=problem.replace("*", r"\*")):
        depth_to_metres(msg, max_pixels=10**6)


def test_depth_topics_are_none_or_one_per_camera():
    assert depth_topic_list([""], ["a/image", "b/image"]) == ["", ""]
    assert depth_topic_list(["a/depth", ""], ["a/image", "b/image"]) == ["a/depth", ""]
    with pytest.raises(ValueError, match="one entry per input topic"):
        depth_topic_list(["a/depth"], ["a/image", "b/image"])
    with pytest.raises(Exception, match="topic name"):
        depth_topic_list(["bad topic"], ["a/image"])


def test_cloud_packs_xyz_colour_and_label_for_rviz():
    points = np.array([[0.5, -1.0, 2.0], [1.0, 0.25, 3.5]], np.float32)
    rgb = pack_rgb(np.array([[255, 128, 1], [0, 0, 0]], np.uint8))
    labels = np.array([1007, 14000], np.uint32)
    rows = np.concatenate([points, rgb.view(np.float32)[:, None], labels.view(np.float32)[:, None]], 1)
    msg = cloud_message(Cloud(rows), HEADER)
    assert msg.header == HEADER and (msg.height, msg.width) == (1, 2)
    read = point_cloud2.read_points(msg)
    np.testing.assert_array_equal(np.stack([read[a] for a in "xyz"], 1), points)
    assert read["rgb"].view(np.uint32).tolist() == [0xFF8001, 0]
    assert read["label"].tolist() == [1007, 14000]


def test_detections_and_markers_follow_the_boxes():
    boxes = [Box3D(1007, 1, 0.75, 40, (0.1, 0.2, 2.0), (0.3, 0.4, 0.0))]
    detections = detections_3d_message(boxes, HEADER).detections
    assert [d.id for d in detections] == ["1007"]
    assert detections[0].bbox.center.position.z == 2.0 and detections[0].bbox.size.y == 0.4
    assert detections[0].results[0].hypothesis.class_id == "1"
    markers = markers_message(boxes, np.array([[255, 0, 0]]), {1: "disc"}, HEADER).markers
    assert [m.action for m in markers] == [3, 0, 0] and markers[2].text == "disc 1007"
    assert markers[1].scale.z == pytest.approx(1e-3)  # a flat thing still shows
    assert markers[2].pose.position.y < 0.2 - 0.2  # the label sits above the box (y down)


def test_point_colours_are_the_colours_of_the_panoptic_picture():
    lut = color_lut(SYNTHETIC_CATEGORIES)
    ids = np.random.default_rng(0).choice([0, 1001, 1002, 2003, 3004, 3005, 11000, 14000, 14999], 200)
    expected = colorize_panoptic((ids // 1000)[None], (ids % 1000)[None], lut)[0]
    np.testing.assert_array_equal(panoptic_palette(lut)[ids], expected)
    packed = pack_rgb(expected)
    np.testing.assert_array_equal(np.stack([packed >> 16, packed >> 8 & 255, packed & 255], 1), expected)
