# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The node benchmarked on a camera bag (``sspanoptic-bench bag run``, ``bag_cli``).

The method follows NVIDIA's ros2_benchmark. The bag's frames are loaded into memory, the node
runs as its own process, and a player and a monitor in this process feed it and watch its
``panoptic/panoptic`` output. Each run plays the frames at a fixed rate (or the bag's own
timing) for a few seconds, restamped with the send time, and reports the playback rate, output
FPS, frames sent / received / missed, latency from publish to output (mean, p50, p90, p99, max),
jitter of the output intervals, and the node process's CPU use and peak RSS. A geometric search
then finds the peak throughput: the highest playback rate whose output keeps up within 5% with
at most 5% of the frames missed. The same frames run through ``Engine.infer`` without ROS give
the engine-only FPS that the node's best output FPS is compared with (target ratio >= 0.9).
The node session (process, player, monitor) is ``session.py``'s; the report is ``report.py``'s.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from ..ros.image_codec import message_to_rgb
from .player import BagFrames, load_bag
from .report import TOLERANCE, bag_summary, build_report, keeps_up
from .session import NodeSession, session_node_command, session_output_prefix

DEFAULT_RATES = (None, 10.0, 30.0, 60.0)  # Hz; None: the bag's own timing
MIN_SEARCH_FRAMES = 6  # a peak search run lasts long enough to send at least this many frames


def search_peak(
    trial: Callable[[float], dict],
    start_rate: float,
    max_trials: int = 6,
    resolution: float = 0.1,
    tolerance: float = TOLERANCE,
) -> tuple[float | None, float | None, list[dict]]:
    """Find the highest rate at which ``trial(rate)`` :func:`keeps_up`.

    Doubles the rate while runs keep up and halves it while they do not, then bisects the
    bracket geometrically until its ends are within a factor ``1 + resolution``, in at most
    ``max_trials`` runs. Returns the highest rate that kept up and the lowest that did not
    (None where there was none), and the runs.
    """
    if not start_rate > 0:
        raise ValueError(f"start_rate must be > 0 Hz, got {start_rate}")
    low = high = None
    rate, runs = start_rate, []
    for _ in range(max_trials):
        run = trial(rate)
        runs.append(run)
        if keeps_up(run, tolerance):
            low = rate
        else:
            high = rate
        if high is None:
            rate *= 2
        elif low is None:
            rate /= 2
        elif high / low <= 1 + resolution:
            break
        else:
            rate = math.sqrt(low * high)
    return low, high, runs


def decode_frames(frames: BagFrames, limit: int = 30) -> list[np.ndarray]:
    """Return the first ``limit`` frames as RGB uint8 arrays (decoded as the node decodes them)."""
    return [np.array(message_to_rgb(msg)) for msg in frames.messages[:limit]]


def engine_only(
    images: list[np.ndarray],
    model: str | Path,
    backend: str = "auto",
    device: str | None = None,
    seconds: float = 5.0,
    warmup: int = 3,
) -> dict:
    """Run ``Engine.infer`` over ``images`` in a loop for ``seconds``; return FPS and memory."""
    import torch

    from ..engine import create_engine

    engine = create_engine(model, backend, device)
    cuda = engine.device.type == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats(engine.device)
    for i in range(warmup):
        engine.infer(images[i % len(images)])
    count, start = 0, time.perf_counter()
    while count < 3 or time.perf_counter() - start < seconds:
        engine.infer(images[count % len(images)])
        count += 1
    elapsed = time.perf_counter() - start
    result = {
        "backend": engine.backend.name,
        "device": str(engine.device),
        "fps": count / elapsed,
        "frames": count,
        "gpu_memory_mib": torch.cuda.max_memory_allocated(engine.device) / 2**20 if cuda else None,
    }
    if cuda:  # leave the GPU memory to the node
        del engine
        torch.cuda.empty_cache()
    return result


class BagBenchmark:
    """The node benchmarked on one bag: an engine-only run, node runs in one session, the report.

    :meth:`run` takes every step (``sspanoptic-bench bag run``); the demo takes them one by one
    and adds its own while the node runs. Use as a context manager around the node runs:
    entering starts the node (see :class:`NodeSession`), leaving stops it. The node's log is
    ``out_dir``/node.log, the report ``out_dir``/report.json; :meth:`report` needs the node to
    have started (it reads the bag's rate from the session's player).
    """

    def __init__(
        self,
        bag: Path,
        model: Path,
        out_dir: Path,
        topic: str | None = None,
        backend: str = "auto",
        device: str | None = None,
        domain_id: int | None = None,
        keep_colored: int = 0,
        extra_outputs: Mapping[str, type] | None = None,
    ):
        # extra_outputs: outputs (name -> type) also subscribed to, so that the node builds them;
        # otherwise only panoptic/panoptic, by which frames are timed.
        if not Path(model).is_file():
            raise FileNotFoundError(f"model file not found: {model}")
        self.bag, self.model, self.out_dir = Path(bag), model, Path(out_dir)
        self.backend, self.device = backend, device
        self.frames = load_bag(bag, topic)
        self.images = decode_frames(self.frames)
        command = session_node_command(model, backend, device, self.frames.topic, self.frames.compressed)
        prefix = session_output_prefix(self.frames.topic, self.frames.compressed)
        self.session = NodeSession(self.frames, command, self.out_dir / "node.log", domain_id, keep_colored,
                                   output_prefix=prefix, extra_outputs=extra_outputs)
        self.engine: dict | None = None
        self.runs: list[dict] = []
        self.peak: tuple[float | None, float | None] | None = None

    def __enter__(self) -> BagBenchmark:
        self.session.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.session.close()

    def time_engine(self, seconds: float) -> dict:
        """Time the engine alone on the bag's frames (:func:`engine_only`); best before the node starts."""
        self.engine = engine_only(self.images, self.model, self.backend, self.device, seconds)
        return self.engine

    def fixed_runs(self, rates: Sequence[float | None], seconds: float) -> list[dict]:
        """Play the frames at each rate (Hz, None: the bag's timing) for ``seconds``; return the runs."""
        runs = [{"kind": "fixed", **self.session.trial(rate, seconds)} for rate in rates]
        self.runs += runs
        return runs

    def search(self, trials: int, seconds: float) -> tuple[float | None, float | None] | None:
        """Search the peak throughput (:func:`search_peak`) in at most ``trials`` runs of ``seconds``.

        Starts at the engine-only FPS (else the bag's rate). Returns (highest rate kept up,
        lowest rate not kept up), or None without a search (``trials`` <= 0).
        """
        if trials <= 0:
            return None
        start_rate = self.engine["fps"] if self.engine else self.session.player.bag_rate
        *peak, runs = search_peak(
            lambda rate: self.session.trial(rate, max(seconds, MIN_SEARCH_FRAMES / rate)), start_rate, trials
        )
        self.runs += [{"kind": "search", **run} for run in runs]
        self.peak = tuple(peak)
        return self.peak

    def report(self) -> dict:
        """Build the report of the runs so far (:func:`build_report`); write ``out_dir``/report.json."""
        summary = bag_summary(self.bag, self.frames, self.images[0], self.session.player.bag_rate)
        report = build_report(summary, self.engine, self.runs, self.peak)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        (self.out_dir / "report.json").write_text(json.dumps(report, indent=1))
        return report

    def run(
        self,
        rates: Sequence[float | None] = DEFAULT_RATES,
        seconds: float = 5.0,
        peak_trials: int = 6,
        peak_seconds: float = 4.0,
        engine_seconds: float = 5.0,
        ready_timeout: float = 180.0,
    ) -> dict:
        """Take every step: engine-only run, node runs, peak search; write and return the report.

        ``rates`` in Hz, None: the bag's timing. ``engine_seconds`` = 0 skips the engine-only run.
        """
        if engine_seconds > 0:
            self.time_engine(engine_seconds)
        with self:
            self.session.wait_ready(ready_timeout)
            self.fixed_runs(rates, seconds)
            self.search(peak_trials, peak_seconds)
        return self.report()
