# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""RetinaNet post-processing: raw detector outputs to padded, NMS-ed ``Detections``.

Follows torchvision's ``RetinaNet.postprocess_detections``, batched and padded to a fixed
``max_detections`` like the TensorRT EfficientNMS plugin, so that both paths give the same type.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torchvision.models.detection._utils import BoxCoder
from torchvision.ops import batched_nms, clip_boxes_to_image

from ..setting_fields import check_setting_values, setting
from .detections import PADDING_CLASS, Detections

_BOX_CODER = BoxCoder(weights=(1.0, 1.0, 1.0, 1.0))


@dataclass(frozen=True)
class DecodeParams:
    """Detector post-processing parameters (see ``decode_detections``)."""

    candidate_threshold: float = 0.05
    topk_candidates: int = 1000
    nms_threshold: float = setting(
        0.5,
        "IoU above which non-maximum suppression removes the lower-scoring of two same-class "
        "detections (must be > 0).",
        range=(0.0, 1.0),
    )
    # At most 999: instance numbers must stay below the panoptic id divisor (1000).
    max_detections: int = setting(100, "Detections kept per image after NMS.", range=(1, 999))

    def __post_init__(self):
        check_setting_values(self)
        if not 0.0 <= self.candidate_threshold < 1.0 or not 0.0 < self.nms_threshold <= 1.0:
            raise ValueError(
                "need 0 <= candidate_threshold < 1 and 0 < nms_threshold <= 1, "
                f"got {self.candidate_threshold} and {self.nms_threshold}"
            )
        if self.topk_candidates < 1:
            raise ValueError("topk_candidates must be >= 1")


def decode_boxes(deltas: Tensor, anchors: Tensor) -> Tensor:
    """Boxes (..., N, 4) xyxy from box regression ``deltas`` (..., N, 4) relative to ``anchors`` (N, 4)."""
    flat = _BOX_CODER.decode_single(deltas.reshape(-1, 4), anchors.expand_as(deltas).reshape(-1, 4))
    return flat.reshape(deltas.shape)


def decode_detections(
    cls_logits: Tensor,
    box_deltas: Tensor,
    anchors: Tensor,
    anchors_per_level: list[int],
    image_size: tuple[int, int],
    thing_channels: list[int],
    params: DecodeParams = DecodeParams(),
) -> Detections:
    """Decode, clip and NMS the detector outputs of a batch.

    cls_logits: (B, N, K) logits over the K thing classes; box_deltas: (B, N, 4);
    anchors: (N, 4) xyxy, levels concatenated with ``anchors_per_level`` anchors each;
    image_size: (height, width) the boxes are clipped to. Per level, the (anchor, class)
    pairs with sigmoid score > ``params.candidate_threshold`` are kept, at most
    ``params.topk_candidates`` of them; then class-wise NMS at IoU ``params.nms_threshold`` and the
    ``params.max_detections`` best remain. Boxes and scores come back as float32, sorted by
    decreasing score.
    """
    _check_inputs(cls_logits, box_deltas, anchors, anchors_per_level, image_size, thing_channels)
    batch, device, max_detections = cls_logits.shape[0], cls_logits.device, params.max_detections
    out_boxes = torch.zeros((batch, max_detections, 4), device=device)
    out_scores = torch.zeros((batch, max_detections), device=device)
    out_classes = torch.full((batch, max_detections), PADDING_CLASS, device=device)
    num_valid = torch.zeros(batch, dtype=torch.int64, device=device)
    channel_of_class = torch.tensor(thing_channels, dtype=torch.int64, device=device)
    levels = list(zip(
        cls_logits.float().split(anchors_per_level, dim=1),
        box_deltas.float().split(anchors_per_level, dim=1),
        anchors.float().split(anchors_per_level),
    ))
    for b in range(batch):
        boxes, scores, labels = [], [], []
        for logits, deltas, level_anchors in levels:
            level_scores, anchor, label = best_pairs(
                logits[b], params.candidate_threshold, params.topk_candidates
            )
            boxes.append(decode_boxes(deltas[b, anchor], level_anchors[anchor]))
            scores.append(level_scores)
            labels.append(label)
        boxes = clip_boxes_to_image(torch.cat(boxes), image_size)
        scores, labels = torch.cat(scores), torch.cat(labels)
        keep = batched_nms(boxes, scores, labels, params.nms_threshold)[:max_detections]
        n = keep.numel()
        out_boxes[b, :n] = boxes[keep]
        out_scores[b, :n] = scores[keep]
        out_classes[b, :n] = channel_of_class[labels[keep]]
        num_valid[b] = n
    return Detections(out_boxes, out_scores, out_classes, num_valid)


def best_pairs(
    logits: Tensor, threshold: float, k: int, keep_equal: bool = False
) -> tuple[Tensor, Tensor, Tensor]:
    """Return (scores, anchors, classes) of the ``k`` best (anchor, class) pairs of ``logits`` (N, K).

    Only pairs whose sigmoid score exceeds ``threshold`` (or equals it, with ``keep_equal``) count;
    the pairs come sorted by decreasing score.
    """
    scores = torch.sigmoid(logits).flatten()
    passing = scores >= threshold if keep_equal else scores > threshold
    candidates = torch.nonzero(passing).squeeze(1)
    scores, order = scores[candidates].topk(min(k, candidates.numel()))
    candidates = candidates[order]
    num_classes = logits.shape[-1]
    return scores, torch.div(candidates, num_classes, rounding_mode="floor"), candidates % num_classes


def _check_inputs(
    cls_logits: Tensor,
    box_deltas: Tensor,
    anchors: Tensor,
    anchors_per_level: list[int],
    image_size: tuple[int, int],
    thing_channels: list[int],
) -> None:
    """Raise ValueError naming the first inconsistent shape or value."""
    if cls_logits.ndim != 3:
        raise ValueError(f"cls_logits must be (B, N, K), got {tuple(cls_logits.shape)}")
    batch, num_anchors, num_classes = cls_logits.shape
    if box_deltas.shape != (batch, num_anchors, 4):
        raise ValueError(
            f"box_deltas must be {(batch, num_anchors, 4)}, got {tuple(box_deltas.shape)}"
        )
    if anchors.shape != (num_anchors, 4):
        raise ValueError(f"anchors must be {(num_anchors, 4)}, got {tuple(anchors.shape)}")
    if not anchors_per_level or min(anchors_per_level) < 0 or sum(anchors_per_level) != num_anchors:
        raise ValueError(
            f"anchors_per_level {list(anchors_per_level)} must be >= 0 and sum to {num_anchors}"
        )
    if len(thing_channels) != num_classes:
        raise ValueError(
            f"{len(thing_channels)} thing channels given for {num_classes} detector classes"
        )
    if len(image_size) != 2 or min(image_size) < 1:
        raise ValueError(f"image_size must be (height, width) > 0, got {image_size}")
