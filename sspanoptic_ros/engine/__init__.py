# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""One inference API over TensorRT, PyTorch and ONNX Runtime backends."""

from ..formats.onnx_file import PRECISIONS
from ..head.decode import DecodeParams
from .engine import Engine, StageTimes
from .loader import BACKENDS, cache_dir, choose_backend, create_engine
from .preprocess import ImageError, check_image, network_input_size

__all__ = [
    "BACKENDS",
    "DecodeParams",
    "Engine",
    "ImageError",
    "PRECISIONS",
    "StageTimes",
    "cache_dir",
    "check_image",
    "choose_backend",
    "create_engine",
    "network_input_size",
]
