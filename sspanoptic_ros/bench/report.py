# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The report of ``sspanoptic-bench bag run`` and the demo: its summary, its table and its plot.

:func:`keeps_up` judges one run (the criterion of the peak search as well); :func:`build_report`
assembles the bag, the engine-only figures, the runs and the peak; :func:`format_report` prints
it as text with a table of the runs, and :func:`plot_report` draws latency and throughput.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .player import BagFrames

TOLERANCE = 0.05  # a run keeps up when output >= 95% of the playback rate and <= 5% is missed
KEEPS_UP_RULE = (
    f"keeps up: the player reached {1 - TOLERANCE:.0%} of the rate asked for, the output FPS is at "
    f"least {1 - TOLERANCE:.0%} of the played rate and at most {TOLERANCE:.0%} of the frames were missed"
)
LATENCY_KEYS = ("mean", "p50", "p90", "p99", "max")


def keeps_up(run: dict, tolerance: float = TOLERANCE) -> bool:
    """Whether a run's output kept up with its input.

    True when the player reached the requested rate (within ``tolerance``), the output FPS is
    within ``tolerance`` of the playback rate, and at most that fraction of frames was missed.
    """
    played, output = run["playback_rate"], run["output_fps"]
    if played is None or output is None:
        return False
    if run["rate"] != "bag" and played < (1 - tolerance) * run["rate"]:
        return False
    return output >= (1 - tolerance) * played and run["missed"] <= tolerance * run["sent"]


def bag_summary(path: Path, frames: BagFrames, first: np.ndarray, rate: float) -> dict:
    """Describe a bag for the report: path, topic, type, encoding, frames, size and rate."""
    msg = frames.messages[0]
    return {
        "path": str(path),
        "topic": frames.topic,
        "type": frames.msg_type.__name__,
        "encoding": msg.format if frames.compressed else msg.encoding,
        "frames": len(frames.messages),
        "size": list(first.shape[:2]),
        "rate": rate,
    }


def build_report(
    bag: dict, engine: dict | None, runs: list[dict], peak: tuple[float | None, float | None] | None
) -> dict:
    """Assemble the report; ``peak`` = (highest rate kept up, lowest not kept up) of the search.

    ``node_fps`` is the output FPS of the best run that keeps up (:func:`keeps_up`), and
    ``node_engine_ratio`` compares that run with the engine alone; both are None when no run
    kept up. A run that does not keep up drops frames, so its output FPS is no throughput.
    """
    best = max((r for r in runs if keeps_up(r)), key=lambda r: r["output_fps"], default=None)
    node_fps = best["output_fps"] if best else None
    ratio = node_fps / engine["fps"] if node_fps is not None and engine else None
    return {
        "bag": bag,
        "engine": engine,
        "runs": runs,
        "peak": None if peak is None else {"kept_up": peak[0], "failed": peak[1]},
        "best_run": None if best is None else runs.index(best),
        "node_fps": node_fps,
        "node_engine_ratio": ratio,
    }


def _number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _rate_text(rate: float | str) -> str:
    return rate if rate == "bag" else f"{rate:.1f} Hz"


def _peak_text(report: dict) -> str:
    """Describe the best run that keeps up, and the lowest rate the peak search saw fail."""
    peak = report["peak"] or {}
    failed = f", {peak['failed']:.1f} Hz failed" if peak.get("failed") is not None else ""
    if report["best_run"] is None:
        return f"no run kept up{failed}"
    best = report["runs"][report["best_run"]]
    return (f"{best['output_fps']:.1f} FPS, the {best['kind']} run at {_rate_text(best['rate'])} "
            f"(played {best['playback_rate']:.1f} Hz){failed}")


def format_report(report: dict) -> str:
    """Format the report as text: the bag, the engine-only FPS, a table of the runs, the peak."""
    bag, engine = report["bag"], report["engine"]
    lines = [
        f"bag {bag['path']}: {bag['frames']} frames {bag['size'][0]}x{bag['size'][1]} {bag['encoding']}"
        f" on {bag['topic']} at {bag['rate']:.1f} Hz"
    ]
    if engine:
        gpu = engine["gpu_memory_mib"]
        lines.append(
            f"engine only ({engine['backend']} on {engine['device']}): {engine['fps']:.2f} FPS"
            + (f", GPU memory {gpu:.0f} MiB" if gpu is not None else "")
        )
    lines += [
        "| run | rate | played Hz | output FPS | sent | received | missed "
        "| latency ms mean / p50 / p90 / p99 / max | jitter ms | node CPU % | node peak RSS MiB | keeps up |",
        "|" + " --- |" * 12,
    ]
    for r in report["runs"]:
        latency = r["latency_ms"] or dict.fromkeys(LATENCY_KEYS)
        cells = [
            r["kind"],
            _rate_text(r["rate"]),
            _number(r["playback_rate"]),
            _number(r["output_fps"]),
            str(r["sent"]),
            str(r["received"]),
            str(r["missed"]),
            " / ".join(_number(latency[k]) for k in LATENCY_KEYS),
            _number(r["jitter_ms"]),
            f"{r['cpu_percent']:.0f}",
            f"{r['peak_rss_mib']:.0f}",
            "yes" if keeps_up(r) else "no",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append(KEEPS_UP_RULE)
    lines.append(f"peak throughput: {_peak_text(report)}")
    ratio = report["node_engine_ratio"]
    lines.append(f"node / engine FPS: {ratio:.2f} of that run (target >= 0.9)" if ratio is not None
                 else "node / engine FPS: - (no run kept up)")
    return "\n".join(lines)


def plot_report(report: dict, path: Path) -> Path:
    """Write a PNG: latency over time per run, and output FPS against playback rate."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(12, 4.5), layout="constrained")
    latency_axes, fps_axes = figure.subplots(1, 2)
    for r in report["runs"]:
        if r["latency_series"]:
            series = np.array(r["latency_series"])
            label = f"{r['kind']} {_rate_text(r['rate'])}"
            latency_axes.plot(series[:, 0], series[:, 1], ".-", markersize=3, label=label)
    latency_axes.set(xlabel="seconds since the run's first frame", ylabel="latency ms",
                     title="publish to output latency")
    latency_axes.legend(fontsize="small")
    runs = [r for r in report["runs"] if r["playback_rate"] is not None]
    played = [r["playback_rate"] for r in runs]
    fps_axes.plot(played, [r["output_fps"] or 0.0 for r in runs], "o", label="runs")
    if played:
        fps_axes.plot([0, max(played)], [0, max(played)], "--", color="grey", label="output = input")
    if report["engine"]:
        fps_axes.axhline(report["engine"]["fps"], color="red", linestyle=":", label="engine only")
    fps_axes.set(xlabel="playback rate Hz", ylabel="output FPS", title="throughput")
    fps_axes.legend(fontsize="small")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    return path
