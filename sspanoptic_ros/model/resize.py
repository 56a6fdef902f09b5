# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""How images are resized for the network, in training and inference alike."""

from __future__ import annotations

from torch import Tensor
from torch.nn import functional as F

from .config import DENSE_STRIDE, SIZE_DIVISIBILITY


def resized_size(height: int, width: int, short_side: int, max_long_side: int) -> tuple[int, int]:
    """Size an image is resized to, in training and inference alike.

    The shorter side becomes ``short_side`` and the longer at most ``max_long_side``, aspect kept;
    both sides are rounded to a multiple of the dense stride (4), so the 1/4-resolution outputs
    cover the resized image exactly (aspect error below half a stride).
    """
    scale = min(short_side / min(height, width), max_long_side / max(height, width))
    return (
        max(DENSE_STRIDE, round(height * scale / DENSE_STRIDE) * DENSE_STRIDE),
        max(DENSE_STRIDE, round(width * scale / DENSE_STRIDE) * DENSE_STRIDE),
    )


def resize_images(images: Tensor, size: tuple[int, int]) -> Tensor:
    """Resize float images (B, C, H, W) to ``size`` as training and inference do (bilinear, antialiased)."""
    if tuple(images.shape[-2:]) == tuple(size):
        return images
    return F.interpolate(images, size=size, mode="bilinear", align_corners=False, antialias=True)


def padded_size(height: int, width: int, divisibility: int = SIZE_DIVISIBILITY) -> tuple[int, int]:
    """Network input size of a ``height`` x ``width`` image: padded to a multiple of ``divisibility``.

    ``divisibility`` is ``SIZE_DIVISIBILITY`` (32) except for model files exported for 128.
    """
    return -(-height // divisibility) * divisibility, -(-width // divisibility) * divisibility


def pad_to_divisibility(images: Tensor, divisibility: int = SIZE_DIVISIBILITY) -> Tensor:
    """Zero-pad images (..., H, W) at the bottom and right to ``padded_size``."""
    height, width = images.shape[-2:]
    padded_h, padded_w = padded_size(height, width, divisibility)
    return F.pad(images, (0, padded_w - width, 0, padded_h - height))
