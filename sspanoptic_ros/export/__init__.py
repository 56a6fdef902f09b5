# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Converters from trained checkpoints to deployable artifacts (ONNX, TensorRT plans)."""
