# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The 3D part of ``make demo``: one synthetic RGB-D frame as a labelled cloud with 3D boxes.

The engine segments the frame; ``depth3d`` turns it and its depth into labelled points and
thing boxes (as the node does); the picture shows them from an oblique virtual camera (OpenCV
projection, far points drawn first), beside the frame's colour image.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import cv2
import numpy as np

from .data.synthetic_depth import render_rgbd
from .depth3d import DEPTH_RANGE, MIN_POINTS, Box3D, Intrinsics, depth_grid, thing_boxes
from .engine import Engine
from .visualization import color_lut, pack_rgb, panoptic_palette

VIEW_YAW, VIEW_PITCH = np.radians(35.0), np.radians(-25.0)  # the virtual camera's turn and tilt


def _view(points: np.ndarray, centre: np.ndarray, distance: float) -> np.ndarray:
    """Return (N, 3) points in the frame of a camera looking at ``centre`` from the side and above."""
    cy, sy, cp, sp = np.cos(VIEW_YAW), np.sin(VIEW_YAW), np.cos(VIEW_PITCH), np.sin(VIEW_PITCH)
    yaw = np.array([[cy, 0, -sy], [0, 1, 0], [sy, 0, cy]])
    pitch = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    return (points - centre) @ (pitch @ yaw).T + [0, 0, distance]


def render_cloud(points: np.ndarray, colours: np.ndarray, boxes: list[Box3D], box_colours: np.ndarray,
                 names: dict[int, str], size: tuple[int, int] = (480, 640)) -> np.ndarray:
    """Return an (H, W, 3) uint8 RGB picture of coloured (N, 3) points and their 3D boxes."""
    height, width = size
    # Looks at the things: their centres (all points without boxes), the points up to 2 m behind.
    centres = np.array([b.centre for b in boxes]) if boxes else points
    centre = np.median(centres, axis=0)
    near = points[:, 2] <= centres[:, 2].max() + 2.0
    points, colours = points[near], colours[near]
    distance = 1.5 * float(np.ptp(centres, axis=0).max()) + 2.5
    focal = 0.8 * width

    def project(p):
        v = _view(np.asarray(p, np.float64), centre, distance)
        z = np.maximum(v[:, 2], 1e-3)
        return np.stack([focal * v[:, 0] / z + width / 2, focal * v[:, 1] / z + height / 2], 1), v[:, 2]

    picture = np.full((height, width, 3), 255, np.uint8)
    uv, z = project(points)
    order = np.argsort(-z)  # far first: near points overwrite them
    u, v = np.rint(uv[order]).astype(int).T
    inside = (z[order] > 0.1) & (u >= 0) & (u < width - 1) & (v >= 0) & (v < height - 1)
    for du, dv in itertools.product((0, 1), repeat=2):  # 2x2 pixel dots
        picture[v[inside] + dv, u[inside] + du] = colours[order][inside]
    for box, colour in zip(boxes, box_colours):
        corners = np.array(list(itertools.product(*[(c - s / 2, c + s / 2)
                                                   for c, s in zip(box.centre, box.size)])))
        corner_uv, _ = project(corners)
        colour = tuple(int(c) for c in colour)
        for a, b in itertools.combinations(range(8), 2):
            if bin(a ^ b).count("1") == 1:  # corners differing in one axis: an edge
                cv2.line(picture, tuple(np.rint(corner_uv[a]).astype(int)),
                         tuple(np.rint(corner_uv[b]).astype(int)), colour, 2, cv2.LINE_AA)
        top = tuple(np.rint(corner_uv.min(axis=0)).astype(int))
        cv2.putText(picture, f"{names[box.category_id]} {box.id} z={box.centre[2]:.2f} m", top,
                    cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return picture


def demo_3d(engine: Engine, out: Path, seed: int = 4, size: tuple[int, int] = (256, 384)) -> Path:
    """Segment synthetic RGB-D frame ``seed``; save its colour image beside the 3D picture."""
    frame = render_rgbd(seed, *size)
    result = engine.infer(frame.rgb)
    grid = depth_grid(result, frame.depth, Intrinsics(*frame.k, size[1], size[0]), *DEPTH_RANGE)
    palette = panoptic_palette(color_lut(engine.config.categories))
    cloud, boxes = grid.cloud(pack_rgb(palette)), thing_boxes(grid, result, MIN_POINTS)
    names = {c.id: c.name for c in engine.config.categories}
    picture = render_cloud(cloud.points, palette[cloud.labels], boxes,
                           palette[[b.id for b in boxes]], names)
    scale = picture.shape[0] / size[0]
    rgb = cv2.resize(frame.rgb, (round(size[1] * scale), picture.shape[0]))
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), cv2.cvtColor(np.concatenate([rgb, picture], axis=1), cv2.COLOR_RGB2BGR))
    return out
