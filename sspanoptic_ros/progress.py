# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""A dependency-free progress bar for the command-line tools (written to stderr)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def progress(items: Iterable[T], total: int | None, label: str) -> Iterator[T]:
    """Yield ``items`` while printing ``label [####    ] i/total  rate/s`` to stderr."""
    start, done = time.perf_counter(), 0
    interactive = sys.stderr.isatty()
    for item in items:
        yield item
        done += 1
        if not interactive and total and done % max(1, total // 10) and done != total:
            continue
        rate = done / max(time.perf_counter() - start, 1e-9)
        bar = f"[{'#' * (20 * done // total):<20}] {done}/{total}" if total else f"{done}"
        end = "\r" if interactive and done != total else "\n"
        print(f"{label} {bar} {rate:.1f}/s", end=end, file=sys.stderr, flush=True)
