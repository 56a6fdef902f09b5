# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Summary statistics, runs in turns, FLOP counts and JSON output shared by the benchmarks.

Pure Python at import (tools/gpu_check.py reads it without torch); torch is imported where used.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import torch

T = TypeVar("T")


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


def in_turns(calls: Sequence[Callable[[], T]], rounds: int, warmup: int = 0) -> list[list[T]]:
    """Call each of ``calls`` once per round, in turns (A B A B ...); per call, what it returned.

    Load that changes during a benchmark then hits all calls alike, so ratios taken round by
    round (``pair_ratios``) hold where medians of runs at different times do not. The first
    ``warmup`` rounds are run and dropped.
    """
    results: list[list[T]] = [[] for _ in calls]
    for round_ in range(warmup + rounds):
        for out, call in zip(results, calls):
            value = call()
            if round_ >= warmup:
                out.append(value)
    return results


def timed_ms(fn: Callable[[], object], device: torch.device) -> Callable[[], float]:
    """``fn`` made to return its wall time in milliseconds (CUDA synchronised before and after)."""
    sync = lambda: None  # noqa: E731
    if device.type == "cuda":
        import torch

        sync = partial(torch.cuda.synchronize, device)

    def call() -> float:
        sync()
        start = time.perf_counter()
        fn()
        sync()
        return (time.perf_counter() - start) * 1e3

    return call


def pair_ratios(numerators: list[float], denominators: list[float]) -> dict:
    """Median, min and max of the ratios of the same rounds' times (``in_turns``), and the ratios."""
    if len(numerators) != len(denominators) or not numerators:
        raise ValueError(f"need as many times on each side, and some: {len(numerators)}, {len(denominators)}")
    ratios = [a / b for a, b in zip(numerators, denominators)]
    return {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios), "ratios": ratios}


def format_ratio(label: str, ratio: dict) -> str:
    """One line: ``label: median (min .. max over N pairs in turns)``."""
    return (
        f"{label}: {ratio['median']:.2f} (min {ratio['min']:.2f}, max {ratio['max']:.2f}; "
        f"{len(ratio['ratios'])} pairs run in turns)"
    )


def gflop(fn: Callable[[], object]) -> float:
    """Floating-point operations of one call of ``fn`` in GFLOP (a multiply-add counts 2).

    Counted exactly by ``torch.utils.flop_counter.FlopCounterMode``: the same on every machine.
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.inference_mode():
        fn()
    return counter.get_total_flops() / 1e9
