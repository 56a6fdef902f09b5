# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The SSPS network: ResNet-FPN + semantic branch + RetinaNet head + optional centre branch.

``forward`` returns raw tensors only (no NMS, no data-dependent control flow) so that the
same module exports to ONNX and TensorRT. Decoding and the panoptic merge live in
``sspanoptic_ros.head``.
"""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor, nn
from torchvision.models.detection.retinanet import RetinaNetHead

from .anchors import Anchors
from .backbone import build_backbone
from .branches import DenseBranch
from .config import DENSE_STRIDE, FPN_LEVELS, ModelConfig
from .resize import pad_to_divisibility


class RawOutputs(NamedTuple):
    """Raw network outputs for a batch of B images of size H x W.

    semantic: (B, C, ceil(H/4), ceil(W/4)) logits over all categories, in list order.
    cls_logits: (B, N, K) detector logits over the K thing classes, for the N anchors.
    box_deltas: (B, N, 4) box regression, torchvision BoxCoder(1, 1, 1, 1) encoding.
    centers: (B, 2, ceil(H/4), ceil(W/4)) offsets (dx, dy) in input pixels from each
        pixel to its instance's box centre, or None without a centre branch.
    """

    semantic: Tensor
    cls_logits: Tensor
    box_deltas: Tensor
    centers: Tensor | None


class SSPSNetwork(nn.Module):
    """Single-Shot Panoptic Segmentation network (Weber, Luiten, Leibe, IROS 2020)."""

    def __init__(self, config: ModelConfig, download_weights: bool = False):
        super().__init__()
        self.config = config
        c = config.fpn_channels
        self.backbone = build_backbone(
            config.backbone,
            c,
            config.pretrained_backbone,
            download_weights,
            config.encoder_norm,
            config.encoder_group_norm_groups,
        )
        self.semantic_branch = DenseBranch(
            c, config.branch_channels, config.num_classes, config.group_norm_groups
        )
        self.detector = RetinaNetHead(c, config.num_anchors_per_location, config.num_thing_classes)
        self.center_branch = (
            DenseBranch(c, config.branch_channels, 2, config.group_norm_groups)
            if config.use_centers
            else None
        )
        self.anchors = Anchors(config)

    def forward(self, images: Tensor) -> RawOutputs:
        """Run on normalised images (B, 3, H, W); any H, W (padded inside to a multiple of 32)."""
        height, width = images.shape[-2:]
        features = list(self.backbone(pad_to_divisibility(images)).values())
        out_h, out_w = -(-height // DENSE_STRIDE), -(-width // DENSE_STRIDE)
        semantic = self.semantic_branch(features[:4])[..., :out_h, :out_w]
        detections = self.detector(features[FPN_LEVELS.index(self.config.detector_levels[0]):])
        centers = None
        if self.center_branch is not None:
            centers = self.center_branch(features[:4])[..., :out_h, :out_w]
        return RawOutputs(semantic, detections["cls_logits"], detections["bbox_regression"], centers)


def build_model(config: ModelConfig, download_weights: bool = False) -> SSPSNetwork:
    """Build an SSPS network from its config (ImageNet weights per ``pretrained_backbone``)."""
    return SSPSNetwork(config, download_weights)
