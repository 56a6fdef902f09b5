# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""``sspanoptic-bench bag``: write camera bags (``create``) and benchmark the node on one (``run``).

The method follows NVIDIA's ros2_benchmark. The bag's frames are loaded into memory, the node
runs as its own process, and a player and a monitor in this process feed it and watch its
``panoptic/panoptic`` output. Each run plays the frames at a fixed rate (or the bag's own
timing) for a few seconds, restamped with the send time, and reports the playback rate, output
FPS, frames sent / received / missed, latency from publish to output (mean, p50, p90, p99, max),
jitter of the output intervals, and the node process's CPU use and peak RSS. A geometric search
then finds the peak throughput: the highest playback rate whose output keeps up within 5% with
at most 5% of the frames missed. The same frames run through ``Engine.infer`` without ROS give
the engine-only FPS that the node's best output FPS is compared with (target ratio >= 0.9).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from rclpy.qos import ReliabilityPolicy

from ..data.video import video_frames, video_rate
from .bags import ENCODINGS, STORAGES, folder_frames, synthetic_frames, write_bag
from .monitor import OUTPUT_PREFIX, Monitor, run_stats
from .player import BagFrames, Player, load_bag

# The node's DDS traffic stays on this host, in a domain of its own (see isolated_domain_id).
ROS_ENVIRONMENT = {"ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST", "FASTDDS_BUILTIN_TRANSPORTS": "LARGE_DATA"}
# The frames go to the node reliably (history depth 1 on both sides, so nothing queues): with
# discovery limited to localhost, Fast DDS loses every best-effort message over about 512 KiB
# (a 640x480 rgb8 image is 900 KiB), whatever FASTDDS_BUILTIN_TRANSPORTS says.
INPUT_RELIABILITY = ReliabilityPolicy.RELIABLE
TOLERANCE = 0.05  # a run keeps up when output >= 95% of the playback rate and <= 5% is missed
DEFAULT_RATES = (None, 10.0, 30.0, 60.0)  # Hz; None: the bag's own timing
_SETTLE_S = 0.3  # outputs must pause this long before a run starts
_MAX_WAIT_S = 30.0  # the longest wait for a run's last outputs
MIN_SEARCH_FRAMES = 6  # a peak search run lasts long enough to send at least this many frames
LATENCY_KEYS = ("mean", "p50", "p90", "p99", "max")


def isolated_domain_id() -> int:
    """Return a ROS domain id (120..219) of this process, away from other processes' traffic."""
    return 120 + os.getpid() % 100


def ros_environment(domain_id: int) -> dict[str, str]:
    """Return ``os.environ`` with a private domain on this host, for the node's process."""
    if not 0 <= domain_id <= 232:
        raise ValueError(f"ROS domain id must be in 0..232, got {domain_id}")
    return {**os.environ, **ROS_ENVIRONMENT, "ROS_DOMAIN_ID": str(domain_id)}


def cpu_seconds(pid: int) -> float:
    """Return the user + system CPU time of process ``pid`` so far, from ``/proc/<pid>/stat``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def proc_memory_mib(pid: int, field: str) -> float:
    """Return a memory field of ``/proc/<pid>/status`` in MiB (VmRSS: resident now, VmHWM: peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise ValueError(f"no {field} in /proc/{pid}/status")


def peak_rss_mib(pid: int) -> float:
    """Return the peak resident memory (VmHWM) of process ``pid`` in MiB."""
    return proc_memory_mib(pid, "VmHWM")


def node_command(
    model: str | Path,
    backend: str = "auto",
    device: str | None = None,
    topic: str = "/camera/image",
    compressed: bool = False,
) -> list[str]:
    """Return the command line of the node reading ``topic``; its outputs go to ``/panoptic/...``.

    With ``compressed`` the node reads ``topic`` as a CompressedImage topic.
    """
    command = [sys.executable, "-m", "sspanoptic_ros.ros.node", "--ros-args",
               "-p", f"model_path:={model}", "-p", f"backend:={backend}",
               "-p", f"input_reliability:={INPUT_RELIABILITY.name.lower()}"]
    if device:
        command += ["-p", f"device:={device}"]
    if compressed:
        return command + ["-p", "use_compressed:=true", "-r", f"image/compressed:={topic}"]
    return command + ["-r", f"image:={topic}"]


def _tail(path: Path, lines: int = 20) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


class NodeSession:
    """The node under test as a subprocess, plus a player and a monitor spinning in this process.

    Use as a context manager: entering starts the node and the ROS side here, leaving stops both.
    """

    def __init__(
        self,
        frames: BagFrames,
        command: list[str],
        log_path: Path,
        domain_id: int | None = None,
        keep_colored: int = 0,
        output_prefix: str = OUTPUT_PREFIX,
    ):
        self.frames = frames
        self.command = command
        self.log_path = Path(log_path)
        self.domain_id = isolated_domain_id() if domain_id is None else domain_id
        self.keep_colored = keep_colored
        self.output_prefix = output_prefix
        self.process: subprocess.Popen | None = None
        self.player: Player | None = None
        self.monitor: Monitor | None = None
        self._context = self._node = self._executor = self._thread = None

    def __enter__(self) -> NodeSession:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor

        env = ros_environment(self.domain_id)
        os.environ.update(ROS_ENVIRONMENT)  # read by this process's DDS participant as well
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with self.log_path.open("w") as log:
                self.process = subprocess.Popen(self.command, env=env, stdout=log, stderr=subprocess.STDOUT)
            self._context = rclpy.Context()
            rclpy.init(context=self._context, domain_id=self.domain_id)
            self._node = rclpy.create_node("sspanoptic_bench", context=self._context)
            self.player = Player(self._node, self.frames, INPUT_RELIABILITY)
            self.monitor = Monitor(self._node, self.output_prefix, self.keep_colored)
            self._executor = SingleThreadedExecutor(context=self._context)
            self._executor.add_node(self._node)
            self._thread = threading.Thread(target=self._executor.spin, name="bench-spin", daemon=True)
            self._thread.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop the node (SIGINT, then SIGKILL after 10 s) and the ROS side of this process."""
        if self._executor is not None:
            self._executor.shutdown()
            self._thread.join(5.0)
        if self._node is not None:
            self._node.destroy_node()
        if self._context is not None and self._context.ok():
            self._context.shutdown()
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # the node shuts down cleanly
            try:
                self.process.wait(10.0)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._context = self._node = self._executor = self._thread = None

    def _check_alive(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(
                f"the node exited with code {self.process.returncode}; the end of its log"
                f" {self.log_path}:\n{_tail(self.log_path)}"
            )

    def wait_ready(self, timeout: float = 180.0, warmup_seconds: float = 2.0) -> float:
        """Send a frame every 0.5 s until the first output arrives, then warm up; return seconds.

        Raises TimeoutError without an output after ``timeout`` s, RuntimeError if the node died.
        """
        start = time.monotonic()
        while not self.monitor.outputs():
            self._check_alive()
            if time.monotonic() - start > timeout:
                raise TimeoutError(
                    f"no output on {self.output_prefix}/panoptic within {timeout:.0f} s of starting"
                    f" the node; the end of its log {self.log_path}:\n{_tail(self.log_path)}"
                )
            self.player.publish_next()
            time.sleep(0.5)
        ready = time.monotonic() - start
        if warmup_seconds > 0:
            self.player.play(2.0, warmup_seconds)
        return ready

    def trial(self, rate: float | None, seconds: float) -> dict:
        """Play the frames at ``rate`` Hz (None: the bag's timing) for ``seconds``; return its stats.

        The stats are :func:`run_stats`'s plus the requested ``rate`` ("bag" for the bag's
        timing), and the node's ``cpu_percent`` (while playing; 100 = one core) and
        ``peak_rss_mib`` (over its whole life so far).
        """
        self._settle()
        pid = self.process.pid
        cpu_start, wall_start = cpu_seconds(pid), time.monotonic()
        sent = self.player.play(rate, seconds)
        cpu, wall = cpu_seconds(pid) - cpu_start, time.monotonic() - wall_start
        self._wait_for_outputs(sent)
        self._check_alive()
        return {
            "rate": "bag" if rate is None else rate,
            **run_stats(sent, self.monitor.outputs()),
            "cpu_percent": 100.0 * cpu / wall,
            "peak_rss_mib": peak_rss_mib(pid),
        }

    def _settle(self) -> None:
        """Wait (at most _MAX_WAIT_S) until the outputs of earlier frames stop coming."""
        count, start = -1, time.monotonic()
        changed = start
        while time.monotonic() - changed < _SETTLE_S and time.monotonic() - start < _MAX_WAIT_S:
            if len(self.monitor.outputs()) != count:
                count, changed = len(self.monitor.outputs()), time.monotonic()
            time.sleep(0.05)

    def _wait_for_outputs(self, sent: list[tuple[int, int]]) -> None:
        """Wait until every sent frame has its output, or none came for 2x the worst latency."""
        stamps = {stamp for stamp, _ in sent}
        sent_at = dict(sent)
        start = time.monotonic()
        while time.monotonic() - start < _MAX_WAIT_S and self.process.poll() is None:
            outputs = self.monitor.outputs()
            matched = [outputs[s] - sent_at[s] for s in stamps if s in outputs]
            if len(matched) == len(stamps):
                return
            last = max((outputs[s] for s in stamps if s in outputs), default=sent[-1][1])
            idle = (time.monotonic_ns() - max(last, sent[-1][1])) / 1e9
            if idle > max(1.0, 2e-9 * max(matched, default=0)):
                return
            time.sleep(0.05)

    def segment(self, msg, timeout: float = 10.0, attempts: int = 3) -> np.ndarray | None:
        """Send one image message; return the node's colourised output of it, or None.

        Needs ``keep_colored`` > 0. The input is best effort, so a lost frame is sent again.
        """
        if not self.keep_colored:
            raise ValueError("segment needs a session made with keep_colored > 0")
        for _ in range(attempts):
            self._settle()
            stamp, _ = self.player.publish(msg)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                self._check_alive()
                colored = self.monitor.colored()
                if stamp in colored:
                    return colored[stamp]
                time.sleep(0.05)
        return None


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
    from ..ros.image_codec import compressed_to_rgb, image_to_rgb

    decode = compressed_to_rgb if frames.compressed else image_to_rgb
    return [np.array(decode(msg)) for msg in frames.messages[:limit]]


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

    ``node_fps`` is the best output FPS of any run: a run faster than the node measures how
    fast it goes, since the node drops the frames it has no time for.
    """
    node_fps = max((r["output_fps"] for r in runs if r["output_fps"] is not None), default=None)
    ratio = node_fps / engine["fps"] if node_fps is not None and engine else None
    return {
        "bag": bag,
        "engine": engine,
        "runs": runs,
        "peak": None if peak is None else {"kept_up": peak[0], "failed": peak[1]},
        "node_fps": node_fps,
        "node_engine_ratio": ratio,
    }


def _number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _rate_text(rate: float | str) -> str:
    return rate if rate == "bag" else f"{rate:.1f} Hz"


def _peak_text(kept_up: float | None, failed: float | None) -> str:
    if kept_up is None:
        return f"no rate kept up, down to {failed:.1f} Hz"
    if failed is None:
        return f"at least {kept_up:.1f} Hz (no rate tried failed)"
    return f"{kept_up:.1f} Hz ({failed:.1f} Hz failed)"


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
    peak = report["peak"]
    if peak is not None:
        lines.append(f"peak throughput: {_peak_text(peak['kept_up'], peak['failed'])}")
    lines.append(f"node output FPS (best run): {_number(report['node_fps'], 2)}")
    if report["node_engine_ratio"] is not None:
        lines.append(f"node / engine FPS: {report['node_engine_ratio']:.2f} (target >= 0.9)")
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


def benchmark(
    session: NodeSession,
    rates: list[float | None],
    seconds: float,
    peak_trials: int,
    peak_seconds: float,
    start_rate: float,
) -> tuple[list[dict], tuple[float | None, float | None] | None]:
    """Run the fixed-rate runs, then the peak search (if ``peak_trials`` > 0); return runs, peak.

    ``peak`` is (highest rate kept up, lowest rate not kept up), or None without a search.
    """
    runs = [{"kind": "fixed", **session.trial(rate, seconds)} for rate in rates]
    if peak_trials <= 0:
        return runs, None
    *peak, search_runs = search_peak(
        lambda rate: session.trial(rate, max(peak_seconds, MIN_SEARCH_FRAMES / rate)), start_rate, peak_trials
    )
    return runs + [{"kind": "search", **run} for run in search_runs], tuple(peak)


def run_benchmark(
    bag: Path,
    model: Path,
    out_dir: Path,
    topic: str | None = None,
    backend: str = "auto",
    device: str | None = None,
    rates: Sequence[float | None] = DEFAULT_RATES,
    seconds: float = 5.0,
    peak_trials: int = 6,
    peak_seconds: float = 4.0,
    engine_seconds: float = 5.0,
    ready_timeout: float = 180.0,
    domain_id: int | None = None,
) -> dict:
    """Benchmark the node on a bag; write ``report.json`` and ``node.log`` to ``out_dir``.

    ``rates`` in Hz, None: the bag's timing. ``engine_seconds`` = 0 skips the engine-only run.
    """
    if not Path(model).is_file():
        raise FileNotFoundError(f"model file not found: {model}")
    frames = load_bag(bag, topic)
    images = decode_frames(frames)
    engine = engine_only(images, model, backend, device, engine_seconds) if engine_seconds > 0 else None
    command = node_command(model, backend, device, frames.topic, frames.compressed)
    with NodeSession(frames, command, out_dir / "node.log", domain_id) as session:
        session.wait_ready(ready_timeout)
        start_rate = engine["fps"] if engine else session.player.bag_rate
        runs, peak = benchmark(session, list(rates), seconds, peak_trials, peak_seconds, start_rate)
        bag_info = bag_summary(bag, frames, images[0], session.player.bag_rate)
    report = build_report(bag_info, engine, runs, peak)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.json").write_text(json.dumps(report, indent=1))
    return report


def _rate(text: str) -> float | None:
    if text == "bag":
        return None
    try:
        rate = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a rate is a number of Hz or 'bag', got {text!r}") from None
    if not rate > 0:
        raise argparse.ArgumentTypeError(f"a rate must be > 0 Hz, got {text!r}")
    return rate


def _create(args: argparse.Namespace) -> None:
    if args.images:
        frames, rate = folder_frames(args.images), args.rate or 10.0
    elif args.video:
        frames, rate = video_frames(args.video), args.rate or video_rate(args.video) or 10.0
    else:
        frames, rate = synthetic_frames(args.synthetic, tuple(args.size), args.seed), args.rate or 10.0
    if args.max_frames:
        frames = itertools.islice(frames, args.max_frames)
    start_ns = None if args.start is None else round(args.start * 1e9)
    count = write_bag(args.out, frames, rate, args.encoding, args.topic, args.frame_id, args.storage,
                      start_ns, args.jpeg_quality)
    print(f"wrote {count} {args.encoding} frames at {rate:g} Hz to {args.out} ({args.storage})")


def _run(args: argparse.Namespace) -> None:
    from ..paths import default_model_path

    report = run_benchmark(
        args.bag, args.model or default_model_path(), args.out, args.topic, args.backend, args.device,
        args.rates, args.seconds, args.peak_trials, args.peak_seconds, args.engine_seconds,
        args.ready_timeout, args.domain_id,
    )
    print(format_report(report))
    if args.plot:
        print(f"plot: {plot_report(report, args.out / 'report.png')}")
    print(f"report: {args.out / 'report.json'}, node log: {args.out / 'node.log'}")


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    from ..engine import BACKENDS

    parser = argparse.ArgumentParser(prog="sspanoptic-bench bag", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="write a camera bag")
    create.add_argument("out", type=Path, help="bag folder to create")
    source = create.add_mutually_exclusive_group(required=True)
    source.add_argument("--images", type=Path, help="a folder of images (one size), in name order")
    source.add_argument("--video", type=Path, help="a video file")
    source.add_argument("--synthetic", type=int, metavar="N", help="N frames of the synthetic world")
    create.add_argument("--size", type=int, nargs=2, default=(256, 384), metavar=("H", "W"),
                        help="synthetic frame size")
    create.add_argument("--seed", type=int, default=0, help="synthetic world seed")
    create.add_argument("--max-frames", type=int, help="write at most this many frames")
    create.add_argument("--rate", type=float, help="frame rate in Hz (default: the video's, else 10)")
    create.add_argument("--encoding", choices=ENCODINGS, default="rgb8")
    create.add_argument("--storage", choices=STORAGES, default="sqlite3")
    create.add_argument("--topic", default="/camera/image", help="JPEG goes to <topic>/compressed")
    create.add_argument("--frame-id", default="camera")
    create.add_argument("--start", type=float, help="first stamp, seconds since the epoch (default: now)")
    create.add_argument("--jpeg-quality", type=int, default=90)
    run = commands.add_parser("run", help="benchmark the node on a bag")
    run.add_argument("bag", type=Path)
    run.add_argument("--topic", help="image topic (default: the bag's only one)")
    run.add_argument("--model", type=Path, help="model file (default: the bundled demo model)")
    run.add_argument("--backend", choices=BACKENDS, default="auto")
    run.add_argument("--device")
    run.add_argument("--rates", nargs="*", type=_rate, default=list(DEFAULT_RATES),
                     help="fixed playback rates in Hz; 'bag': the bag's own timing")
    run.add_argument("--seconds", type=float, default=5.0, help="length of a fixed-rate run")
    run.add_argument("--peak-trials", type=int, default=6, help="runs of the peak search (0: none)")
    run.add_argument("--peak-seconds", type=float, default=4.0, help="length of a peak search run")
    run.add_argument("--engine-seconds", type=float, default=5.0, help="engine-only run (0: none)")
    run.add_argument("--ready-timeout", type=float, default=180.0, help="seconds to the first output")
    run.add_argument("--domain-id", type=int, help="ROS domain id (default: 120 + pid %% 100)")
    run.add_argument("--out", type=Path, default=Path("out/bench_bag"), help="report folder")
    run.add_argument("--plot", action="store_true", help="also write report.png")
    args = parser.parse_args(argv)
    if args.command == "create":
        _create(args)
    else:
        _run(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
