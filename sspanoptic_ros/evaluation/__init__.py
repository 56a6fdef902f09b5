# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Panoptic quality (PQ) evaluation, numerically identical to the COCO panoptic API."""
