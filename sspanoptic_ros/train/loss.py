# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The SSPS training loss: lambda_o (focal + smooth L1) + lambda_s CE + lambda_i L1.

Detection uses torchvision's RetinaNet loss (sigmoid focal loss, box regression normalised by
the number of foreground anchors); anchors inside crowd regions are ignored. The semantic
cross-entropy and the centre L1 are computed at input resolution on the bilinearly upsampled
1/4-resolution outputs. Every term is a mean over images of a per-image loss, so a batch split
over several DistributedDataParallel processes gives the same gradients as one process.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torch.nn import functional as F
from torchvision.models.detection._utils import Matcher
from torchvision.ops import box_iou

from ..model import RawOutputs, SSPSNetwork
from ..model.config import DENSE_STRIDE

IGNORE_INDEX = 255


@dataclass(frozen=True)
class LossWeights:
    """Weights of the three task losses (lambda_o, lambda_s, lambda_i in the paper)."""

    detection: float = 1.0
    semantic: float = 1.0
    center: float = 0.1


def match_anchors(anchors: Tensor, boxes: Tensor, crowd_boxes: Tensor) -> Tensor:
    """RetinaNet anchor assignment: index of the matched box, -1 background, -2 ignored.

    IoU >= 0.5 is foreground, < 0.4 background, in between ignored, and each box keeps its best
    anchors (low-quality matches). Background anchors whose area lies mostly (> 50%) inside a
    crowd box are ignored too.
    """
    if boxes.numel():
        matched = Matcher(0.5, 0.4, allow_low_quality_matches=True)(box_iou(boxes, anchors))
    else:
        matched = torch.full((anchors.shape[0],), Matcher.BELOW_LOW_THRESHOLD, device=anchors.device)
    if crowd_boxes.numel():
        top_left = torch.maximum(anchors[:, None, :2], crowd_boxes[None, :, :2])
        bottom_right = torch.minimum(anchors[:, None, 2:], crowd_boxes[None, :, 2:])
        inter = (bottom_right - top_left).clamp(min=0).prod(-1)
        area = (anchors[:, 2:] - anchors[:, :2]).prod(-1)
        in_crowd = (inter / area[:, None]).amax(1) > 0.5
        matched = torch.where(in_crowd & (matched < 0), Matcher.BETWEEN_THRESHOLDS, matched)
    return matched


def _per_image_mean(values: Tensor, mask: Tensor) -> Tensor:
    """Mean over images of the mean of ``values`` (B, H, W) where ``mask``; empty images count 0."""
    per_image = (values * mask).flatten(1).sum(1) / mask.flatten(1).sum(1).clamp(min=1)
    return per_image.mean()


def ssps_loss(
    model: SSPSNetwork, outputs: RawOutputs, batch: dict, weights: LossWeights
) -> dict[str, Tensor]:
    """All loss terms of a batch and their weighted sum under ``"total"``.

    ``batch`` is what ``data.transforms.collate`` returns, padded to a multiple of 128, with
    ``labels`` given as semantic channels (converted here to detector classes).
    """
    height, width = batch["semantic"].shape[-2:]
    device = outputs.semantic.device
    anchors, _ = model.anchors(height, width, device)
    thing_index = torch.full((model.config.num_classes,), -1, dtype=torch.int64, device=device)
    thing_index[[i for i, c in enumerate(model.config.categories) if c.isthing]] = torch.arange(
        model.config.num_thing_classes, device=device
    )
    targets, matched = [], []
    for boxes, labels, crowd in zip(batch["boxes"], batch["labels"], batch["crowd_boxes"]):
        boxes, crowd = boxes.to(device), crowd.to(device)
        targets.append({"boxes": boxes, "labels": thing_index[labels.to(device)]})
        matched.append(match_anchors(anchors, boxes, crowd))
    head_outputs = {"cls_logits": outputs.cls_logits, "bbox_regression": outputs.box_deltas}
    detection = model.detector.compute_loss(targets, head_outputs, [anchors] * len(targets), matched)

    semantic = F.interpolate(
        outputs.semantic, scale_factor=DENSE_STRIDE, mode="bilinear", align_corners=False
    )
    target = batch["semantic"].to(device)
    cross_entropy = F.cross_entropy(
        semantic[..., :height, :width], target, ignore_index=IGNORE_INDEX, reduction="none"
    )
    losses = {
        "focal": detection["classification"],
        "box": detection["bbox_regression"],
        "semantic": _per_image_mean(cross_entropy, target != IGNORE_INDEX),
    }
    total = weights.detection * (losses["focal"] + losses["box"]) + weights.semantic * losses["semantic"]
    if outputs.centers is not None:
        centers = F.interpolate(
            outputs.centers, scale_factor=DENSE_STRIDE, mode="bilinear", align_corners=False
        )
        error = (centers[..., :height, :width] - batch["center_offsets"].to(device)).abs().sum(1)
        losses["center"] = _per_image_mean(error, batch["center_mask"].to(device)) / 2  # mean over dx and dy
        total = total + weights.center * losses["center"]
    losses["total"] = total
    return losses
