# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Choose a backend for a model file and build the engine (exporting/caching artifacts as needed)."""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import re
from pathlib import Path

import torch

from ..files import locked
from ..formats.nms_graph import nms_settings_json
from ..formats.onnx_file import export_onnx, read_onnx_metadata, weights_hash
from ..head.decode import DecodeParams
from ..model import load_checkpoint
from ..model.config import SIZE_DIVISIBILITY
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


def installed_backends() -> list[str]:
    """Return the backends whose runtime is installed and usable here (torch always is)."""
    found = ["torch"]
    if importlib.util.find_spec("onnxruntime") is not None:
        found.append("onnxruntime")
    return ["tensorrt", *found] if tensorrt_available()[0] else found


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


def _cached_onnx(checkpoint: Path, precision: str = "fp32", nms: DecodeParams | None = None) -> Path:
    model, _ = load_checkpoint(checkpoint)
    nms_tag = f"-nms{hashlib.sha256(nms_settings_json(nms).encode()).hexdigest()[:8]}" if nms else ""
    path = cache_dir() / f"{model.config.name}-{weights_hash(model)[:16]}-{precision}{nms_tag}.onnx"
    with locked(path):  # engines starting together export once
        if path.is_file():
            try:
                padding = read_onnx_metadata(path).size_divisibility
                if padding == SIZE_DIVISIBILITY:
                    return path
                log.warning(
                    "cached ONNX file %s takes inputs padded to %d: exporting it again for %d",
                    path, padding, SIZE_DIVISIBILITY,
                )
            except ValueError as e:
                log.warning("cached ONNX file is unusable (%s): exporting it again", e)
        log.info("exporting %s to ONNX at %s", checkpoint, path)
        return export_onnx(model, path, precision=precision, nms=nms)


def _cached_plan(onnx_path: Path, device: str) -> Path:
    from ..formats.tensorrt_plan import build_plan, current_key, plan_is_current, profile_for

    meta = read_onnx_metadata(onnx_path)
    profile = profile_for(meta.config, meta.size_divisibility)
    # One plan per ONNX file (model, precision, NMS): a stale one is rebuilt in place, with the reason logged.
    plan = cache_dir() / f"{onnx_path.stem}.plan"
    key = current_key(meta, profile, device)
    with locked(plan):  # engines starting together build once
        if not plan_is_current(plan, key):
            machine = re.sub(r"[^A-Za-z0-9.]+", "_", f"{key.tensorrt_version}-{key.gpu}")
            timing = cache_dir() / f"timing-{machine}.cache"
            build_plan(onnx_path, plan, profile, timing_cache=timing, device=device)
    return plan


def create_engine(
    model_path: str | Path,
    backend: str = "auto",
    device: str | None = None,
    precision: str = "fp32",
    compile: bool = False,
    cuda_graphs: bool = False,
    tensorrt_nms: bool = False,
    **engine_args,
) -> Engine:
    """Build an engine for a checkpoint (.pt), ONNX file (.onnx) or TensorRT plan (.plan).

    ``auto`` picks TensorRT if usable, else torch on CUDA, else ONNX Runtime on the CPU.
    Checkpoints are exported to ONNX (and plans built) into ``cache_dir()`` when the backend needs it.
    ``compile`` runs the torch backend through torch.compile, ``cuda_graphs`` replays it as CUDA
    graphs (CUDA only). ``tensorrt_nms`` builds plans from checkpoints with EfficientNMS inside,
    using ``engine_args["decode"]``, which then cannot change at run time. An .onnx or .plan file
    brings its own precision and NMS settings: where they differ from the arguments, the file's
    win and a warning says so (as for options the chosen backend does not have).
    ``engine_args`` go to ``Engine`` (params, decode, max_pixels, channel_order).
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
        runner = TorchBackend(model, device, precision, compile, cuda_graphs)
    elif backend == "onnxruntime":
        if suffix in PLAN_SUFFIXES:
            raise ValueError(f"the onnxruntime backend needs a .pt or .onnx file, got {path.name}")
        if suffix in CHECKPOINT_SUFFIXES and precision != "fp32":
            raise ValueError(
                "the onnxruntime backend runs checkpoints in fp32; for fp16 give it an fp16 ONNX file "
                "(sspanoptic-export onnx --precision fp16)"
            )
        runner = OnnxRuntimeBackend(_cached_onnx(path) if suffix in CHECKPOINT_SUFFIXES else path, device)
    else:
        usable, why = tensorrt_available()
        if not usable:
            raise RuntimeError(
                f"the tensorrt backend is unavailable: {why}; use backend auto (the best usable one) "
                f"or one of those installed here: {', '.join(installed_backends())}"
            )
        if suffix in CHECKPOINT_SUFFIXES:
            nms = (engine_args.get("decode") or DecodeParams()) if tensorrt_nms else None
            path = _cached_plan(_cached_onnx(path, precision, nms), device)
        elif suffix == ".onnx":
            path = _cached_plan(path, device)
        runner = TensorRTBackend(path, device)
    decode = engine_args.get("decode")
    ignored = _ignored_options(runner, precision, compile, cuda_graphs, tensorrt_nms, decode)
    if ignored:
        log.warning("%s backend with %s: %s", runner.name, path.name, "; ".join(ignored))
    if runner.builtin_nms:
        engine_args["decode"] = runner.builtin_nms
    log.info("engine: %s backend on %s, model %s", runner.name, device, runner.config.name)
    return Engine(runner, runner.config, **engine_args)


def _ignored_options(runner, precision, compile, cuda_graphs, tensorrt_nms, decode) -> list[str]:
    """Describe the requested options that ``runner`` (or its model file) overrides."""
    ignored = []
    if runner.precision != precision:
        ignored.append(f"the file's precision {runner.precision} is used, not {precision}")
    if (compile or cuda_graphs) and runner.name != "torch":
        ignored.append("compile and cuda_graphs apply to the torch backend only")
    if tensorrt_nms and not runner.builtin_nms:
        ignored.append("tensorrt_nms is ignored: this model has no EfficientNMS inside")
    if runner.builtin_nms and decode and decode != runner.builtin_nms:
        ignored.append(f"its built-in EfficientNMS settings {runner.builtin_nms} are used, not {decode}")
    return ignored
