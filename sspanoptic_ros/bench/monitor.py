# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Watch the node's outputs, match each to its input by header stamp, and summarise a run.

:class:`Monitor` records when each ``panoptic/panoptic`` output arrives (reliable subscription),
optionally keeps the latest ``panoptic/colored`` pictures, and optionally records when each input
frame arrived, for inputs another process sends (``ros2 bag play``). :func:`run_stats` turns
send and receive times into the numbers of a run. Run as ``python -m sspanoptic_ros.bench.monitor``
it prints those numbers for a node fed by another process.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image

from ..ros import topics
from ..ros.image_codec import image_to_rgb, stamp_ns
from ..ros.shutdown import ignore_interrupts, interrupt_once, mute_interrupts
from .stats import percentile

OUTPUT_PREFIX = "/panoptic"


class Monitor:
    """Receive times (``time.monotonic_ns()``) of the node's outputs, by frame.

    A frame is known by its header stamp in ns. With ``input_topic``, the monitor also records
    each input frame's arrival and knows frames by their arrival number instead: a looping bag
    repeats its stamps, and an output belongs to the latest input with its stamp. The input
    subscription is best effort, so that it matches any publisher.
    """

    def __init__(
        self,
        node: Node,
        output_prefix: str = OUTPUT_PREFIX,
        keep_colored: int = 0,
        input_topic: str | None = None,
        input_type: type = Image,
        extra_outputs: Mapping[str, type] | None = None,
    ):
        # extra_outputs: more outputs (name -> type) to subscribe to and drop, so that the node
        # builds them (it builds only the outputs with subscribers).
        self._lock = threading.Lock()
        self._outputs: dict[int, int] = {}
        self._arrivals: list[tuple[int, int]] = []  # (arrival number, time) of input frames
        self._latest: dict[int, int] | None = None  # stamp -> arrival number of its latest input
        self._count = itertools.count()
        self._colored: OrderedDict[int, np.ndarray] = OrderedDict()
        self._keep_colored = keep_colored
        reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        node.create_subscription(Image, f"{output_prefix}/panoptic", self._on_output, reliable)
        if keep_colored:
            node.create_subscription(Image, f"{output_prefix}/colored", self._on_colored, reliable)
        for name, msg_type in (extra_outputs or {}).items():
            node.create_subscription(msg_type, f"{output_prefix}/{name}", lambda msg: None, reliable)
        if input_topic is not None:
            self._latest = {}
            best_effort = QoSProfile(depth=10, reliability=ReliabilityPolicy.BEST_EFFORT)
            node.create_subscription(input_type, input_topic, self._on_input, best_effort)

    def _on_output(self, msg: Image) -> None:
        now, stamp = time.monotonic_ns(), stamp_ns(msg.header.stamp)
        with self._lock:
            frame = stamp if self._latest is None else self._latest.get(stamp)
            if frame is not None:  # None: the output of an input not seen here
                self._outputs[frame] = now

    def _on_input(self, msg: Image | CompressedImage) -> None:
        now, stamp = time.monotonic_ns(), stamp_ns(msg.header.stamp)
        with self._lock:
            frame = next(self._count)
            self._arrivals.append((frame, now))
            self._latest[stamp] = frame

    def _on_colored(self, msg: Image) -> None:
        picture = np.array(image_to_rgb(msg))
        with self._lock:
            self._colored[stamp_ns(msg.header.stamp)] = picture
            while len(self._colored) > self._keep_colored:
                self._colored.popitem(last=False)

    def reset(self) -> None:
        """Forget everything received so far."""
        with self._lock:
            self._outputs.clear()
            self._arrivals.clear()
            if self._latest is not None:
                self._latest.clear()
            self._colored.clear()

    def outputs(self) -> dict[int, int]:
        """Return {frame: receive time ns} of every output received so far (a copy)."""
        with self._lock:
            return dict(self._outputs)

    def inputs(self) -> list[tuple[int, int]]:
        """Return (frame, receive time ns) of every input frame seen, with ``input_topic``."""
        with self._lock:
            return list(self._arrivals)

    def colored(self) -> dict[int, np.ndarray]:
        """Return the last ``keep_colored`` colourised outputs, {stamp ns: RGB image}, oldest first."""
        with self._lock:
            return dict(self._colored)


def rate_hz(times_ns: list[int]) -> float | None:
    """Events per second over the span of ``times_ns``: (n - 1) / (last - first); None if n < 2."""
    if len(times_ns) < 2 or max(times_ns) == min(times_ns):
        return None
    return (len(times_ns) - 1) * 1e9 / (max(times_ns) - min(times_ns))


def run_stats(sent: list[tuple[int, int]], received: dict[int, int]) -> dict:
    """Summarise a run from its sent [(frame, send time ns)] and received {frame: time ns}.

    A frame is anything naming one input, such as its stamp. Outputs of frames not sent in this
    run are ignored. Returns playback_rate and
    output_fps (Hz, None with fewer than two events), the sent / received / missed counts,
    latency_ms (mean, p50, p90, p99, max of receive minus send time; None without outputs),
    jitter_ms (standard deviation of the intervals between outputs; None with fewer than three)
    and latency_series ([seconds since the first send, latency ms] per received frame).
    """
    if not sent:
        raise ValueError("a run must send at least one frame")
    pairs = [(t_sent, received[frame]) for frame, t_sent in sent if frame in received]
    latencies = [(t_out - t_sent) / 1e6 for t_sent, t_out in pairs]
    arrivals = sorted(t_out for _, t_out in pairs)
    intervals = [(b - a) / 1e6 for a, b in zip(arrivals, arrivals[1:])]
    first = sent[0][1]
    return {
        "playback_rate": rate_hz([t for _, t in sent]),
        "output_fps": rate_hz(arrivals),
        "sent": len(sent),
        "received": len(pairs),
        "missed": len(sent) - len(pairs),
        "latency_ms": {
            "mean": statistics.fmean(latencies),
            "p50": percentile(latencies, 50),
            "p90": percentile(latencies, 90),
            "p99": percentile(latencies, 99),
            "max": max(latencies),
        } if latencies else None,
        "jitter_ms": statistics.stdev(intervals) if len(intervals) >= 2 else None,
        "latency_series": [[(t_sent - first) / 1e9, lat] for (t_sent, _), lat in zip(pairs, latencies)],
    }


def main(argv: list[str] | None = None) -> int:
    """Print output FPS and latency of a node fed by another process, e.g. ``ros2 bag play``.

    Latency runs from the input frame's arrival here to its output's arrival; each line
    covers one period. SIGINT or SIGTERM ends it early, with the periods so far in ``--json``.
    """
    import rclpy

    parser = argparse.ArgumentParser(
        prog="python -m sspanoptic_ros.bench.monitor", description=main.__doc__.splitlines()[0]
    )
    parser.add_argument("--topic", required=True, help="the node's camera topic")
    parser.add_argument("--use-compressed", choices=("true", "false"), default="false",
                        help="true: the camera publishes <topic>/compressed, as the node's parameter")
    parser.add_argument("--output-prefix", help="the node's output namespace; default: beside the "
                        "camera topic, as the node publishes (/a/image -> /a/panoptic)")
    parser.add_argument("--depth-topic", default="", help="the node's depth topic: also subscribe to "
                        "its 3D outputs, so that it builds them (empty: none)")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds to watch")
    parser.add_argument("--period", type=float, default=5.0, help="seconds per printed line")
    parser.add_argument("--json", type=Path, help="write the numbers of every period here")
    args = parser.parse_args(argv)
    compressed = args.use_compressed == "true"
    topic = f"{args.topic}/compressed" if compressed else args.topic
    interrupt_once()
    rclpy.init()
    node = rclpy.create_node("panoptic_bench_monitor")
    extra = {}
    if args.depth_topic:
        from ..ros.outputs_3d import OUTPUTS_3D  # with torch: only when the node builds them

        extra = OUTPUTS_3D
    monitor = Monitor(node, args.output_prefix or topics.output_prefix(args.topic), input_topic=topic,
                      input_type=CompressedImage if compressed else Image, extra_outputs=extra)
    periods = []
    end = time.monotonic() + args.duration
    try:
        while rclpy.ok() and time.monotonic() < end:
            monitor.reset()
            period_end = min(end, time.monotonic() + args.period)
            while rclpy.ok() and time.monotonic() < period_end:
                rclpy.spin_once(node, timeout_sec=0.1)
            inputs = monitor.inputs()
            if not inputs:
                print(f"no input on {topic}")
                continue
            stats = run_stats(inputs, monitor.outputs())
            del stats["latency_series"]
            periods.append(stats)
            print(format_line(stats), flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        mute_interrupts()
        node.destroy_node()
        rclpy.try_shutdown()
    if args.json and periods:
        args.json.write_text(json.dumps(periods, indent=2))
    elif args.json:
        print(f"no frame measured: no report written to {args.json}")
    ignore_interrupts()
    return 0


def format_line(stats: dict) -> str:
    """One line: input rate, output FPS, counts and latency percentiles."""
    def hz(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}"

    latency = stats["latency_ms"]
    text = (f"input {hz(stats['playback_rate'])} Hz, output {hz(stats['output_fps'])} FPS,"
            f" {stats['received']}/{stats['sent']} frames")
    if latency:
        text += (f", latency ms mean {latency['mean']:.1f} p50 {latency['p50']:.1f}"
                 f" p90 {latency['p90']:.1f} p99 {latency['p99']:.1f} max {latency['max']:.1f}")
    return text


if __name__ == "__main__":
    raise SystemExit(main())
