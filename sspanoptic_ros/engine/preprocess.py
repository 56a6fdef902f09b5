# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Image checks and pre-processing as torch ops on the engine's device."""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import Tensor

from ..model.config import SIZE_DIVISIBILITY, ModelConfig
from ..model.resize import pad_to_divisibility, resize_images, resized_size

# 8K UHD; larger camera images are refused before anything proportional to them is allocated.
DEFAULT_MAX_PIXELS = 7680 * 4320


class ImageError(ValueError):
    """An input image the engine cannot process (wrong shape, dtype or size)."""


def check_image(image: np.ndarray | Tensor, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[int, int]:
    """Validate an H x W x 3 uint8 image and return (H, W)."""
    shape = tuple(image.shape)
    if len(shape) != 3 or shape[2] != 3:
        hint = " (grey image: replicate it to 3 channels)" if len(shape) == 2 or shape[-1] == 1 else ""
        hint = " (drop the alpha channel)" if len(shape) == 3 and shape[2] == 4 else hint
        raise ImageError(f"expected an H x W x 3 image, got shape {shape}{hint}")
    if image.dtype not in (np.uint8, torch.uint8):
        raise ImageError(f"expected a uint8 image, got dtype {image.dtype}")
    height, width = shape[:2]
    if height == 0 or width == 0:
        raise ImageError(f"image has zero size: {height} x {width}")
    if height * width > max_pixels:
        raise ImageError(f"image of {height} x {width} pixels exceeds the maximum of {max_pixels} pixels")
    return height, width


def network_input_size(height: int, width: int, config: ModelConfig) -> tuple[int, int]:
    """Size an image is resized to for ``config``: see ``model.resized_size``."""
    return resized_size(height, width, config.min_size, config.max_size)


def preprocess(
    image: Tensor,
    size: tuple[int, int],
    config: ModelConfig,
    dtype=torch.float32,
    divisibility: int = SIZE_DIVISIBILITY,
) -> Tensor:
    """Turn an H x W x 3 uint8 RGB tensor into a normalised, padded (1, 3, h', w') network input.

    The image is resized to ``size`` (``resize_images``), normalised with the config's mean/std
    and zero-padded (the mean colour) to a multiple of ``divisibility`` (``pad_to_divisibility``).
    """
    x = resize_images(image.permute(2, 0, 1).unsqueeze(0).float(), size)
    mean = torch.tensor(config.pixel_mean, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(config.pixel_std, device=x.device).view(1, 3, 1, 1)
    return pad_to_divisibility((x - mean) / std, divisibility).to(dtype)


class ImageUpload:
    """Moves H x W x 3 uint8 images (numpy arrays or tensors) to a device as RGB tensors.

    CPU images bound for CUDA go through one reused pinned buffer (asynchronous copy).
    """

    def __init__(self, device: torch.device):
        self.device = device
        self._pinned: Tensor | None = None

    def __call__(self, image: np.ndarray | Tensor, channel_order: str = "rgb") -> Tensor:
        """Return the image on the device, flipped to RGB if its ``channel_order`` is ``bgr``."""
        if isinstance(image, np.ndarray):
            with warnings.catch_warnings():  # read-only views (zero-copy ROS images) are never written to
                warnings.simplefilter("ignore", UserWarning)
                image = torch.from_numpy(np.ascontiguousarray(image))
        if self.device.type == "cuda" and image.device.type == "cpu":
            if self._pinned is None or self._pinned.shape != image.shape:
                self._pinned = torch.empty(image.shape, dtype=torch.uint8, pin_memory=True)
            self._pinned.copy_(image)
            image = self._pinned.to(self.device, non_blocking=True)
        image = image.to(self.device)
        return image.flip(-1) if channel_order == "bgr" else image
