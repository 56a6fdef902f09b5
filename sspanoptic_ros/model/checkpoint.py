# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Checkpoint files: weights plus the full model config, so a checkpoint alone can run."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import torch

from .config import ModelConfig
from .network import SSPSNetwork, build_model

FORMAT = "sspanoptic-checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used (corrupt, truncated, foreign or mismatched)."""


def save_checkpoint(
    path: str | Path, model: SSPSNetwork, extra: dict | None = None, dtype: torch.dtype | None = None
) -> Path:
    """Write ``model``'s weights and config (and optional training state) to ``path``.

    ``dtype`` (e.g. torch.float16, to halve a shipped model's size) stores floating-point weights
    in that type; ``load_checkpoint`` always returns float32 weights. The file is written to a
    temporary name and renamed, so a crash never leaves a truncated checkpoint behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "config": model.config.to_dict(),
        "model": {k: _stored(v.detach().cpu(), dtype) for k, v in model.state_dict().items()},
        "extra": extra or {},
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
    return path


def _stored(tensor: torch.Tensor, dtype: torch.dtype | None) -> torch.Tensor:
    return tensor.to(dtype) if dtype is not None and tensor.is_floating_point() else tensor


def read_checkpoint(path: str | Path) -> dict:
    """Read and validate a checkpoint file's payload (weights stay on the CPU)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, zipfile.BadZipFile, pickle.UnpicklingError, ValueError) as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(
            f"{path} is not a readable checkpoint (corrupt or truncated?): {reason}"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an sspanoptic_ros checkpoint (no '{FORMAT}' marker)")
    if not isinstance(payload.get("config"), dict) or not isinstance(payload.get("model"), dict):
        raise CheckpointError(f"{path} lacks its 'config' or 'model' entry (damaged or hand-made checkpoint)")
    if payload.get("version") != VERSION:
        raise CheckpointError(
            f"{path}: checkpoint version {payload.get('version')} is not supported ({VERSION})"
        )
    return payload


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> tuple[SSPSNetwork, dict]:
    """Build the network a checkpoint describes and load its weights.

    Returns the model in eval mode on ``device`` and the checkpoint's ``extra`` dict.
    """
    payload = read_checkpoint(path)
    try:
        config = ModelConfig.from_dict(payload["config"])
    except (ValueError, TypeError) as e:
        raise CheckpointError(f"{path}: the model config stored in it is invalid: {e}") from None
    config.pretrained_backbone = None  # the checkpoint's weights replace ImageNet's
    model = build_model(config)
    state = payload["model"]
    # DistributedDataParallel wraps the model in `module.`; accept such files too.
    state = {k.removeprefix("module."): v.float() if v.is_floating_point() else v for k, v in state.items()}
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise CheckpointError(f"{path}: weights do not match the config stored in it: {e}") from None
    return model.eval().to(device), payload["extra"]


def release_checkpoint(src: str | Path, dst: str | Path) -> Path:
    """Write a deployable copy of a training checkpoint: fp16 weights, no optimiser state."""
    model, extra = load_checkpoint(src)
    keep = {k: extra[k] for k in ("epoch", "history", "train_config") if k in extra}
    return save_checkpoint(dst, model, keep, dtype=torch.float16)
