# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""TensorRT backend: runs a deserialised plan on a CUDA stream, outputs bound to torch tensors.

NOTE: written against the documented TensorRT 10/11 Python API; TensorRT cannot be installed in
this project's development and CI machines, so this backend has not been run here (its calls are
tested against a fake ``tensorrt`` module).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from ..categories import thing_channels
from ..formats.nms_graph import nms_settings_from_json
from ..formats.onnx_file import INPUT_NAME
from ..formats.tensorrt_plan import read_sidecar
from ..head.efficient_nms import NMS_OUTPUT_NAMES
from ..model import RawOutputs
from .backends import DetectedOutputs, raw_outputs

# TensorRT requires every tensor address to be aligned to this many bytes.
TENSOR_ALIGNMENT = 256


def tensorrt_available() -> tuple[bool, str]:
    """Whether TensorRT can be used here, and why not."""
    try:
        import tensorrt  # noqa: F401
    except ImportError as e:
        return False, f"the tensorrt Python package is not installed ({e})"
    if not torch.cuda.is_available():
        return False, "no CUDA device"
    return True, ""


class TensorRTBackend:
    """Executes a TensorRT plan; the head reads the outputs in place (no copies).

    ``builtin_nms`` holds the decode settings of a plan ending in EfficientNMS (None otherwise):
    such a plan returns detections, and its NMS settings cannot change without a rebuild.
    """

    name = "tensorrt"

    def __init__(self, plan: str | Path, device: str = "cuda"):
        import tensorrt as trt

        plan = Path(plan)
        if not plan.is_file():
            raise FileNotFoundError(f"TensorRT plan not found: {plan}")
        self.config, self.build_key = read_sidecar(plan)
        self.builtin_nms = nms_settings_from_json(self.build_key.nms)
        self.precision = self.build_key.precision
        self.size_divisibility = self.build_key.size_divisibility
        self._thing_channels = thing_channels(self.config.categories)
        self.device = torch.device(device)
        self.dtype = torch.float32  # the plan's input binding is fp32; fp16 is internal
        self._logger = trt.Logger(trt.Logger.WARNING)
        trt.init_libnvinfer_plugins(self._logger, "")  # a plan with EfficientNMS needs the registry
        self._runtime = trt.Runtime(self._logger)
        with torch.cuda.device(self.device):  # TensorRT works on the current CUDA device
            self.engine = self._runtime.deserialize_cuda_engine(plan.read_bytes())
            if self.engine is None:
                raise ValueError(
                    f"TensorRT cannot deserialise {plan}: corrupt, built by another TensorRT version "
                    "or GPU, or needing a plugin this TensorRT lacks (see TensorRT's log above)"
                )
            self.context = self.engine.create_execution_context()
            if self.context is None:
                raise RuntimeError(f"TensorRT cannot create an execution context for {plan} (GPU memory?)")
            self.stream = torch.cuda.Stream(self.device)
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        dtypes = {trt.float32: torch.float32, trt.float16: torch.float16, trt.int32: torch.int32,
                  trt.int64: torch.int64}
        self.outputs = {}
        for name in names:
            if self.engine.get_tensor_mode(name) == trt.TensorIOMode.OUTPUT:
                dtype = self.engine.get_tensor_dtype(name)
                if dtype not in dtypes:
                    raise ValueError(f"TensorRT plan {plan}: output {name} has unsupported type {dtype}")
                self.outputs[name] = dtypes[dtype]
        expected = {"semantic"} | set(NMS_OUTPUT_NAMES if self.builtin_nms else ("cls_logits", "box_deltas"))
        if not expected <= set(self.outputs):
            raise ValueError(f"TensorRT plan {plan} lacks the outputs {sorted(expected - set(self.outputs))}")

    def __call__(self, images: Tensor) -> RawOutputs | DetectedOutputs:
        """Run the plan on ``images`` (B, 3, H, W) float32 on the device."""
        images = images.to(self.device, torch.float32).contiguous()
        if images.data_ptr() % TENSOR_ALIGNMENT:  # a view into a larger tensor
            images = images.clone()
        with torch.cuda.device(self.device):
            if not self.context.set_input_shape(INPUT_NAME, tuple(images.shape)):
                raise ValueError(
                    f"input shape {tuple(images.shape)} is outside the plan's optimisation profile "
                    f"{self.build_key.min_shape}..{self.build_key.max_shape}; rebuild the plan"
                )
            self.context.set_tensor_address(INPUT_NAME, images.data_ptr())
            tensors = {}
            for name, dtype in self.outputs.items():
                shape = tuple(self.context.get_tensor_shape(name))
                if min(shape) < 0:
                    raise RuntimeError(f"TensorRT gives output {name} no fixed shape ({shape})")
                tensors[name] = torch.empty(shape, dtype=dtype, device=self.device)
                self.context.set_tensor_address(name, tensors[name].data_ptr())
            self.stream.wait_stream(torch.cuda.current_stream(self.device))
            if not self.context.execute_async_v3(self.stream.cuda_stream):
                raise RuntimeError("TensorRT execution failed")
            torch.cuda.current_stream(self.device).wait_stream(self.stream)
        return raw_outputs(tensors, self._thing_channels if self.builtin_nms else None)
