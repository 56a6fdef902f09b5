# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Network backends: each runs the raw network on a padded, normalised batch.

A backend is a callable ``(images (B, 3, H, W)) -> RawOutputs | DetectedOutputs`` with the
outputs on the engine's device. ``name``, ``device``, ``dtype`` (of the input it expects),
``precision`` (of its compute), ``size_divisibility`` (the multiple its input H and W are padded
to: ``SIZE_DIVISIBILITY``, or what an older model file was made for) and ``builtin_nms`` (the
decode settings of a network that ends in NMS and returns ``DetectedOutputs``, else None)
describe it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from ..categories import thing_channels
from ..formats.nms_graph import pre_nms_graph
from ..formats.onnx_file import INPUT_NAME, PRECISIONS, read_onnx_metadata
from ..head.detections import Detections
from ..head.efficient_nms import NMS_OUTPUT_NAMES, efficient_nms_reference
from ..model import RawOutputs, SSPSNetwork
from ..model.config import SIZE_DIVISIBILITY

log = logging.getLogger(__name__)


class DetectedOutputs(NamedTuple):
    """Outputs of a network that ends in NMS (EfficientNMS) for a batch of B images.

    semantic and centers: as in ``RawOutputs``; detections: boxes in input pixels, not yet
    clipped to the image, classes as semantic channels.
    """

    semantic: Tensor
    centers: Tensor | None
    detections: Detections


class TorchBackend:
    """Eager PyTorch on CPU or CUDA; fp16 on CUDA; optional torch.compile or CUDA graphs.

    ``cuda_graphs`` compiles with ``mode="reduce-overhead"``: each input shape is captured once
    as a CUDA graph and replayed, which removes the per-kernel launch cost on the GPU.
    """

    name = "torch"
    builtin_nms = None
    size_divisibility = SIZE_DIVISIBILITY

    def __init__(
        self,
        model: SSPSNetwork,
        device: str = "cpu",
        precision: str = "fp32",
        compile: bool = False,
        cuda_graphs: bool = False,
    ):
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        self.device = torch.device(device)
        if precision == "fp16" and self.device.type != "cuda":
            raise ValueError("fp16 needs a CUDA device; use fp32 on the CPU")
        if cuda_graphs and self.device.type != "cuda":
            raise ValueError("CUDA graphs need a CUDA device")
        self.dtype = torch.float16 if precision == "fp16" else torch.float32
        self.precision = precision
        self.config = model.config
        self.model = model.eval().to(self.device, self.dtype)
        self.cuda_graphs = cuda_graphs
        self._forward = self.model
        if compile or cuda_graphs:
            self._forward = torch.compile(self.model, mode="reduce-overhead" if cuda_graphs else None)

    @torch.inference_mode()
    def __call__(self, images: Tensor) -> RawOutputs:
        """Run the network."""
        if not self.cuda_graphs:
            return self._forward(images.to(self.device, self.dtype))
        torch.compiler.cudagraph_mark_step_begin()
        outputs = self._forward(images.to(self.device, self.dtype))
        # A graph's outputs live in its memory pool and are overwritten by its next replay.
        return RawOutputs(*(t if t is None else t.clone() for t in outputs))


class OnnxRuntimeBackend:
    """ONNX Runtime on the CPU, or with the CUDA / TensorRT execution providers where installed.

    A graph ending in TensorRT's EfficientNMS runs up to the plugin, which is then computed by
    ``efficient_nms_reference``: a check of such graphs where TensorRT is missing.
    """

    name = "onnxruntime"

    def __init__(self, path: str | Path, device: str = "cpu"):
        import onnxruntime as ort

        meta = read_onnx_metadata(path)
        self.config, self.weights_hash, self.builtin_nms = meta.config, meta.weights_sha256, meta.nms
        self.precision, self.size_divisibility = meta.precision, meta.size_divisibility
        self._thing_channels = thing_channels(self.config.categories)
        self.device = torch.device(device)
        self.dtype = torch.float32
        wanted = ["CPUExecutionProvider"]
        if self.device.type == "cuda":
            wanted = ["TensorrtExecutionProvider", "CUDAExecutionProvider"] + wanted
        available = ort.get_available_providers()
        providers = [p for p in wanted if p in available]
        if self.device.type == "cuda" and "CUDAExecutionProvider" not in providers:
            raise RuntimeError(f"device {device} asked for, but ONNX Runtime has only {available}")
        try:
            graph = pre_nms_graph(path).SerializeToString() if meta.nms else str(path)
            self.session = ort.InferenceSession(graph, providers=providers)
        except Exception as e:  # ORT raises its own exception types for invalid graphs
            raise ValueError(f"ONNX Runtime cannot load {path}: {e}") from None
        self.output_names = [o.name for o in self.session.get_outputs()]
        log.info("ONNX Runtime providers: %s", self.session.get_providers())

    def __call__(self, images: Tensor) -> RawOutputs | DetectedOutputs:
        """Run the network (through host memory; IO binding would avoid it on CUDA)."""
        outputs = self.session.run(None, {INPUT_NAME: np.ascontiguousarray(images.float().cpu().numpy())})
        tensors = dict(zip(self.output_names, (torch.from_numpy(o).to(self.device) for o in outputs)))
        nms = self.builtin_nms
        if nms:
            tensors.update(zip(NMS_OUTPUT_NAMES, efficient_nms_reference(
                tensors["boxes"], tensors["logits"], nms.candidate_threshold, nms.nms_threshold,
                nms.max_detections,
            )))
        return raw_outputs(tensors, self._thing_channels if nms else None)


def raw_outputs(
    tensors: dict[str, Tensor], thing_channels: list[int] | None = None
) -> RawOutputs | DetectedOutputs:
    """Return a graph's outputs (by name) as RawOutputs, or with ``thing_channels`` as DetectedOutputs."""
    centers = tensors.get("centers")
    if thing_channels is None:
        return RawOutputs(tensors["semantic"], tensors["cls_logits"], tensors["box_deltas"], centers)
    detections = Detections.from_efficient_nms(*(tensors[n] for n in NMS_OUTPUT_NAMES), thing_channels)
    return DetectedOutputs(tensors["semantic"], centers, detections)
