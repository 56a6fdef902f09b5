# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Resize, flip and batch ``(image, PanopticTarget)`` samples.

Every transform takes and returns ``(image, target)``: geometry is applied to the image
and to the label maps, then boxes and centre offsets are re-derived from the instance
map by :func:`make_target`, so they always agree with the pixels.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from sspanoptic_ros.data.coco import IGNORE_INDEX, PanopticTarget, make_target
from sspanoptic_ros.model.resize import resize_images, resized_size


def _resize_nearest(labels: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize a label map by picking the source pixel under each output pixel's centre."""
    rows = ((np.arange(height) + 0.5) * labels.shape[0] / height).astype(np.int64)
    cols = ((np.arange(width) + 0.5) * labels.shape[1] / width).astype(np.int64)
    return labels[rows[:, None], cols[None, :]]


def resize(
    image: np.ndarray,
    target: PanopticTarget,
    short_side: int = 576,
    max_long_side: int = 864,
) -> tuple[np.ndarray, PanopticTarget]:
    """Scale so the short side is ``short_side`` and the long side at most ``max_long_side``.

    Size and interpolation are those of inference (``model.resized_size``, sides rounded to a
    multiple of 4, and ``model.resize_images``, bilinear, antialiased); label maps go nearest.
    """
    if short_side <= 0 or max_long_side <= 0:
        raise ValueError(f"sizes must be positive, got {short_side} and {max_long_side}")
    height, width = image.shape[:2]
    new_height, new_width = resized_size(height, width, short_side, max_long_side)
    pixels = torch.tensor(image, dtype=torch.float32).permute(2, 0, 1)[None]
    pixels = resize_images(pixels, (new_height, new_width))[0].permute(1, 2, 0)
    image = pixels.round().clamp(0, 255).to(torch.uint8).numpy()
    box_scale = np.array([new_width / width, new_height / height] * 2, dtype=np.float32)
    return image, make_target(
        semantic=_resize_nearest(target.semantic, new_height, new_width),
        instance=_resize_nearest(target.instance, new_height, new_width),
        labels=target.labels,
        crowd_boxes=target.crowd_boxes * box_scale,
        image_id=target.image_id,
    )


def hflip(image: np.ndarray, target: PanopticTarget) -> tuple[np.ndarray, PanopticTarget]:
    """Mirror left-right; boxes, maps and the dx offsets follow."""
    width = image.shape[1]
    crowd = target.crowd_boxes.copy()
    crowd[:, [0, 2]] = width - target.crowd_boxes[:, [2, 0]]
    return np.ascontiguousarray(image[:, ::-1]), make_target(
        semantic=target.semantic[:, ::-1],
        instance=target.instance[:, ::-1],
        labels=target.labels,
        crowd_boxes=crowd,
        image_id=target.image_id,
    )


class TrainTransform:
    """Paper training augmentation: :func:`resize`, then :func:`hflip` with ``flip_prob``.

    Flips draw from ``generator``, or from torch's global generator when None (which a
    DataLoader seeds per worker, so runs are reproducible under ``torch.manual_seed``).
    """

    def __init__(
        self,
        short_side: int = 576,
        max_long_side: int = 864,
        flip_prob: float = 0.5,
        generator: torch.Generator | None = None,
    ):
        if not 0.0 <= flip_prob <= 1.0:
            raise ValueError(f"flip_prob must be in [0, 1], got {flip_prob}")
        self.short_side, self.max_long_side = short_side, max_long_side
        self.flip_prob = flip_prob
        self.generator = generator

    def __call__(
        self, image: np.ndarray, target: PanopticTarget
    ) -> tuple[np.ndarray, PanopticTarget]:
        """Resize, then flip with probability ``flip_prob``."""
        image, target = resize(image, target, self.short_side, self.max_long_side)
        if torch.rand((), generator=self.generator).item() < self.flip_prob:
            image, target = hflip(image, target)
        return image, target


def collate(
    batch: list[tuple[np.ndarray, PanopticTarget]], size_divisibility: int = 0
) -> dict:
    """Stack samples into tensors padded at the bottom/right to a common size.

    The size is rounded up to a multiple of ``size_divisibility`` when it is > 0. Padding:
    image 0, ``semantic`` IGNORE_INDEX, ``center_offsets`` 0, ``center_mask`` False.

    Returns:
        A dict with ``images`` (B, 3, H, W) uint8 RGB, ``semantic`` (B, H, W) int64,
        ``center_offsets`` (B, 2, H, W) float32, ``center_mask`` (B, H, W) bool, the
        per-image lists ``boxes``, ``labels``, ``crowd_boxes`` (tensors), and
        ``image_sizes`` ((h, w) before padding) and ``image_ids``.

    """
    if not batch:
        raise ValueError("cannot collate an empty batch")
    if size_divisibility < 0:
        raise ValueError(f"size_divisibility must be >= 0, got {size_divisibility}")
    sizes = [image.shape[:2] for image, _ in batch]
    height, width = max(h for h, _ in sizes), max(w for _, w in sizes)
    if size_divisibility > 0:
        height = math.ceil(height / size_divisibility) * size_divisibility
        width = math.ceil(width / size_divisibility) * size_divisibility
    n = len(batch)
    images = torch.zeros((n, 3, height, width), dtype=torch.uint8)
    semantic = torch.full((n, height, width), IGNORE_INDEX, dtype=torch.int64)
    offsets = torch.zeros((n, 2, height, width), dtype=torch.float32)
    center_mask = torch.zeros((n, height, width), dtype=torch.bool)
    for i, (image, target) in enumerate(batch):
        h, w = image.shape[:2]
        images[i, :, :h, :w] = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)
        semantic[i, :h, :w] = torch.from_numpy(target.semantic)
        offsets[i, :, :h, :w] = torch.from_numpy(target.center_offsets)
        center_mask[i, :h, :w] = torch.from_numpy(target.center_mask)
    return {
        "images": images,
        "semantic": semantic,
        "center_offsets": offsets,
        "center_mask": center_mask,
        "boxes": [torch.from_numpy(t.boxes) for _, t in batch],
        "labels": [torch.from_numpy(t.labels) for _, t in batch],
        "crowd_boxes": [torch.from_numpy(t.crowd_boxes) for _, t in batch],
        "image_sizes": [tuple(size) for size in sizes],
        "image_ids": [t.image_id for _, t in batch],
    }
