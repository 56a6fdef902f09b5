# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Micro-benchmarks, each runnable as ``python -m sspanoptic_ros.bench.<name>``."""
