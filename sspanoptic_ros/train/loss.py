# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The SSPS training loss: lambda_o (focal + smooth L1) + lambda_s CE + lambda_i L1.

Detection follows RetinaNet as Lin et al. set it up, which the paper follows ("We follow the
proposed hyper-parameters by Lin et al."): sigmoid focal loss with alpha 0.25 and gamma 2
(torchvision's RetinaNet classification head, whose logits start at the prior 0.01), anchors
matched at IoU >= 0.5 and background below 0.4, and smooth L1 box regression with beta 0.11 (the
``RETINANET.BBOX_REG_BETA`` of Detectron, Lin et al.'s code; torchvision would use 1.0), each
image's losses normalised by its number of foreground anchors. Anchors inside crowd regions
are ignored. The semantic
cross-entropy and the centre L1 are computed at input resolution on the bilinearly upsampled
1/4-resolution outputs. Every term is a mean over images of a per-image loss, so a batch split
over several DistributedDataParallel processes gives the same gradients as one process.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torch.nn import functional as F
from torchvision.models.detection._utils import Matcher, _box_loss
from torchvision.ops import box_iou

from ..model import RawOutputs, SSPSNetwork
from ..model.config import DENSE_STRIDE

IGNORE_INDEX = 255
# RetinaNet's training settings as Lin et al. use them (Detectron's RETINANET config).
FOREGROUND_IOU, BACKGROUND_IOU = 0.5, 0.4
SMOOTH_L1_BETA = 0.11


@dataclass(frozen=True)
class LossWeights:
    """Weights of the three task losses: lambda_o, lambda_s, lambda_i of the paper (Table III)."""

    detection: float = 0.5
    semantic: float = 0.5
    center: float = 0.01


def match_anchors(anchors: Tensor, boxes: Tensor, crowd_boxes: Tensor) -> Tensor:
    """RetinaNet anchor assignment: index of the matched box, -1 background, -2 ignored.

    IoU >= 0.5 is foreground, < 0.4 background, in between ignored, and each box keeps its best
    anchors (low-quality matches). Background anchors whose area lies mostly (> 50%) inside a
    crowd box are ignored too.
    """
    if boxes.numel():
        matcher = Matcher(FOREGROUND_IOU, BACKGROUND_IOU, allow_low_quality_matches=True)
        matched = matcher(box_iou(boxes, anchors))
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


def box_regression_loss(
    model: SSPSNetwork, boxes: list[Tensor], box_deltas: Tensor, anchors: Tensor, matched: list[Tensor]
) -> Tensor:
    """Smooth L1 (beta ``SMOOTH_L1_BETA``) of the foreground anchors' box deltas.

    Per image: the sum over its foreground anchors divided by their number (at least 1), as
    torchvision's RetinaNet normalises it; then the mean over images.
    """
    losses = []
    for image_boxes, deltas, image_matched in zip(boxes, box_deltas, matched):
        foreground = torch.where(image_matched >= 0)[0]
        loss = _box_loss("smooth_l1", model.detector.regression_head.box_coder, anchors[foreground],
                         image_boxes[image_matched[foreground]], deltas[foreground], {"beta": SMOOTH_L1_BETA})
        losses.append(loss / max(1, foreground.numel()))
    return torch.stack(losses).mean()


def _per_image_mean(values: Tensor, mask: Tensor) -> Tensor:
    """Mean over images of the mean of ``values`` (B, H, W) where ``mask``; empty images count 0."""
    per_image = (values * mask).flatten(1).sum(1) / mask.flatten(1).sum(1).clamp(min=1)
    return per_image.mean()


def ssps_loss(
    model: SSPSNetwork, outputs: RawOutputs, batch: dict, weights: LossWeights
) -> dict[str, Tensor]:
    """All loss terms of a batch and their weighted sum under ``"total"``.

    ``batch`` is what ``data.transforms.collate`` returns, padded to a multiple of 32, with
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
    head_outputs = {"cls_logits": outputs.cls_logits}
    focal = model.detector.classification_head.compute_loss(targets, head_outputs, matched)
    box = box_regression_loss(model, [t["boxes"] for t in targets], outputs.box_deltas, anchors, matched)

    semantic = F.interpolate(
        outputs.semantic, scale_factor=DENSE_STRIDE, mode="bilinear", align_corners=False
    )
    target = batch["semantic"].to(device)
    cross_entropy = F.cross_entropy(
        semantic[..., :height, :width], target, ignore_index=IGNORE_INDEX, reduction="none"
    )
    losses = {
        "focal": focal,
        "box": box,
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
