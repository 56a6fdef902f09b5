# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The SSPS network, its config, anchors and checkpoints."""

from .anchors import Anchors
from .checkpoint import CheckpointError, load_checkpoint, read_checkpoint, release_checkpoint, save_checkpoint
from .config import ModelConfig, load_model_config
from .network import RawOutputs, SSPSNetwork, build_model
from .resize import padded_size, resize_images, resized_size

__all__ = [
    "Anchors",
    "CheckpointError",
    "ModelConfig",
    "RawOutputs",
    "SSPSNetwork",
    "build_model",
    "load_checkpoint",
    "load_model_config",
    "padded_size",
    "read_checkpoint",
    "release_checkpoint",
    "resize_images",
    "resized_size",
    "save_checkpoint",
]
