# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Summary statistics shared by the benchmarks."""

from __future__ import annotations

import math


def percentile(values: list[float], q: float) -> float:
    """Return the ``q``-th percentile (0 < q <= 100) of ``values`` (nearest rank)."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 < q <= 100:
        raise ValueError(f"q must be in (0, 100], got {q}")
    ordered = sorted(values)
    return ordered[max(math.ceil(q / 100 * len(ordered)) - 1, 0)]
