# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""ROS 2 side of the package: message conversion and the panoptic segmentation node."""
