# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Deployable model files: ONNX graphs (with EfficientNMS), TensorRT plans and their metadata.

Below the engine, which loads, caches and builds them; the ``sspanoptic-export`` CLI (``export``)
calls the same functions.
"""
