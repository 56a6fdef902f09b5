# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Summary statistics and JSON output shared by the benchmarks."""

from __future__ import annotations

import json
import math
from pathlib import Path


def percentile(values: list[float], q: float) -> float:
    """Return the ``q``-th percentile (0 < q <= 100) of ``values`` (nearest rank)."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 < q <= 100:
        raise ValueError(f"q must be in (0, 100], got {q}")
    ordered = sorted(values)
    return ordered[max(math.ceil(q / 100 * len(ordered)) - 1, 0)]


def write_json(path: Path | None, result: dict) -> None:
    """Write ``result`` to ``path`` as JSON (nothing when ``path`` is None)."""
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=1))
