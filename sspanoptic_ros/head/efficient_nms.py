# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""What TensorRT's EfficientNMS plugin computes, in torch, and the names of its outputs.

The plugin (``EfficientNMS_TRT``, TensorRT's ``plugin/efficientNMSPlugin``) differs from
``decode.decode_detections`` in small ways: it keeps the 4096 best (anchor, class) pairs of the
whole image instead of ``topk_candidates`` per level, and it suppresses at IoU >= threshold
instead of >. ``efficient_nms_reference`` follows the plugin; the ONNX Runtime backend uses it to
run graphs made for TensorRT, and the tests use it as the plugin's stand-in.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torchvision.ops import batched_nms

from .decode import best_pairs

NMS_OUTPUT_NAMES = ("num_detections", "detection_boxes", "detection_scores", "detection_classes")
# EfficientNMS runs NMS on at most this many best-scoring (anchor, class) pairs per image.
PLUGIN_CANDIDATES = 4096
# Below this score threshold the plugin switches to a dense kernel that keeps low scores.
PLUGIN_MIN_THRESHOLD = 0.007


def efficient_nms_reference(
    boxes: Tensor, logits: Tensor, score_threshold: float, iou_threshold: float, max_output_boxes: int
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Compute what EfficientNMS does (box_coding 0, score_activation 1, no background class).

    boxes: (B, N, 4) xyxy; logits: (B, N, K). Per image: (anchor, class) pairs with sigmoid score
    >= ``score_threshold``, the ``PLUGIN_CANDIDATES`` best, class-wise NMS suppressing at IoU >=
    ``iou_threshold``, the ``max_output_boxes`` best. Returns num_detections (B, 1) int32,
    detection_boxes (B, M, 4), detection_scores (B, M), detection_classes (B, M) int32, padded
    with zeros, M = ``max_output_boxes``.
    """
    batch = logits.shape[0]
    num = torch.zeros((batch, 1), dtype=torch.int32, device=boxes.device)
    out_boxes = torch.zeros((batch, max_output_boxes, 4), dtype=boxes.dtype, device=boxes.device)
    out_scores = torch.zeros((batch, max_output_boxes), dtype=logits.dtype, device=boxes.device)
    out_classes = torch.zeros((batch, max_output_boxes), dtype=torch.int32, device=boxes.device)
    for b in range(batch):
        scores, anchor, label = best_pairs(logits[b], score_threshold, PLUGIN_CANDIDATES, keep_equal=True)
        # The plugin suppresses at IoU >= threshold, torchvision at IoU > threshold.
        at_or_above = math.nextafter(iou_threshold, -math.inf)
        keep = batched_nms(boxes[b, anchor], scores, label, at_or_above)[:max_output_boxes]
        n = keep.numel()
        num[b, 0] = n
        out_boxes[b, :n] = boxes[b, anchor[keep]]
        out_scores[b, :n] = scores[keep]
        out_classes[b, :n] = label[keep].int()
    return num, out_boxes, out_scores, out_classes
