# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The network with TensorRT's EfficientNMS plugin at its end: decoding and NMS run inside the plan.

``NetworkWithNMS`` decodes every anchor's box in the graph and feeds the boxes and the raw class
logits to an ``EfficientNMS_TRT`` node (domain ``TRT``), which TensorRT's ONNX parser turns into
the plugin. ONNX Runtime cannot run that node; the graph before it can, and
``efficient_nms_reference`` computes what the plugin documents, so both are tested here.

The plugin differs from ``head.decode.decode_detections`` in three small ways: it keeps the 4096
best (anchor, class) pairs of the whole image instead of ``topk_candidates`` per level, it
suppresses at IoU >= threshold instead of >, and boxes are clipped to the padded input before NMS
(the engine clips them to the image afterwards).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import torch
from torch import Tensor, nn
from torchvision.ops import batched_nms, clip_boxes_to_image

from ..head.decode import DecodeParams, decode_boxes
from ..model import Anchors, SSPSNetwork

NMS_OUTPUT_NAMES = ("num_detections", "detection_boxes", "detection_scores", "detection_classes")
PLUGIN_OP = "EfficientNMS_TRT"
PLUGIN_DOMAIN = "TRT"
# EfficientNMS runs NMS on at most this many best-scoring (anchor, class) pairs per image.
PLUGIN_CANDIDATES = 4096
# Below this score threshold the plugin switches to a dense kernel that keeps low scores.
PLUGIN_MIN_THRESHOLD = 0.007


def nms_settings_json(decode: DecodeParams | None) -> str:
    """Return the NMS settings of a plan as stored in metadata; "" for no NMS in the plan."""
    if decode is None:
        return ""
    fields = asdict(decode)
    del fields["topk_candidates"]  # the plugin has no per-level top-k
    return json.dumps(fields, sort_keys=True)


def nms_settings_from_json(text: str) -> DecodeParams | None:
    """Inverse of ``nms_settings_json`` (ValueError for text that is not such settings)."""
    if not text:
        return None
    try:
        return DecodeParams(**json.loads(text))
    except (TypeError, ValueError) as e:
        raise ValueError(f"invalid NMS settings {text!r}: {e}") from None


def efficient_nms_reference(
    boxes: Tensor, logits: Tensor, score_threshold: float, iou_threshold: float, max_output_boxes: int
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Compute what EfficientNMS does (box_coding 0, score_activation 1, no background class).

    boxes: (B, N, 4) xyxy; logits: (B, N, K). Per image: (anchor, class) pairs with sigmoid score
    >= ``score_threshold``, the ``PLUGIN_CANDIDATES`` best, class-wise NMS, the ``max_output_boxes``
    best. Returns num_detections (B, 1) int32, detection_boxes (B, M, 4), detection_scores (B, M),
    detection_classes (B, M) int32, padded with zeros, M = ``max_output_boxes``.
    """
    batch, _, num_classes = logits.shape
    num = torch.zeros((batch, 1), dtype=torch.int32, device=boxes.device)
    out_boxes = torch.zeros((batch, max_output_boxes, 4), dtype=boxes.dtype, device=boxes.device)
    out_scores = torch.zeros((batch, max_output_boxes), dtype=logits.dtype, device=boxes.device)
    out_classes = torch.zeros((batch, max_output_boxes), dtype=torch.int32, device=boxes.device)
    for b in range(batch):
        scores = torch.sigmoid(logits[b]).flatten()
        candidates = torch.nonzero(scores >= score_threshold).squeeze(1)
        scores, order = scores[candidates].topk(min(PLUGIN_CANDIDATES, candidates.numel()))
        candidates = candidates[order]
        anchor, label = candidates // num_classes, candidates % num_classes
        keep = batched_nms(boxes[b, anchor], scores, label, iou_threshold)[:max_output_boxes]
        n = keep.numel()
        num[b, 0] = n
        out_boxes[b, :n] = boxes[b, anchor[keep]]
        out_scores[b, :n] = scores[keep]
        out_classes[b, :n] = label[keep].int()
    return num, out_boxes, out_scores, out_classes


class _EfficientNMS(torch.autograd.Function):
    """Exports as one ``TRT::EfficientNMS_TRT`` node; runs ``efficient_nms_reference`` in torch."""

    @staticmethod
    def forward(ctx, boxes, logits, score_threshold, iou_threshold, max_output_boxes):
        return efficient_nms_reference(boxes, logits, score_threshold, iou_threshold, max_output_boxes)

    @staticmethod
    def symbolic(g, boxes, logits, score_threshold, iou_threshold, max_output_boxes):
        outputs = g.op(
            f"{PLUGIN_DOMAIN}::{PLUGIN_OP}",
            boxes,
            logits,
            score_threshold_f=score_threshold,
            iou_threshold_f=iou_threshold,
            max_output_boxes_i=max_output_boxes,
            background_class_i=-1,
            score_activation_i=1,
            class_agnostic_i=0,
            box_coding_i=0,
            plugin_version_s="1",
            outputs=4,
        )
        # Declare the outputs' types and shapes (the exporter cannot infer a plugin's).
        batch = boxes.type().sizes()[0] if boxes.type().sizes() else None
        for output, dtype, shape in zip(outputs, (torch.int32, torch.float32, torch.float32, torch.int32), (
            [batch, 1], [batch, max_output_boxes, 4], [batch, max_output_boxes], [batch, max_output_boxes]
        )):
            output.setType(boxes.type().with_dtype(dtype).with_sizes(shape))
        return outputs


class NetworkWithNMS(nn.Module):
    """The network followed by box decoding and EfficientNMS with the settings of ``decode``.

    Returns (semantic, [centers,] num_detections, detection_boxes, detection_scores,
    detection_classes); boxes are in input pixels, classes are detector classes 0..K-1.
    """

    def __init__(self, model: SSPSNetwork, decode: DecodeParams):
        super().__init__()
        self.model = model
        self.decode = decode
        self.anchors = Anchors(model.config)

    def forward(self, images: Tensor) -> tuple[Tensor, ...]:
        """Run on normalised images (B, 3, H, W), H and W multiples of 128."""
        raw = self.model(images)
        height, width = images.shape[-2:]
        anchors = torch.cat(self.anchors.grid(height, width, images.device))
        boxes = clip_boxes_to_image(decode_boxes(raw.box_deltas.float(), anchors), (height, width))
        detections = _EfficientNMS.apply(
            boxes,
            raw.cls_logits.float(),
            self.decode.candidate_threshold,
            self.decode.nms_threshold,
            self.decode.max_detections,
        )
        dense = (raw.semantic,) if raw.centers is None else (raw.semantic, raw.centers)
        return dense + tuple(detections)


def pre_nms_graph(onnx_path: str | Path):
    """Return the part of an NMS graph that ONNX Runtime can run, as an ONNX ModelProto.

    Its outputs are the dense outputs, then ``boxes`` (B, N, 4) and ``logits`` (B, N, K): the
    plugin's inputs, to be finished by ``efficient_nms_reference``.
    """
    import onnx
    from onnx.utils import Extractor

    proto = onnx.shape_inference.infer_shapes(onnx.load(str(onnx_path)))  # Extractor needs value_info
    plugin = [n for n in proto.graph.node if n.op_type == PLUGIN_OP]
    if len(plugin) != 1:
        raise ValueError(f"{onnx_path} has {len(plugin)} {PLUGIN_OP} nodes, expected 1")
    dense = [o.name for o in proto.graph.output if o.name not in NMS_OUTPUT_NAMES]
    inputs = [i.name for i in proto.graph.input]
    sub = Extractor(proto).extract_model(inputs, dense + list(plugin[0].input))
    for name, new in zip(plugin[0].input, ("boxes", "logits")):
        for node in sub.graph.node:
            node.output[:] = [new if o == name else o for o in node.output]
            node.input[:] = [new if i == name else i for i in node.input]
        for output in sub.graph.output:
            if output.name == name:
                output.name = new
    return sub
