# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Colourised panoptic maps for display, in plain numpy (used by the node and the CLI tools)."""

from __future__ import annotations

import numpy as np

from sspanoptic_ros.categories import UNKNOWN_ID, Category
from sspanoptic_ros.head.result import ID_DIVISOR

# Brightness factors cycled over instance ids (id % 5). Consecutive ids differ by at least
# 0.25, so neighbouring instances of one class get visibly different shades of its colour;
# instance id 0 (stuff, or no instance) keeps the plain category colour.
INSTANCE_SHADES = np.array([1.0, 0.6, 0.85, 0.45, 0.7], np.float32)


def color_lut(
    categories: list[Category], void_color: tuple[int, int, int] = (0, 0, 0)
) -> np.ndarray:
    """Return a ``(max id + 1, 3) uint8`` table: row = dataset category id, row 0 = void."""
    lut = np.zeros((max(c.id for c in categories) + 1, 3), np.uint8)
    lut[UNKNOWN_ID] = void_color
    for c in categories:
        lut[c.id] = c.color
    return lut


def _check_id_map(name: str, id_map: np.ndarray, shape: tuple[int, ...] | None) -> None:
    if id_map.ndim != 2 or id_map.dtype.kind not in "iu":
        raise ValueError(f"{name} must be an HxW integer array, got {id_map.dtype} {id_map.shape}")
    if shape is not None and id_map.shape != shape:
        raise ValueError(f"{name} has shape {id_map.shape} but category_map has {shape}")


def colorize_panoptic(
    category_map: np.ndarray,
    instance_map: np.ndarray,
    colors_lut: np.ndarray,
    image: np.ndarray | None = None,
    alpha: float = 0.5,
) -> np.ndarray:
    """Return an RGB ``(H, W, 3) uint8`` picture of a panoptic map.

    Each pixel gets the colour ``colors_lut[category id]``, scaled by
    ``INSTANCE_SHADES[instance id % 5]``. With ``image`` (RGB uint8, same HxW) the result is
    ``alpha * colour + (1 - alpha) * image``, rounded to the nearest integer.
    """
    category_map = np.asarray(category_map)
    instance_map = np.asarray(instance_map)
    _check_id_map("category_map", category_map, None)
    _check_id_map("instance_map", instance_map, category_map.shape)
    if colors_lut.ndim != 2 or colors_lut.shape[1] != 3 or colors_lut.dtype != np.uint8:
        raise ValueError(
            f"colors_lut must be an (N, 3) uint8 array, got {colors_lut.dtype} {colors_lut.shape}"
        )
    if category_map.size and (category_map.min() < 0 or category_map.max() >= len(colors_lut)):
        raise ValueError(
            f"category ids span {category_map.min()}..{category_map.max()}, but colors_lut only"
            f" covers ids 0..{len(colors_lut) - 1}"
        )
    shades = INSTANCE_SHADES[instance_map % len(INSTANCE_SHADES)]
    colors = colors_lut[category_map] * shades[..., None]
    if image is not None:
        if image.shape != (*category_map.shape, 3) or image.dtype != np.uint8:
            raise ValueError(
                f"image must be an RGB uint8 array of shape {(*category_map.shape, 3)},"
                f" got {image.dtype} {image.shape}"
            )
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}")
        colors = alpha * colors + (1.0 - alpha) * image.astype(np.float32)
    return np.rint(colors).astype(np.uint8)


def panoptic_palette(lut: np.ndarray) -> np.ndarray:
    """(len(lut) * ID_DIVISOR, 3) uint8: the colour of every panoptic id, indexed by the id.

    The colours ``panoptic/colored`` shows (no blending): one lookup per pixel or point.
    """
    ids = np.arange(len(lut) * ID_DIVISOR)
    shades = INSTANCE_SHADES[ids % ID_DIVISOR % len(INSTANCE_SHADES)]
    return np.rint(lut[ids // ID_DIVISOR] * shades[:, None]).astype(np.uint8)


def pack_rgb(colours: np.ndarray) -> np.ndarray:
    """(N,) uint32 0x00RRGGBB of (N, 3) uint8 RGB ``colours`` (a PointCloud2's rgb field)."""
    colours = colours.astype(np.uint32)
    return (colours[:, 0] << 16) | (colours[:, 1] << 8) | colours[:, 2]
