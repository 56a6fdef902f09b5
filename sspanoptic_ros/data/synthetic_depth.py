# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Depth with known geometry for the synthetic world: RGB-D frames with 3D ground truth.

The pictures of ``synthetic`` become an aligned RGB-D camera with intrinsics ``camera_k``
(fx = fy = FOCAL * width, principal point at the image centre), in the optical frame, metres:

- sky: no return (0);
- wall: a plane facing the camera at WALL_DEPTH;
- grass and road: the ground plane Y + z (cy - v_h) / fy = CAMERA_HEIGHT of a camera pitched so
  that its horizon is row v_h (just above the topmost ground pixel): z = fy * CAMERA_HEIGHT /
  (v - v_h), at most GROUND_MAX;
- thing k (segment id THING_ID_BASE + k): a flat plate facing the camera at ``thing_depth(k)``;
  things painted later (on top) are nearer, so depth agrees with occlusion.

A thing's true centre is the per-axis median of its visible pixels back-projected at its depth:
the centre of the part of the plate the camera sees.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from sspanoptic_ros.data.synthetic import SYNTHETIC_CATEGORIES, THING_ID_BASE, render_scene, render_sequence

FOCAL = 0.9  # focal length in image widths
CAMERA_HEIGHT = 1.5  # metres above the ground
WALL_DEPTH = 12.0
GROUND_MAX = 30.0
THING_NEAREST, THING_FARTHEST = 1.5, 6.0  # metres
_THING_STEP = 0.8  # thing k is at THING_NEAREST + span * _THING_STEP ** k
_NAMES = {c.id: c.name for c in SYNTHETIC_CATEGORIES}


@dataclass(frozen=True)
class RGBDFrame:
    """One synthetic RGB-D frame and its ground truth.

    rgb: (H, W, 3) uint8; ids: (H, W) int32 segment ids; segments_info: COCO segments;
    depth: (H, W) float32 metres, 0 = no return; k: (fx, fy, cx, cy) in pixels;
    centres: thing segment id -> true (x, y, z) centre in metres.
    """

    rgb: np.ndarray
    ids: np.ndarray
    segments_info: list[dict]
    depth: np.ndarray
    k: tuple[float, float, float, float]
    centres: dict[int, tuple[float, float, float]]


def camera_k(height: int, width: int) -> tuple[float, float, float, float]:
    """Return the (fx, fy, cx, cy) of the synthetic camera at ``height`` x ``width``."""
    focal = FOCAL * width
    return focal, focal, (width - 1) / 2, (height - 1) / 2


def thing_depth(index: int) -> float:
    """Return the distance (m) of thing ``index`` (segment id THING_ID_BASE + index)."""
    return THING_NEAREST + (THING_FARTHEST - THING_NEAREST) * _THING_STEP ** index


def render_depth(
    ids: np.ndarray, segments_info: list[dict], k: tuple[float, float, float, float]
) -> tuple[np.ndarray, dict[int, tuple[float, float, float]]]:
    """Return the (H, W) float32 depth of a rendered frame and its things' true centres."""
    fx, fy, cx, cy = k
    depth = np.zeros(ids.shape, np.float32)
    rows = np.arange(ids.shape[0], dtype=np.float64)[:, None] + np.zeros(ids.shape)
    centres = {}
    ground = np.zeros(ids.shape, bool)
    for segment in segments_info:
        mask = ids == segment["id"]
        name = _NAMES[segment["category_id"]]
        if segment["id"] >= THING_ID_BASE:
            z = thing_depth(segment["id"] - THING_ID_BASE)
            depth[mask] = z
            v, u = np.nonzero(mask)
            centres[segment["id"]] = ((np.median(u) - cx) * z / fx, (np.median(v) - cy) * z / fy, z)
        elif name == "wall":
            depth[mask] = WALL_DEPTH
        elif name in ("grass", "road"):
            ground |= mask
    if ground.any():
        horizon = np.nonzero(ground.any(axis=1))[0][0] - 0.5
        depth[ground] = np.minimum(fy * CAMERA_HEIGHT / (rows[ground] - horizon), GROUND_MAX)
    return depth, centres


def render_rgbd(seed: int | tuple[int, ...], height: int = 256, width: int = 384) -> RGBDFrame:
    """Render scene ``seed`` (``synthetic.render_scene``) as an RGB-D frame with ground truth."""
    rgb, ids, segments_info = render_scene(seed, height, width)
    k = camera_k(height, width)
    depth, centres = render_depth(ids, segments_info, k)
    return RGBDFrame(rgb, ids, segments_info, depth, k, centres)


def render_rgbd_sequence(
    num_frames: int, size: tuple[int, int] = (256, 384), seed: int | tuple[int, ...] = 0
) -> Iterator[RGBDFrame]:
    """Yield the frames of ``synthetic.render_sequence`` as RGB-D frames with ground truth.

    The camera pans and zooms over the same world; each thing keeps its distance.
    """
    k = camera_k(*size)
    for rgb, ids, segments_info in render_sequence(num_frames, size, seed):
        depth, centres = render_depth(ids, segments_info, k)
        yield RGBDFrame(rgb, ids, segments_info, depth, k, centres)
