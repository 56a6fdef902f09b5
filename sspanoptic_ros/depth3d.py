# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""3D panoptic geometry: a depth image and a panoptic result as labelled points and 3D boxes.

Conventions. Points are in the camera's optical frame (REP 103: x right, y down, z forward
along the optical axis), in metres. Pixel (u, v) is column u, row v, and K maps a point onto
the pixel whose centre has those integer coordinates (as in OpenCV and sensor_msgs/CameraInfo):
X = (u - cx) z / fx, Y = (v - cy) z / fy, Z = z. A depth value is valid when it is finite and
depth_min <= z <= depth_max with z > 0 (0, NaN and inf mean no return).

Registration. The depth image must be aligned to the colour image: the same size, or another
size of the same aspect ratio. Then the intrinsics are scaled to the depth image as image_proc's
resize does (fx, cx by the width ratio; fy, cy by the height ratio), and a depth pixel takes the
label of the colour pixel that contains its centre.

Tensors stay on the device of the panoptic result; no ROS imports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from .head.panoptic import ID_DIVISOR, PanopticResult

# Percentiles of a thing's points that bound its 3D box on each axis (robust to stray pixels).
BOX_PERCENTILES = (0.05, 0.95)
# Defaults of the depth that gives points (metres) and of the points a thing needs for a 3D box:
# the node's depth_min / depth_max / min_points_3d, sspanoptic-infer --depth-range, the demo.
DEPTH_RANGE = (0.1, 20.0)
MIN_POINTS = 20


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics of an image of ``width`` x ``height`` pixels, in pixels."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    @classmethod
    def from_k(cls, k, width: int, height: int) -> Intrinsics:
        """Intrinsics from a row-major 3x3 K (sensor_msgs/CameraInfo.k); ValueError if unusable."""
        k = [float(v) for v in k]
        fx, fy, cx, cy = k[0], k[4], k[2], k[5]
        if not (np.isfinite([fx, fy, cx, cy]).all() and fx > 0 and fy > 0):
            raise ValueError(f"camera_info K has no usable focal lengths (fx {fx}, fy {fy})")
        return cls(fx, fy, cx, cy, int(width), int(height))

    def registered(self, height: int, width: int) -> Intrinsics:
        """Return these intrinsics for an aligned image of ``height`` x ``width`` (ValueError: none).

        The same size, or the same aspect ratio (within one pixel of rounding): scaled.
        """
        if (height, width) == (self.height, self.width):
            return self
        if abs(width * self.height - height * self.width) >= max(width, self.width):
            raise ValueError(
                f"depth of {width}x{height} is not registered to the colour image of "
                f"{self.width}x{self.height}: neither the same size nor the same aspect ratio"
            )
        sx, sy = width / self.width, height / self.height
        return Intrinsics(self.fx * sx, self.fy * sy, self.cx * sx, self.cy * sy, width, height)


@dataclass(frozen=True)
class Cloud:
    """Labelled points of one frame (N valid depth pixels, in row-major pixel order).

    points: (N, 3) float32 metres, optical frame. labels: (N,) int64 panoptic ids.
    pixels: (N,) int64 flat index (row * width + column) of each point's colour pixel.
    """

    points: Tensor
    labels: Tensor
    pixels: Tensor


@dataclass(frozen=True)
class Box3D:
    """A thing segment in 3D: its panoptic id, class, score, point count, centre and size (m)."""

    id: int
    category_id: int
    score: float
    num_points: int
    centre: tuple[float, float, float]  # per-axis median of the points
    size: tuple[float, float, float]  # per-axis 5th..95th percentile span


def valid_depth(depth: Tensor, depth_min: float, depth_max: float) -> Tensor:
    """(H, W) bool: where ``depth`` (H, W) float metres is a return within the bounds."""
    return torch.isfinite(depth) & (depth > 0) & (depth >= depth_min) & (depth <= depth_max)


def back_project(depth: Tensor, k: Intrinsics, valid: Tensor, stride: int = 1) -> tuple[Tensor, Tensor]:
    """Points of the valid pixels of every ``stride``-th row and column.

    depth: (H, W) float metres; valid: (H, W) bool. Returns (N, 3) float32 points and their
    (N,) int64 flat pixel indices in the depth image, in row-major order.
    """
    height, width = depth.shape
    keep = torch.zeros_like(valid)
    keep[::stride, ::stride] = valid[::stride, ::stride]
    index = keep.flatten().nonzero().squeeze(1)
    z = depth.flatten()[index].float()
    u = (index % width).float()
    v = torch.div(index, width, rounding_mode="floor").float()
    points = torch.stack([(u - k.cx) * z / k.fx, (v - k.cy) * z / k.fy, z], dim=1)
    return points, index


def colour_pixels(index: Tensor, depth_size: tuple[int, int], colour_size: tuple[int, int]) -> Tensor:
    """Flat indices (N,) of the colour pixels holding the centres of depth pixels ``index`` (N,)."""
    (dh, dw), (ch, cw) = depth_size, colour_size
    if (dh, dw) == (ch, cw):
        return index
    row = torch.div(index, dw, rounding_mode="floor")
    col = index % dw
    crow = torch.div((2 * row + 1) * ch, 2 * dh, rounding_mode="floor")
    ccol = torch.div((2 * col + 1) * cw, 2 * dw, rounding_mode="floor")
    return crow * cw + ccol


def panoptic_cloud(
    result: PanopticResult, depth: np.ndarray, k: Intrinsics, depth_min: float, depth_max: float,
    stride: int = 1,
) -> Cloud:
    """Return the labelled cloud of ``result`` from an aligned ``depth`` (H', W') float32 metres.

    ``k``: the colour image's intrinsics (scaled here to the depth's size). ValueError when the
    depth is not registered to the colour image.
    """
    colour_size = tuple(result.panoptic.shape)
    k = k.registered(*depth.shape)
    depth_t = torch.from_numpy(np.ascontiguousarray(depth)).to(result.panoptic.device)
    points, index = back_project(depth_t, k, valid_depth(depth_t, depth_min, depth_max), stride)
    pixels = colour_pixels(index, depth.shape, colour_size)
    return Cloud(points, result.panoptic.flatten()[pixels].long(), pixels)


def thing_boxes(cloud: Cloud, result: PanopticResult, min_points: int) -> list[Box3D]:
    """One Box3D per thing segment of ``result`` with at least ``min_points`` points in ``cloud``."""
    boxes = []
    low, high = BOX_PERCENTILES
    levels = torch.tensor([low, 0.5, high], device=cloud.points.device)
    things = cloud.labels % ID_DIVISOR > 0  # instance > 0: the thing pixels, searched below
    labels, thing_points = cloud.labels[things], cloud.points[things]
    for segment in result.segments:
        if not segment.isthing:
            continue
        points = thing_points[labels == segment.id]
        if len(points) < max(min_points, 1):
            continue
        lo, centre, hi = torch.quantile(points, levels, dim=0).tolist()
        size = tuple(top - bottom for top, bottom in zip(hi, lo))
        boxes.append(Box3D(segment.id, segment.category_id, float(segment.score), len(points),
                           tuple(centre), size))
    return boxes
