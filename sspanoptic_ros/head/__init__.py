# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Detector post-processing and the parameter-free panoptic head (no ROS imports)."""

from .decode import DecodeParams, decode_detections
from .detections import Detections
from .panoptic import PanopticParams, PanopticResult, Segment, panoptic_head

__all__ = [
    "DecodeParams",
    "Detections",
    "PanopticParams",
    "PanopticResult",
    "Segment",
    "decode_detections",
    "panoptic_head",
]
