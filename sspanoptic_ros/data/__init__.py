# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Training data: the COCO panoptic loader, transforms and the synthetic panoptic world."""
