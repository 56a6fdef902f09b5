# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Single-Shot Panoptic Segmentation (Weber, Luiten, Leibe, IROS 2020) for ROS 2."""

__version__ = "0.1.0"
