# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Checkpoint -> ONNX with the model config embedded as metadata."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import warnings
from pathlib import Path
from typing import NamedTuple

import torch
from torch import Tensor, nn

from ..files import write_atomic
from ..head.decode import DecodeParams
from ..head.efficient_nms import NMS_OUTPUT_NAMES, PLUGIN_MIN_THRESHOLD
from ..model import ModelConfig, SSPSNetwork
from ..model.config import SIZE_DIVISIBILITY
from .nms_graph import NetworkWithNMS, nms_settings_from_json, nms_settings_json

OUTPUT_NAMES = ("semantic", "cls_logits", "box_deltas", "centers")
INPUT_NAME = "images"
CONFIG_KEY = "sspanoptic_config"
HASH_KEY = "sspanoptic_weights_sha256"
PRECISION_KEY = "sspanoptic_precision"
NMS_KEY = "sspanoptic_nms"
# Multiple the graph's input H and W are padded to; files without the key were exported for 128.
PADDING_KEY = "sspanoptic_size_divisibility"
LEGACY_SIZE_DIVISIBILITY = 128
DEFAULT_OPSET = 17
PRECISIONS = ("fp32", "fp16")


class OnnxMetadata(NamedTuple):
    """What ``export_onnx`` stores in an ONNX file besides the graph."""

    config: ModelConfig
    weights_sha256: str
    precision: str  # of the graph's compute; inputs and float outputs are always fp32
    nms: DecodeParams | None  # settings of the EfficientNMS node at the graph's end, or None
    size_divisibility: int  # inputs must be padded to a multiple of this (the graph pads to it too)


class _Fp32GroupNorm(nn.GroupNorm):
    """GroupNorm computed in fp32 inside an fp16 graph (fp16 statistics lose accuracy)."""

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x.float()).to(x.dtype)


def _half_keeping_norms_fp32(model: SSPSNetwork) -> SSPSNetwork:
    """Return a copy of ``model`` in fp16 whose GroupNorm layers compute in fp32."""
    model = copy.deepcopy(model).half()
    for parent in list(model.modules()):
        for name, child in parent.named_children():
            if type(child) is nn.GroupNorm:
                norm = _Fp32GroupNorm(child.num_groups, child.num_channels, child.eps, child.affine)
                norm.load_state_dict({k: v.float() for k, v in child.state_dict().items()})
                setattr(parent, name, norm.to(next(child.parameters()).device))
    return model


class _Exported(nn.Module):
    """The graph as exported: fp32 input, tensor outputs only, float outputs in fp32."""

    def __init__(self, model: SSPSNetwork, precision: str, nms: DecodeParams | None):
        super().__init__()
        self.dtype = torch.float16 if precision == "fp16" else torch.float32
        model = _half_keeping_norms_fp32(model) if precision == "fp16" else model
        self.net = NetworkWithNMS(model, nms) if nms else model

    def forward(self, images: Tensor) -> tuple[Tensor, ...]:
        outputs = [t for t in self.net(images.to(self.dtype)) if t is not None]
        return tuple(t.float() if t.dtype in (torch.float16, torch.bfloat16) else t for t in outputs)


def weights_hash(model: nn.Module) -> str:
    """SHA-256 over the model's state dict (names and values): identifies the weights."""
    digest = hashlib.sha256()
    for name, value in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def export_onnx(
    model: SSPSNetwork,
    path: str | Path,
    size: tuple[int, int] | None = None,
    opset: int = DEFAULT_OPSET,
    precision: str = "fp32",
    nms: DecodeParams | None = None,
) -> Path:
    """Export ``model`` to ONNX at ``path`` and return the path.

    ``size`` fixes the input to (H, W) (multiples of ``SIZE_DIVISIBILITY``, 32); without it H and W
    are dynamic (inputs must then still be such multiples, as the engine's pre-processing pads them;
    the file's metadata says so under ``PADDING_KEY``).
    ``precision`` fp16 computes in fp16 except GroupNorm (fp32), for TensorRT's strongly typed
    builds; input and float outputs stay fp32. ``nms`` ends the graph in TensorRT's EfficientNMS
    with these settings (only TensorRT runs such a graph). Uses the TorchScript-based exporter:
    torch.export cannot yet express the symbolic padding arithmetic with dynamic H/W.
    """
    import onnx

    if opset < 17:
        raise ValueError(f"opset must be >= 17 (GroupNormalization-compatible), got {opset}")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if nms and 0 < nms.candidate_threshold < PLUGIN_MIN_THRESHOLD:
        raise ValueError(
            f"EfficientNMS keeps scores below {PLUGIN_MIN_THRESHOLD} as detections of score ~0: "
            f"use a candidate threshold >= {PLUGIN_MIN_THRESHOLD}, got {nms.candidate_threshold}"
        )
    height, width = size or (256, 256)
    if height % SIZE_DIVISIBILITY or width % SIZE_DIVISIBILITY:
        raise ValueError(f"export size must be multiples of {SIZE_DIVISIBILITY}, got {height} x {width}")
    path = Path(path)
    names = list(OUTPUT_NAMES[: 4 if model.config.use_centers else 3])
    if nms:
        names = names[:1] + names[3:] + list(NMS_OUTPUT_NAMES)
    dynamic = None if size else {INPUT_NAME: {2: "height", 3: "width"}}
    dummy = torch.zeros(1, 3, height, width, device=next(model.parameters()).device)
    graph = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
        torch.onnx.export(
            _Exported(model.eval(), precision, nms),
            (dummy,),
            graph,
            input_names=[INPUT_NAME],
            output_names=names,
            dynamic_axes=dynamic,
            opset_version=opset,
            dynamo=False,
        )
    proto = onnx.load_from_string(graph.getvalue())
    for key, value in (
        (CONFIG_KEY, json.dumps(model.config.to_dict())),
        (HASH_KEY, weights_hash(model)),
        (PRECISION_KEY, precision),
        (NMS_KEY, nms_settings_json(nms)),
        (PADDING_KEY, str(SIZE_DIVISIBILITY)),
    ):
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(proto)
    write_atomic(path, proto.SerializeToString())  # processes sharing a cache never read a partial file
    return path


def read_onnx_metadata(path: str | Path) -> OnnxMetadata:
    """Return the metadata embedded in an ONNX file exported by ``export_onnx``."""
    import onnx

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"ONNX model not found: {path}")
    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # onnx raises DecodeError and others for corrupt files
        raise ValueError(f"{path} is not a readable ONNX model (corrupt or truncated?): {e}") from None
    meta = {p.key: p.value for p in proto.metadata_props}
    if CONFIG_KEY not in meta:
        raise ValueError(f"{path} has no sspanoptic_ros metadata: export it with `sspanoptic-export onnx`")
    try:
        return OnnxMetadata(
            ModelConfig.from_dict(json.loads(meta[CONFIG_KEY])),
            meta.get(HASH_KEY, ""),
            meta.get(PRECISION_KEY, "fp32"),
            nms_settings_from_json(meta.get(NMS_KEY, "")),
            int(meta.get(PADDING_KEY, LEGACY_SIZE_DIVISIBILITY)),
        )
    except (ValueError, TypeError) as e:  # json.JSONDecodeError is a ValueError
        raise ValueError(f"{path}: its sspanoptic_ros metadata is invalid: {e}") from None
