# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Network backends: each runs the raw network on a padded, normalised batch.

A backend is a callable ``(images (B, 3, H, W)) -> RawOutputs`` with the outputs on the
engine's device; ``name``, ``device`` and ``dtype`` (of the input it expects) describe it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ..export.onnx_export import INPUT_NAME, read_onnx_metadata
from ..model import RawOutputs, SSPSNetwork

log = logging.getLogger(__name__)
PRECISIONS = ("fp32", "fp16")


class TorchBackend:
    """Eager PyTorch on CPU or CUDA; fp16 on CUDA; optional torch.compile."""

    name = "torch"

    def __init__(
        self, model: SSPSNetwork, device: str = "cpu", precision: str = "fp32", compile: bool = False
    ):
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        self.device = torch.device(device)
        if precision == "fp16" and self.device.type != "cuda":
            raise ValueError("fp16 needs a CUDA device; use fp32 on the CPU")
        self.dtype = torch.float16 if precision == "fp16" else torch.float32
        self.config = model.config
        self.model = model.eval().to(self.device, self.dtype)
        self._forward = torch.compile(self.model) if compile else self.model

    @torch.inference_mode()
    def __call__(self, images: Tensor) -> RawOutputs:
        """Run the network."""
        return self._forward(images.to(self.device, self.dtype))


class OnnxRuntimeBackend:
    """ONNX Runtime on the CPU, or with the CUDA / TensorRT execution providers where installed."""

    name = "onnxruntime"

    def __init__(self, path: str | Path, device: str = "cpu"):
        import onnxruntime as ort

        self.config, self.weights_hash = read_onnx_metadata(path)
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
            self.session = ort.InferenceSession(str(path), providers=providers)
        except Exception as e:  # ORT raises its own exception types for invalid graphs
            raise ValueError(f"ONNX Runtime cannot load {path}: {e}") from None
        self.output_names = [o.name for o in self.session.get_outputs()]
        log.info("ONNX Runtime providers: %s", self.session.get_providers())

    def __call__(self, images: Tensor) -> RawOutputs:
        """Run the network (through host memory; IO binding would avoid it on CUDA)."""
        outputs = self.session.run(None, {INPUT_NAME: np.ascontiguousarray(images.float().cpu().numpy())})
        tensors = dict(zip(self.output_names, (torch.from_numpy(o).to(self.device) for o in outputs)))
        return RawOutputs(
            tensors["semantic"], tensors["cls_logits"], tensors["box_deltas"], tensors.get("centers")
        )
