# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Per-camera frame rate, latency and frame counts, reported as ``diagnostic_msgs``.

Latency is measured from the receipt of an image to the publication of its outputs (waiting
in the newest-frame slot, decoding, inference, publishing). Rates and latencies cover the
period since the previous report; frame counts are totals since the camera was activated.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from diagnostic_msgs.msg import DiagnosticStatus, KeyValue

from .latest_frame import SlotCounts


@dataclass(frozen=True)
class PeriodReport:
    """What one camera's worker did since the previous report."""

    fps: float
    latency_mean: float  # seconds; 0.0 when no frame was processed
    latency_max: float
    processed: int  # totals since activation
    failed: int
    failed_in_period: int


class InferenceStats:
    """Thread-safe counters of one camera's processed and failed frames and their latencies."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._processed = self._failed = 0
        self._start = clock()
        self._period_processed = self._period_failed = 0
        self._latency_sum = self._latency_max = 0.0

    def add_processed(self, latency: float) -> None:
        """Count a frame whose outputs were published ``latency`` seconds after its receipt."""
        with self._lock:
            self._processed += 1
            self._period_processed += 1
            self._latency_sum += latency
            self._latency_max = max(self._latency_max, latency)

    def add_failed(self) -> None:
        """Count a frame that could not be decoded or processed."""
        with self._lock:
            self._failed += 1
            self._period_failed += 1

    def report(self) -> PeriodReport:
        """Return the statistics of the period since the last report and start a new period."""
        with self._lock:
            now = self._clock()
            elapsed = now - self._start
            count = self._period_processed
            report = PeriodReport(
                fps=count / elapsed if elapsed > 0 else 0.0,
                latency_mean=self._latency_sum / count if count else 0.0,
                latency_max=self._latency_max,
                processed=self._processed,
                failed=self._failed,
                failed_in_period=self._period_failed,
            )
            self._start = now
            self._period_processed = self._period_failed = 0
            self._latency_sum = self._latency_max = 0.0
            return report


def camera_status(
    name: str, report: PeriodReport, counts: SlotCounts, info: dict[str, str]
) -> DiagnosticStatus:
    """Build the DiagnosticStatus of one camera; ``info`` adds fixed key/values (backend, ...).

    Level OK, or WARN when frames failed during the period.
    """
    values = {
        "fps": f"{report.fps:.2f}",
        "latency mean [ms]": f"{report.latency_mean * 1e3:.1f}",
        "latency max [ms]": f"{report.latency_max * 1e3:.1f}",
        "frames received": str(counts.received),
        "frames processed": str(report.processed),
        "frames dropped": str(counts.dropped),
        "frames failed": str(report.failed),
        **info,
    }
    if report.failed_in_period:
        level = DiagnosticStatus.WARN
        message = f"{report.failed_in_period} frames failed in the last period"
    elif counts.received == 0:
        level, message = DiagnosticStatus.OK, "waiting for images"
    else:
        level, message = DiagnosticStatus.OK, f"{report.fps:.1f} FPS"
    return DiagnosticStatus(
        level=level,
        name=name,
        message=message,
        hardware_id=info.get("device", ""),
        values=[KeyValue(key=k, value=v) for k, v in values.items()],
    )
