# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Detector post-processing and the parameter-free panoptic head (no ROS imports)."""

from .decode import DecodeParams, decode_detections
from .detections import Detections
from .panoptic import panoptic_head
from .params import PanopticParams
from .result import PanopticResult, Segment

__all__ = [
    "DecodeParams",
    "Detections",
    "PanopticParams",
    "PanopticResult",
    "Segment",
    "decode_detections",
    "panoptic_head",
]
