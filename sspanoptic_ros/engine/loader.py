# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Choose a backend for a model file and build the engine (exporting/caching artifacts as needed)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import torch

from ..export.onnx_export import export_onnx, weights_hash
from ..model import load_checkpoint
from .backends import OnnxRuntimeBackend, TorchBackend
from .engine import Engine
from .tensorrt_backend import TensorRTBackend, tensorrt_available

log = logging.getLogger(__name__)
BACKENDS = ("auto", "tensorrt", "torch", "onnxruntime")
CHECKPOINT_SUFFIXES = (".pt", ".pth")
PLAN_SUFFIXES = (".plan", ".engine")


def cache_dir() -> Path:
    """Where exported ONNX files and TensorRT plans are cached (``$SSPANOPTIC_CACHE``)."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "sspanoptic_ros"
    return Path(os.environ.get("SSPANOPTIC_CACHE", default))


def choose_backend(requested: str, device: str | None) -> tuple[str, str]:
    """Resolve ``auto`` to a backend name and return (backend, device) with the reason logged."""
    if requested not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {requested!r}")
    cuda = torch.cuda.is_available()
    if device and device.startswith("cuda") and not cuda:
        raise RuntimeError(f"device {device!r} asked for, but this machine has no usable CUDA device")
    device = device or ("cuda" if cuda else "cpu")
    if requested != "auto":
        return requested, device
    usable, why = tensorrt_available()
    if usable and device.startswith("cuda"):
        log.info("backend auto -> tensorrt (TensorRT and a CUDA device are available)")
        return "tensorrt", device
    if device.startswith("cuda"):
        log.info("backend auto -> torch on %s (TensorRT unusable: %s)", device, why)
        return "torch", device
    log.info("backend auto -> onnxruntime on cpu (no CUDA device)")
    return "onnxruntime", "cpu"


def _cached_onnx(checkpoint: Path) -> Path:
    model, _ = load_checkpoint(checkpoint)
    path = cache_dir() / f"{model.config.name}-{weights_hash(model)[:16]}.onnx"
    if not path.is_file():
        log.info("exporting %s to ONNX at %s", checkpoint, path)
        export_onnx(model, path.with_suffix(".tmp.onnx")).replace(path)
    return path


def _cached_plan(onnx_path: Path, precision: str) -> Path:
    from ..export.onnx_export import read_onnx_metadata
    from ..export.tensorrt_build import build_plan, current_key, plan_is_current, profile_for

    profile = profile_for(read_onnx_metadata(onnx_path)[0])
    key = current_key(onnx_path, precision, profile)
    # One plan per model and precision: a stale one is rebuilt in place, with the reason logged.
    plan = cache_dir() / f"{onnx_path.stem}-{precision}.plan"
    if not plan_is_current(plan, key):
        build_plan(onnx_path, plan, precision, profile, timing_cache=cache_dir() / "timing.cache")
    return plan


def create_engine(
    model_path: str | Path,
    backend: str = "auto",
    device: str | None = None,
    precision: str = "fp32",
    compile: bool = False,
    **engine_args,
) -> Engine:
    """Build an engine for a checkpoint (.pt), ONNX file (.onnx) or TensorRT plan (.plan).

    ``auto`` picks TensorRT if usable, else torch on CUDA, else ONNX Runtime on the CPU.
    Checkpoints are exported to ONNX (and plans built) into ``cache_dir()`` when the backend needs it.
    ``compile`` runs the torch backend through torch.compile. ``engine_args`` go to ``Engine``
    (params, decode, max_pixels, channel_order).
    """
    path = Path(model_path)
    if not path.is_file():
        raise FileNotFoundError(f"model file not found: {path}")
    backend, device = choose_backend(backend, device)
    suffix = path.suffix.lower()
    if suffix not in CHECKPOINT_SUFFIXES + (".onnx",) + PLAN_SUFFIXES:
        raise ValueError(
            f"unknown model file type {suffix!r}: expected a .pt checkpoint, .onnx or .plan file"
        )
    if backend == "torch":
        if suffix not in CHECKPOINT_SUFFIXES:
            raise ValueError(f"the torch backend needs a .pt checkpoint, got {path.name}")
        model, _ = load_checkpoint(path)
        runner = TorchBackend(model, device, precision, compile)
    elif backend == "onnxruntime":
        if precision != "fp32":
            raise ValueError("the onnxruntime backend runs fp32 models only; use precision fp32")
        if suffix in PLAN_SUFFIXES:
            raise ValueError(f"the onnxruntime backend needs a .pt or .onnx file, got {path.name}")
        runner = OnnxRuntimeBackend(_cached_onnx(path) if suffix in CHECKPOINT_SUFFIXES else path, device)
    else:
        usable, why = tensorrt_available()
        if not usable:
            raise RuntimeError(f"the tensorrt backend is unavailable: {why}")
        if suffix not in PLAN_SUFFIXES:
            onnx_path = _cached_onnx(path) if suffix in CHECKPOINT_SUFFIXES else path
            path = _cached_plan(onnx_path, precision)
        runner = TensorRTBackend(path, device)
    log.info("engine: %s backend on %s, model %s", runner.name, device, runner.config.name)
    return Engine(runner, runner.config, **engine_args)
