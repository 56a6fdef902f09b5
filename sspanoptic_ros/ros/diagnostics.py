# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Per-camera frame rate, latency, frame counts and health, reported as ``diagnostic_msgs``.

Latency is measured from the receipt of an image to the publication of its outputs (waiting
in the newest-frame slot, decoding, inference, publishing). Rates and latencies cover the
period since the previous report; frame counts are totals since the camera was activated.

Levels follow diagnostic_updater's FrequencyStatus and TimeStampStatus conventions: STALE when
no image came for ``stale_timeout`` seconds, ERROR while every frame of the period failed, WARN
when some failed or the output rate is below ``expected_fps`` by more than the tolerance, else
OK. The message says why.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from diagnostic_msgs.msg import DiagnosticStatus, KeyValue

from .latest_frame import SlotCounts


@dataclass(frozen=True)
class PeriodReport:
    """What one camera's worker did since the previous report."""

    fps: float
    latency_mean: float  # seconds; 0.0 when no frame was processed
    latency_max: float
    latency_p50: float  # nearest-rank percentiles of the period's latencies
    latency_p99: float
    processed: int  # totals since activation
    failed: int
    processed_in_period: int
    failed_in_period: int


@dataclass(frozen=True)
class HealthLimits:
    """What a healthy camera stream is: ``expected_fps`` 0 means no rate check."""

    expected_fps: float = 0.0
    fps_tolerance: float = 0.1  # fraction of expected_fps the output rate may fall short by
    stale_timeout: float = 5.0  # seconds without an image before the camera is STALE


class InferenceStats:
    """Thread-safe counters of one camera's processed and failed frames and their latencies."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._processed = self._failed = 0
        self._start = clock()
        self._period_failed = 0
        self._latencies: list[float] = []

    def add_processed(self, latency: float) -> None:
        """Count a frame whose outputs were published ``latency`` seconds after its receipt."""
        with self._lock:
            self._processed += 1
            self._latencies.append(latency)

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
            latencies = self._latencies
            p50, p99 = np.percentile(latencies, [50, 99], method="inverted_cdf") if latencies else (0.0, 0.0)
            report = PeriodReport(
                fps=len(latencies) / elapsed if elapsed > 0 else 0.0,
                latency_mean=sum(latencies) / len(latencies) if latencies else 0.0,
                latency_max=max(latencies, default=0.0),
                latency_p50=float(p50),
                latency_p99=float(p99),
                processed=self._processed,
                failed=self._failed,
                processed_in_period=len(latencies),
                failed_in_period=self._period_failed,
            )
            self._start = now
            self._period_failed = 0
            self._latencies = []
            return report


def camera_status(
    name: str,
    report: PeriodReport,
    counts: SlotCounts,
    info: dict[str, str],
    limits: HealthLimits = HealthLimits(),
    image_age: float = 0.0,
    camera_info: str = "",
    silence: str = "",
) -> DiagnosticStatus:
    """Build the DiagnosticStatus of one camera; ``info`` adds fixed key/values (backend, ...).

    ``image_age``: seconds since the last image arrived (since activation before the first);
    ``camera_info``: the camera_info topic when none arrived on it, else empty; ``silence``: why
    no image comes (``silence.silence_reason``), added to a STALE status.
    """
    values = {
        "fps": f"{report.fps:.2f}",
        "expected fps": f"{limits.expected_fps:.2f}" if limits.expected_fps else "no check",
        "latency mean [ms]": f"{report.latency_mean * 1e3:.1f}",
        "latency p50 [ms]": f"{report.latency_p50 * 1e3:.1f}",
        "latency p99 [ms]": f"{report.latency_p99 * 1e3:.1f}",
        "latency max [ms]": f"{report.latency_max * 1e3:.1f}",
        "seconds since last image": f"{image_age:.1f}",
        "frames received": str(counts.received),
        "frames processed": str(report.processed),
        "frames dropped": str(counts.dropped),
        "frames failed": str(report.failed),
        "camera_info": f"none received on {camera_info}" if camera_info else "received",
        **info,
    }
    level, message = _health(report, counts, limits, image_age)
    if silence and level == DiagnosticStatus.STALE:
        message += f": {silence}"
    if camera_info and level == DiagnosticStatus.OK:
        message += f"; no camera_info on {camera_info}"
    return DiagnosticStatus(
        level=level,
        name=name,
        message=message,
        hardware_id=info.get("device", ""),
        values=[KeyValue(key=k, value=v) for k, v in values.items()],
    )


def _health(
    report: PeriodReport, counts: SlotCounts, limits: HealthLimits, image_age: float
) -> tuple[bytes, str]:
    """Return the level of a camera's status and why, most severe first."""
    if image_age > limits.stale_timeout:
        waited = "no image yet" if counts.received == 0 else "no image"
        return (
            DiagnosticStatus.STALE,
            f"{waited} for {image_age:.1f} s (stale_timeout {limits.stale_timeout:g} s)",
        )
    if report.failed_in_period and not report.processed_in_period:
        return (
            DiagnosticStatus.ERROR,
            f"inference failing: all {report.failed_in_period} frames of the last period failed",
        )
    if report.failed_in_period:
        return DiagnosticStatus.WARN, f"{report.failed_in_period} frames failed in the last period"
    if counts.received == 0:
        return DiagnosticStatus.OK, "waiting for images"
    minimum = limits.expected_fps * (1.0 - limits.fps_tolerance)
    if limits.expected_fps and report.fps < minimum:
        return DiagnosticStatus.WARN, (
            f"{report.fps:.1f} FPS, below the expected {limits.expected_fps:g} FPS "
            f"(tolerance {limits.fps_tolerance:.0%})"
        )
    return DiagnosticStatus.OK, f"{report.fps:.1f} FPS"
