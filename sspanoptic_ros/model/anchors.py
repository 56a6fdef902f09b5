# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""RetinaNet anchors for p3..p7, computed once per input size and cached.

Anchors are not part of the exported network: every backend (torch, ONNX Runtime, TensorRT)
decodes detections with the same anchors made here from the model config.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchvision.models.detection.anchor_utils import AnchorGenerator

from .config import ModelConfig

# The detector uses p3..p7 as in RetinaNet (the paper's figure also draws p2; p2 anchors
# would add 4x the anchors of p3 for small objects at a large cost, so they are left out).
DETECTOR_STRIDES = (8, 16, 32, 64, 128)


class Anchors:
    """Callable giving (anchors (N, 4) xyxy, anchors_per_level) for a padded input size."""

    def __init__(self, config: ModelConfig):
        sizes = tuple(tuple(s * scale for scale in config.anchor_scales) for s in config.anchor_sizes)
        ratios = (tuple(config.anchor_ratios),) * len(sizes)
        self._generator = AnchorGenerator(sizes, ratios)
        self._cache: dict[tuple, tuple[Tensor, list[int]]] = {}

    def __call__(
        self, height: int, width: int, device: torch.device | str = "cpu"
    ) -> tuple[Tensor, list[int]]:
        """Anchors for a network input of ``height`` x ``width`` (multiples of 128)."""
        key = (height, width, str(device))
        if key not in self._cache:
            grid_sizes = [(-(-height // s), -(-width // s)) for s in DETECTOR_STRIDES]
            strides = [
                [torch.tensor(s, device=device), torch.tensor(s, device=device)] for s in DETECTOR_STRIDES
            ]
            self._generator.set_cell_anchors(torch.float32, torch.device(device))
            per_level = self._generator.grid_anchors(grid_sizes, strides)
            self._cache[key] = (torch.cat(per_level), [len(a) for a in per_level])
        return self._cache[key]
