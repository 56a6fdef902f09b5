# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Fixed-size, padded detections of a batch, as a TensorRT EfficientNMS plugin returns them."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torchvision.ops import clip_boxes_to_image

# Class value of the padding entries (they are ignored everywhere).
PADDING_CLASS = -1


@dataclass(frozen=True)
class Detections:
    """Detections of B images padded to K entries each; only the first ``num_valid[b]`` count.

    boxes: (B, K, 4) float xyxy in pixels.
    scores: (B, K) float.
    classes: (B, K) int64 semantic channel of each detection's class; padding holds -1.
    num_valid: (B,) int64 number of valid entries per image.
    """

    boxes: Tensor
    scores: Tensor
    classes: Tensor
    num_valid: Tensor

    def __post_init__(self):
        if self.boxes.ndim != 3 or self.boxes.shape[-1] != 4:
            raise ValueError(f"boxes must be (B, K, 4), got {tuple(self.boxes.shape)}")
        shape = self.boxes.shape[:2]
        for name in ("scores", "classes"):
            if getattr(self, name).shape != shape:
                raise ValueError(f"{name} must be {tuple(shape)}, got {tuple(getattr(self, name).shape)}")
        for name in ("classes", "num_valid"):
            if getattr(self, name).dtype != torch.int64:
                raise ValueError(f"{name} must be int64, got {getattr(self, name).dtype}")
        if self.num_valid.shape != shape[:1]:
            raise ValueError(f"num_valid must be ({shape[0]},), got {tuple(self.num_valid.shape)}")
        if bool(((self.num_valid < 0) | (self.num_valid > shape[1])).any()):
            raise ValueError(f"num_valid must lie in 0..{shape[1]}, got {self.num_valid.tolist()}")

    @classmethod
    def from_efficient_nms(
        cls, num_dets: Tensor, boxes: Tensor, scores: Tensor, classes: Tensor, thing_channels: list[int]
    ) -> Detections:
        """Wrap EfficientNMS outputs; its detector class k becomes semantic channel ``thing_channels[k]``.

        num_dets is (B, 1) or (B,); boxes (B, K, 4); scores and classes (B, K), any int/float dtype.
        """
        num_valid = num_dets.reshape(-1).long()
        classes = classes.long()
        valid = torch.arange(classes.shape[-1], device=classes.device) < num_valid[:, None]
        bad = valid & ((classes < 0) | (classes >= len(thing_channels)))
        if bool(bad.any()):
            raise ValueError(
                f"detector classes must lie in 0..{len(thing_channels) - 1}, "
                f"got {classes[bad].unique().tolist()}"
            )
        lut = torch.tensor(thing_channels, dtype=torch.int64, device=classes.device)
        channels = lut[classes.clamp(0, len(thing_channels) - 1)]
        return cls(
            boxes.float(),
            scores.float(),
            torch.where(valid, channels, PADDING_CLASS),
            num_valid,
        )

    def clipped(self, height: int, width: int) -> Detections:
        """Return the detections with boxes clipped to a ``height`` x ``width`` image."""
        return Detections(
            clip_boxes_to_image(self.boxes, (height, width)), self.scores, self.classes, self.num_valid
        )

    def scaled(self, sx: float, sy: float) -> Detections:
        """Return the detections with x coordinates multiplied by sx and y by sy."""
        factors = torch.tensor([sx, sy, sx, sy], dtype=self.boxes.dtype, device=self.boxes.device)
        return Detections(self.boxes * factors, self.scores, self.classes, self.num_valid)

    def valid(self, index: int) -> tuple[Tensor, Tensor, Tensor]:
        """Return (boxes (n, 4), scores (n,), classes (n,)) of the valid entries of image ``index``."""
        n = int(self.num_valid[index])
        return self.boxes[index, :n], self.scores[index, :n], self.classes[index, :n]
