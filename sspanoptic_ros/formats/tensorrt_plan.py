# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""ONNX -> TensorRT plan with the TensorRT 10/11 Python builder API, cached by build key.

Plans are built strongly typed (TensorRT 11 builds nothing else; 10.x accepts the flag): the
precision of every layer is the one in the ONNX graph, so fp16 plans come from fp16 ONNX files
(``export_onnx(precision="fp16")``, GroupNorm kept in fp32).

NOTE: TensorRT cannot be installed in this project's development and CI machines; this module is
written against the documented TensorRT 10/11 API and has not been run here (see README). The
parts around it (build keys, sidecar metadata, cache decisions, the calls it makes, checked
against a fake ``tensorrt`` module) are tested.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from ..files import write_atomic
from ..model import ModelConfig, padded_size
from ..model.config import SIZE_DIVISIBILITY
from .nms_graph import nms_settings_json
from .onnx_file import INPUT_NAME, LEGACY_SIZE_DIVISIBILITY, OnnxMetadata, read_onnx_metadata

log = logging.getLogger(__name__)

# The paper's two input shapes (576 x 576 and 576 x 864), multiples of 32: no padding.
PAPER_PROFILE = ((1, 3, 576, 576), (1, 3, 576, 864), (1, 3, 576, 864))


def profile_for(config: ModelConfig, divisibility: int = SIZE_DIVISIBILITY) -> tuple[tuple[int, ...], ...]:
    """(min, opt, max) input shapes covering every camera image the engine may feed this model.

    Images are resized so that their sides fit min_size / max_size and padded to ``divisibility``
    (the ONNX file's), in either orientation; a very wide image can have a short side down to
    one ``divisibility``.
    """
    short, long = padded_size(config.min_size, config.max_size, divisibility)
    return (1, 3, divisibility, divisibility), (1, 3, short, long), (1, 3, long, long)


@dataclass(frozen=True)
class BuildKey:
    """Everything a TensorRT plan depends on; a plan is rebuilt when any field differs."""

    weights_sha256: str
    tensorrt_version: str
    gpu: str
    precision: str
    min_shape: tuple[int, ...]
    opt_shape: tuple[int, ...]
    max_shape: tuple[int, ...]
    nms: str = ""  # EfficientNMS settings at the plan's end (``nms_settings_json``), "" for none
    # Multiple the input is padded to (the ONNX file's); sidecars without it are for 128.
    size_divisibility: int = LEGACY_SIZE_DIVISIBILITY

    def digest(self) -> str:
        """Short hash used in the plan's file name."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]

    def differences(self, other: BuildKey) -> list[str]:
        """Names of the fields that differ from ``other``."""
        return [k for k, v in asdict(self).items() if asdict(other)[k] != v]


def sidecar_path(plan: Path) -> Path:
    """Metadata file that sits beside a plan: ``model.plan`` -> ``model.plan.json``."""
    return plan.with_name(plan.name + ".json")


def write_sidecar(plan: Path, config: ModelConfig, key: BuildKey) -> None:
    """Store the model config and build key beside ``plan``."""
    text = json.dumps({"config": config.to_dict(), "build_key": asdict(key)}, indent=1)
    write_atomic(sidecar_path(plan), text.encode())


def read_sidecar(plan: Path) -> tuple[ModelConfig, BuildKey]:
    """Read the config and build key stored beside ``plan``; clear errors when absent or broken."""
    path = sidecar_path(plan)
    if not path.is_file():
        raise FileNotFoundError(
            f"TensorRT plan {plan} has no metadata file {path.name}; "
            "build plans with `sspanoptic-export tensorrt`"
        )
    try:
        data = json.loads(path.read_text())
        key = data["build_key"]
        key = BuildKey(**{k: tuple(v) if isinstance(v, list) else v for k, v in key.items()})
        return ModelConfig.from_dict(data["config"]), key
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{path} is not valid plan metadata: {e}") from None


def current_key(meta: OnnxMetadata, profile=PAPER_PROFILE, device: str = "cuda") -> BuildKey:
    """Return the build key of an ONNX file (its ``meta``) on this TensorRT and the GPU ``device``."""
    import tensorrt as trt
    import torch

    return BuildKey(
        meta.weights_sha256,
        trt.__version__,
        torch.cuda.get_device_name(device),
        meta.precision,
        *map(tuple, profile),
        nms=nms_settings_json(meta.nms),
        size_divisibility=meta.size_divisibility,
    )


def plan_is_current(plan: Path, key: BuildKey) -> bool:
    """Whether a cached plan exists and was built for ``key``; logs why it is rebuilt otherwise."""
    if not plan.is_file() or not sidecar_path(plan).is_file():
        log.info("no cached TensorRT plan at %s: building one", plan)
        return False
    _, cached = read_sidecar(plan)
    changed = cached.differences(key)
    if changed:
        log.warning("cached TensorRT plan %s is stale (%s changed): rebuilding", plan, ", ".join(changed))
    return not changed


def build_plan(
    onnx_path: str | Path,
    plan_path: str | Path,
    profile=PAPER_PROFILE,
    workspace_gib: float = 4.0,
    timing_cache: str | Path | None = None,
    device: str = "cuda",
) -> Path:
    """Build a serialized TensorRT engine from our ONNX file, strongly typed, for GPU ``device``.

    The plan computes in the ONNX file's precision (see ``export_onnx``); a graph ending in
    EfficientNMS gets TensorRT's plugin. ``profile`` is (min, opt, max) input shapes; a static
    ONNX file needs all three equal to its shape.
    """
    import torch

    with torch.cuda.device(device):  # TensorRT builds for the current CUDA device
        return _build_plan(Path(onnx_path), Path(plan_path), profile, workspace_gib, timing_cache, device)


def _build_plan(onnx_path, plan_path, profile, workspace_gib, timing_cache, device) -> Path:
    import tensorrt as trt

    meta = read_onnx_metadata(onnx_path)
    logger = trt.Logger(trt.Logger.WARNING)
    trt.init_libnvinfer_plugins(logger, "")  # registers EfficientNMS_TRT for the parser
    builder = trt.Builder(logger)
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED))
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ValueError(f"TensorRT cannot parse {onnx_path}: {errors}")
    build_config = builder.create_builder_config()
    build_config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gib * (1 << 30)))
    shapes = builder.create_optimization_profile()
    shapes.set_shape(INPUT_NAME, *profile)
    build_config.add_optimization_profile(shapes)
    cache_file = Path(timing_cache) if timing_cache else None
    cached = cache_file.read_bytes() if cache_file and cache_file.is_file() else b""
    cache = build_config.create_timing_cache(cached)
    if cache is None or not build_config.set_timing_cache(cache, ignore_mismatch=False):
        log.warning("timing cache %s is not for this TensorRT and GPU: starting an empty one", cache_file)
        build_config.set_timing_cache(build_config.create_timing_cache(b""), ignore_mismatch=False)
    key = current_key(meta, profile, device)
    log.info("building TensorRT %s plan from %s (this takes minutes)", key.precision, onnx_path)
    serialized = builder.build_serialized_network(network, build_config)
    if serialized is None:
        raise RuntimeError(f"TensorRT failed to build a plan from {onnx_path} (see the log above)")
    sidecar_path(plan_path).unlink(missing_ok=True)  # a plan is current only once its sidecar is back
    write_atomic(plan_path, bytes(serialized))
    write_sidecar(plan_path, meta.config, key)
    timing = build_config.get_timing_cache()
    if cache_file and timing is not None:
        write_atomic(cache_file, bytes(timing.serialize()))
    return plan_path
