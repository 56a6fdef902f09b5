# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Depth images and labelled point clouds on disk: read aligned depth, write PLY.

Depth files: 16-bit PNG in millimetres (0 = no return), 32-bit float TIFF or ``.npy`` in
metres. Point clouds: binary little-endian PLY with x y z (float, metres), red green blue
(uchar) and label (uint, the panoptic id category * 1000 + instance), which MeshLab, Open3D
and CloudCompare open.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

DEPTH_SUFFIXES = (".png", ".tif", ".tiff", ".npy")
_PLY_VERTEX = np.dtype([("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("red", "u1"), ("green", "u1"),
                        ("blue", "u1"), ("label", "<u4")])


def find_depth(folder: Path, stem: str) -> Path:
    """Return the depth file of image ``stem`` in ``folder``; FileNotFoundError if there is none."""
    for suffix in DEPTH_SUFFIXES:
        if (path := Path(folder) / f"{stem}{suffix}").is_file():
            return path
    raise FileNotFoundError(f"no depth file {stem}{{{','.join(DEPTH_SUFFIXES)}}} in {folder}")


def read_depth(path: Path) -> np.ndarray:
    """Return the (H, W) float32 metres of a depth file; ValueError if it is not one."""
    path = Path(path)
    depth = np.load(path) if path.suffix == ".npy" else cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if depth is None or depth.ndim != 2 or depth.dtype not in (np.uint16, np.float32, np.float64):
        what = "unreadable" if depth is None else f"{depth.dtype} {depth.shape}"
        raise ValueError(f"{path}: not a depth image (16-bit mm or float metres, HxW): {what}")
    return depth.astype(np.float32) * (np.float32(0.001) if depth.dtype == np.uint16 else 1)


def depth_mm(depth: np.ndarray) -> np.ndarray:
    """Return (H, W) metres as uint16 millimetres (0 = no return, also beyond 65.535 m)."""
    mm = np.rint(np.nan_to_num(depth, nan=0.0, posinf=0.0) * 1000.0)
    return np.where((mm > 0) & (mm <= 65535), mm, 0).astype(np.uint16)


def write_depth_png(path: Path, depth: np.ndarray) -> None:
    """Write (H, W) metres as a 16-bit PNG of millimetres."""
    if not cv2.imwrite(str(path), depth_mm(depth)):
        raise OSError(f"cannot write {path}")


def write_ply(path: Path, points: np.ndarray, colours: np.ndarray, labels: np.ndarray) -> None:
    """Write (N, 3) metres, (N, 3) uint8 RGB and (N,) panoptic ids as a binary PLY."""
    vertices = np.empty(len(points), _PLY_VERTEX)
    for axis, name in enumerate("xyz"):
        vertices[name] = points[:, axis]
    for channel, name in enumerate(("red", "green", "blue")):
        vertices[name] = colours[:, channel]
    vertices["label"] = labels
    properties = "".join(
        f"property {'float' if kind == 'f' else 'uchar' if size == 1 else 'uint'} {name}\n"
        for name, (kind, size) in ((n, (_PLY_VERTEX[n].kind, _PLY_VERTEX[n].itemsize))
                                   for n in _PLY_VERTEX.names)
    )
    header = f"ply\nformat binary_little_endian 1.0\nelement vertex {len(points)}\n{properties}end_header\n"
    with open(path, "wb") as file:
        file.write(header.encode("ascii"))
        file.write(vertices.tobytes())
