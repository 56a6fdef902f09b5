# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""RetinaNet anchors for the detector levels (p3..p7 or p2..p7), computed once per input size and cached.

Anchors are not part of the plain exported network: the torch and ONNX Runtime backends decode
detections with the anchors made here from the model config. A TensorRT plan with EfficientNMS
computes the same anchors in its graph (``grid``, which traces with a dynamic input size).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchvision.models.detection.anchor_utils import AnchorGenerator

from .config import ModelConfig


class Anchors:
    """Callable giving (anchors (N, 4) xyxy, anchors_per_level) for a padded input size.

    The anchors are torchvision's ``AnchorGenerator`` anchors: per level, each grid cell (row-major)
    holds the level's cell anchors shifted to the cell's top-left corner.
    """

    def __init__(self, config: ModelConfig):
        sizes = tuple(tuple(s * scale for scale in config.anchor_scales) for s in config.anchor_sizes)
        ratios = (tuple(config.anchor_ratios),) * len(sizes)
        self.cell_anchors: list[Tensor] = AnchorGenerator(sizes, ratios).cell_anchors
        self.strides = config.detector_strides
        self._cache: dict[tuple, tuple[Tensor, list[int]]] = {}

    def grid(
        self, height: int | Tensor, width: int | Tensor, device: torch.device | str = "cpu"
    ) -> list[Tensor]:
        """Anchors of each level (n_level, 4) for an input of ``height`` x ``width`` (multiples of 32)."""
        levels = []
        for stride, cell in zip(self.strides, self.cell_anchors):
            xs = torch.arange(0, width, stride, dtype=torch.float32, device=device)
            ys = torch.arange(0, height, stride, dtype=torch.float32, device=device)
            shift_y, shift_x = torch.meshgrid(ys, xs, indexing="ij")
            shift_x, shift_y = shift_x.reshape(-1), shift_y.reshape(-1)
            shifts = torch.stack((shift_x, shift_y, shift_x, shift_y), dim=1)
            levels.append((shifts[:, None, :] + cell.to(device)[None, :, :]).reshape(-1, 4))
        return levels

    def __call__(
        self, height: int, width: int, device: torch.device | str = "cpu"
    ) -> tuple[Tensor, list[int]]:
        """Anchors for a network input of ``height`` x ``width`` (multiples of 32), cached."""
        key = (height, width, str(device))
        if key not in self._cache:
            levels = self.grid(height, width, device)
            self._cache[key] = (torch.cat(levels), [len(a) for a in levels])
        return self._cache[key]
