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

The grid is computed on the device of the panoptic result; the cloud (in the layout of a
PointCloud2) and the box statistics come back to the host as numpy. No ROS imports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from .head.result import PanopticResult

# Percentiles of a thing's points that bound its 3D box on each axis (robust to stray pixels).
BOX_PERCENTILES = (0.05, 0.95)
# Points of a thing that its box statistics use at most: spread over it, they estimate the
# percentiles to well under a pixel's footprint, and the cost per thing stays bounded.
BOX_SAMPLES = 2048
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
    """Labelled, coloured points of one frame (N valid depth pixels, in row-major pixel order).

    rows: (N, 5) float32 on the host: x, y, z (metres, optical frame), then the bits of the
    point's uint32 colour 0x00RRGGBB and of its panoptic id: the layout of a PointCloud2 with
    the fields x y z rgb label, so that packing it for ROS is one copy.
    """

    rows: np.ndarray

    @property
    def points(self) -> np.ndarray:
        """(N, 3) float32 x, y, z (a view)."""
        return self.rows[:, :3]

    @property
    def rgb(self) -> np.ndarray:
        """(N,) uint32 0x00RRGGBB (a view)."""
        return self.rows[:, 3].view(np.uint32)

    @property
    def labels(self) -> np.ndarray:
        """(N,) uint32 panoptic ids (a view)."""
        return self.rows[:, 4].view(np.uint32)


@dataclass(frozen=True)
class DepthGrid:
    """Every ``stride``-th depth pixel of a frame, back-projected and labelled (H', W' of them).

    points: (H', W', 3) float32 metres, meaningless where not ``valid`` (H', W') bool.
    labels: (H', W') int32 panoptic id of the colour pixel holding each depth pixel's centre.
    rows: (H',) and cols: (W',) int64, that colour pixel's row and column (non-decreasing).
    num_points: how many are valid.
    """

    points: Tensor
    valid: Tensor
    labels: Tensor
    rows: Tensor
    cols: Tensor
    num_points: int

    def cloud(self, rgb_of_id: np.ndarray) -> Cloud:
        """Return the valid points with their labels and colours ``rgb_of_id[label]``.

        ``rgb_of_id``: (M,) uint32 0x00RRGGBB of every panoptic id below M.
        """
        points, labels = self.points.reshape(-1, 3), self.labels.reshape(-1)
        rows = torch.empty(self.num_points, 5, device=points.device)
        if self.num_points == len(labels):  # a dense depth camera's common case: no gather
            rows[:, :3] = points
        else:  # nonzero + index_select: faster than a boolean mask on the CPU
            index = self.valid.flatten().nonzero().squeeze(1)
            torch.index_select(points, 0, index, out=rows[:, :3])
            labels = labels.index_select(0, index)
        # Columns 3 and 4 hold bits, not values: float32 views of the uint32 colour and label.
        colours = torch.from_numpy(rgb_of_id.view(np.float32)).to(points.device)
        torch.index_select(colours, 0, labels, out=rows[:, 3])
        rows[:, 4] = labels.view(torch.float32)
        return Cloud(rows.cpu().numpy())


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
    low = max(depth_min, float(np.finfo(np.float32).tiny))  # 0 is no return
    high = min(depth_max, float(np.finfo(np.float32).max))  # inf is no return; NaN fails both
    return (depth >= low) & (depth <= high)


def registered_pixels(size: int, colour_size: int, stride: int, device) -> Tensor:
    """Colour rows (or columns) holding the centres of every ``stride``-th depth row (or column).

    ``size`` depth rows span ``colour_size`` colour rows; returns (ceil(size / stride),) int64.
    """
    index = torch.arange(0, size, stride, device=device)
    return torch.div((2 * index + 1) * colour_size, 2 * size, rounding_mode="floor")


def depth_grid(
    result: PanopticResult, depth: np.ndarray, k: Intrinsics, depth_min: float, depth_max: float,
    stride: int = 1,
) -> DepthGrid:
    """Back-project every ``stride``-th pixel of an aligned ``depth`` (H', W') float32 metres.

    ``k``: the colour image's intrinsics (scaled here to the depth's size). ValueError when the
    depth is not registered to the colour image.
    """
    (height, width), (colour_height, colour_width) = depth.shape, result.panoptic.shape
    k = k.registered(height, width)
    device = result.panoptic.device
    z = torch.from_numpy(np.ascontiguousarray(depth[::stride, ::stride])).to(device)
    rows = registered_pixels(height, colour_height, stride, device)
    cols = registered_pixels(width, colour_width, stride, device)
    ray_x = (torch.arange(0, width, stride, device=device, dtype=torch.float32) - k.cx) / k.fx
    ray_y = (torch.arange(0, height, stride, device=device, dtype=torch.float32) - k.cy) / k.fy
    points = torch.stack([z * ray_x, z * ray_y[:, None], z], dim=2)
    if (height, width) == (colour_height, colour_width):
        labels = result.panoptic[::stride, ::stride]
    else:
        labels = result.panoptic.index_select(0, rows).index_select(1, cols)
    valid = valid_depth(z, depth_min, depth_max)
    return DepthGrid(points, valid, labels.int(), rows, cols, int(valid.sum()))


def axis_quantiles(points: np.ndarray, levels: tuple[float, ...]) -> np.ndarray:
    """(L, D) quantiles ``levels`` of (N, D) ``points`` per axis, as ``np.quantile`` (linear).

    A partial sort around the L * 2 ranks needed, instead of ``np.quantile``'s general path.
    """
    last = len(points) - 1
    position = np.asarray(levels) * last
    below = np.floor(position).astype(np.int64)
    above = np.minimum(below + 1, last)
    ranked = np.partition(points.T, [*below, *above], axis=1)  # (D, N)
    weight = (position - below)[:, None]
    return ranked[:, below].T * (1 - weight) + ranked[:, above].T * weight


def thing_boxes(grid: DepthGrid, result: PanopticResult, min_points: int) -> list[Box3D]:
    """One Box3D per thing segment of ``result`` with at least ``min_points`` points in ``grid``.

    Each segment is searched within its bounding box only, on the host (a few small steps per
    segment: cheaper there than as device kernels). Its centre and size come from at most
    ``BOX_SAMPLES`` of its points: every k-th in row-major order (all of them for smaller things).
    """
    things = [segment for segment in result.segments if segment.isthing]
    if not things:
        return []
    points, labels, valid, rows, cols = (
        t.cpu().numpy() for t in (grid.points, grid.labels, grid.valid, grid.rows, grid.cols))
    labels = np.where(valid, labels, 0)  # 0 is no segment's id
    width, flat_points = labels.shape[1], points.reshape(-1, 3)
    x, y, w, h = np.array([segment.bbox for segment in things]).T
    first_row, end_row = np.searchsorted(rows, y), np.searchsorted(rows, y + h)
    first_col, end_col = np.searchsorted(cols, x), np.searchsorted(cols, x + w)
    levels = (BOX_PERCENTILES[0], 0.5, BOX_PERCENTILES[1])
    boxes = []
    for i, segment in enumerate(things):
        window = (slice(first_row[i], end_row[i]), slice(first_col[i], end_col[i]))
        found = np.flatnonzero(labels[window] == segment.id)  # row-major within the window
        if len(found) < max(min_points, 1):
            continue
        every = -(-len(found) // BOX_SAMPLES)  # ceil: at most BOX_SAMPLES points, spread evenly
        row, col = np.divmod(found[::every], end_col[i] - first_col[i])
        sample = np.take(flat_points, (row + first_row[i]) * width + col + first_col[i], axis=0)
        low, centre, high = axis_quantiles(sample, levels).tolist()
        boxes.append(Box3D(segment.id, segment.category_id, float(segment.score), len(found),
                           tuple(centre), tuple(top - bottom for top, bottom in zip(high, low))))
    return boxes
