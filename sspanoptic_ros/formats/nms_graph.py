# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The network with TensorRT's EfficientNMS plugin at its end: decoding and NMS run inside the plan.

``NetworkWithNMS`` decodes every anchor's box in the graph and feeds the boxes and the raw class
logits to an ``EfficientNMS_TRT`` node (domain ``TRT``), which TensorRT's ONNX parser turns into
the plugin. ONNX Runtime cannot run that node; the graph before it can (``pre_nms_graph``), and
``head.efficient_nms.efficient_nms_reference`` computes what the plugin does. Boxes are clipped
to the padded input before NMS (the engine clips them to the image afterwards).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import torch
from torch import Tensor, nn
from torchvision.ops import clip_boxes_to_image

from ..head.decode import DecodeParams, decode_boxes
from ..head.efficient_nms import NMS_OUTPUT_NAMES, efficient_nms_reference
from ..model import SSPSNetwork

PLUGIN_OP = "EfficientNMS_TRT"
PLUGIN_DOMAIN = "TRT"


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

    def forward(self, images: Tensor) -> tuple[Tensor, ...]:
        """Run on normalised images (B, 3, H, W), H and W multiples of 32."""
        raw = self.model(images)
        height, width = images.shape[-2:]
        anchors = torch.cat(self.model.anchors.grid(height, width, images.device))
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
