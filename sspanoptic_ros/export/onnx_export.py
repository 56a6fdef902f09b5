# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Checkpoint -> ONNX with the model config embedded as metadata."""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import torch
from torch import Tensor, nn

from ..model import ModelConfig, SSPSNetwork

OUTPUT_NAMES = ("semantic", "cls_logits", "box_deltas", "centers")
INPUT_NAME = "images"
CONFIG_KEY = "sspanoptic_config"
HASH_KEY = "sspanoptic_weights_sha256"
DEFAULT_OPSET = 17


class _TupleOutputs(nn.Module):
    """Drop the absent centre output so the graph has only tensor outputs."""

    def __init__(self, model: SSPSNetwork):
        super().__init__()
        self.model = model

    def forward(self, images: Tensor) -> tuple[Tensor, ...]:
        return tuple(t for t in self.model(images) if t is not None)


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
) -> Path:
    """Export ``model`` to ONNX at ``path`` and return the path.

    ``size`` fixes the input to (H, W) (multiples of 128); without it H and W are dynamic
    (inputs must then still be multiples of 128, as the engine's pre-processing pads them).
    Uses the TorchScript-based exporter: torch.export cannot yet express the symbolic
    padding arithmetic with dynamic H/W.
    """
    import onnx

    if opset < 17:
        raise ValueError(f"opset must be >= 17 (GroupNormalization-compatible), got {opset}")
    height, width = size or (256, 256)
    if height % 128 or width % 128:
        raise ValueError(f"export size must be multiples of 128, got {height} x {width}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    names = list(OUTPUT_NAMES[: 4 if model.config.use_centers else 3])
    dynamic = None if size else {INPUT_NAME: {2: "height", 3: "width"}}
    dummy = torch.zeros(1, 3, height, width, device=next(model.parameters()).device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
        torch.onnx.export(
            _TupleOutputs(model.eval()),
            (dummy,),
            str(path),
            input_names=[INPUT_NAME],
            output_names=names,
            dynamic_axes=dynamic,
            opset_version=opset,
            dynamo=False,
        )
    proto = onnx.load(str(path))
    for key, value in (
        (CONFIG_KEY, json.dumps(model.config.to_dict())),
        (HASH_KEY, weights_hash(model)),
    ):
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))
    return path


def read_onnx_metadata(path: str | Path) -> tuple[ModelConfig, str]:
    """Return (config, weights hash) embedded in an ONNX file exported by ``export_onnx``."""
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
        return ModelConfig.from_dict(json.loads(meta[CONFIG_KEY])), meta.get(HASH_KEY, "")
    except (ValueError, TypeError) as e:  # json.JSONDecodeError is a ValueError
        raise ValueError(f"{path}: its sspanoptic_ros metadata is invalid: {e}") from None
