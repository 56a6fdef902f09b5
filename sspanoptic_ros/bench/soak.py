# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""``sspanoptic-bench soak``: thousands of frames through the node, its memory and frame times.

The node runs as its own process (as for ``sspanoptic-bench bag``, see ``session.NodeSession``) and
gets ``--frames`` synthetic rgb8 frames at ``--rate`` Hz. Every ``--sample-every`` frames the
node's resident memory (VmRSS in ``/proc/<pid>/status``) and, where ``nvidia-smi`` lists the
process, its GPU memory are sampled. The report gives the memory after the first ``--warmup``
frames and at the end (growth in MiB and %, and the peak), the latency from publishing a frame
to receiving its output (p50, p99, max), the interval between outputs (p50, p99, max), and the
frames sent, processed (with an output) and missed (dropped by the node for a newer frame, as
it does when the rate is above its capacity). JSON (``--out``/soak.json) and a table.

    python -m sspanoptic_ros.bench.soak --frames 10000 --model models/demo_synthetic.pt \
        --size 96x128 --rate 30
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from sensor_msgs.msg import Image
from std_msgs.msg import Header

from ..ros.image_codec import numpy_to_image
from .bag_writer import synthetic_frames
from .engine_speed import model_file
from .monitor import run_stats
from .player import BagFrames
from .session import NodeSession, rss_mib, session_node_command, session_output_prefix
from .stats import percentile

TOPIC = "/camera/image"
DISTINCT_FRAMES = 16  # the synthetic camera's frames, played in a loop
# Samples whose median gives the memory after the warm-up and at the end: RSS dips for a moment
# while a frame's buffers are freed, so single samples would be noisy.
WINDOW = 5
DRAIN_S = 2.0  # the run ends once no output came for this long after the last frame
MAX_DRAIN_S = 60.0


def parse_size(text: str) -> tuple[int, int]:
    """Parse ``HxW`` (e.g. ``96x128``) into (height, width)."""
    try:
        height, width = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"a size is HxW, e.g. 96x128; got {text!r}") from None
    if height < 1 or width < 1:
        raise argparse.ArgumentTypeError(f"a size must be positive, got {text!r}")
    return height, width


def gpu_mib(pid: int) -> float | None:
    """Return the GPU memory of process ``pid`` in MiB, or None without nvidia-smi or a listing."""
    if shutil.which("nvidia-smi") is None:
        return None
    query = ["nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"]
    try:
        listing = subprocess.run(query, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    used = [float(mib) for p, mib in (line.split(",") for line in listing.splitlines() if "," in line)
            if int(p) == pid]
    return sum(used) if used else None


def camera_frames(size: tuple[int, int], rate: float) -> BagFrames:
    """Return the synthetic camera's rgb8 frames as a loop for ``session.NodeSession``'s player."""
    messages = [numpy_to_image(rgb, "rgb8", Header(frame_id="camera"))
                for rgb in synthetic_frames(DISTINCT_FRAMES, size)]
    stamps = [round(i * 1e9 / rate) for i in range(len(messages))]
    return BagFrames(TOPIC, Image, messages, stamps)


def memory_summary(samples: list[dict], key: str, warmup: int) -> dict | None:
    """Return a memory series' level after ``warmup`` frames, at the end, growth and peak (MiB).

    The levels are the medians of the first and the last ``WINDOW`` samples after the warm-up.
    None when the series has no values (no GPU) or the run was too short to pass the warm-up.
    """
    values = [(s["frames"], s[key]) for s in samples if s[key] is not None]
    after = [v for frames, v in values if frames >= warmup]
    if not after:
        return None
    start, end = statistics.median(after[:WINDOW]), statistics.median(after[-WINDOW:])
    return {
        "after_warmup": start,
        "end": end,
        "growth": end - start,
        "growth_percent": 100.0 * (end - start) / start if start else None,
        "peak": max(v for _, v in values),
    }


def soak(session: NodeSession, frames: int, rate: float, sample_every: int) -> tuple[list, list]:
    """Publish ``frames`` frames at ``rate`` Hz, sampling memory; return (sent, samples).

    ``sent`` is [(stamp ns, send time ns)]; each sample is {frames, seconds, rss_mib, gpu_mib}.
    """
    pid = session.process.pid
    start = time.monotonic()

    def sample(count: int) -> dict:
        return {"frames": count, "seconds": time.monotonic() - start, "rss_mib": rss_mib(pid),
                "gpu_mib": gpu_mib(pid)}

    sent, samples = [], [sample(0)]
    for index in range(frames):
        delay = start + index / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        sent.append(session.player.publish_next())
        if (index + 1) % sample_every == 0:
            if session.process.poll() is not None:
                raise RuntimeError(f"the node exited with code {session.process.returncode}"
                                   f" after {index + 1} frames; see {session.log_path}")
            samples.append(sample(index + 1))
    session.settle(DRAIN_S, MAX_DRAIN_S)  # the outputs of the last frames
    samples.append(sample(frames))
    return sent, samples


def build_report(setup: dict, sent: list, received: dict, samples: list, warmup: int) -> dict:
    """Assemble the report from the run's sends, outputs {stamp: time ns} and memory samples."""
    stats = run_stats(sent, received)
    arrivals = sorted(received[stamp] for stamp, _ in sent if stamp in received)
    intervals = [(b - a) / 1e6 for a, b in zip(arrivals, arrivals[1:])]
    latency = stats["latency_ms"]
    return {
        **setup,
        "sent": stats["sent"],
        "processed": stats["received"],
        "missed": stats["missed"],
        "playback_rate": stats["playback_rate"],
        "output_fps": stats["output_fps"],
        "latency_ms": None if latency is None else {k: latency[k] for k in ("p50", "p99", "max")},
        "interval_ms": {
            "p50": percentile(intervals, 50),
            "p99": percentile(intervals, 99),
            "max": max(intervals),
        } if intervals else None,
        "rss_mib": memory_summary(samples, "rss_mib", warmup),
        "gpu_mib": memory_summary(samples, "gpu_mib", warmup),
        "samples": samples,
    }


def _ms(values: dict | None) -> str:
    if values is None:
        return "-"
    return ", ".join(f"{k} {v:.1f}" for k, v in values.items())


def _memory(name: str, memory: dict | None, warmup: int) -> str:
    if memory is None:
        return f"{name}: not measured"
    percent = memory["growth_percent"]
    return (f"{name} MiB: {memory['after_warmup']:.1f} after {warmup} warm-up frames,"
            f" {memory['end']:.1f} at the end: {memory['growth']:+.1f} MiB"
            + (f" ({percent:+.2f}%)" if percent is not None else "")
            + f", peak {memory['peak']:.1f}")


def format_report(report: dict) -> str:
    """Format the report as a few lines of text."""
    fps = report["output_fps"]
    return "\n".join([
        f"soak: {report['frames']} frames {report['size'][0]}x{report['size'][1]} rgb8 at"
        f" {report['rate']:g} Hz, model {report['model']} ({report['backend']} backend),"
        f" {report['seconds']:.0f} s",
        f"frames: sent {report['sent']}, processed {report['processed']}"
        + (f" ({fps:.1f} FPS)" if fps else "") + f", missed {report['missed']}",
        f"latency ms (publish to output): {_ms(report['latency_ms'])}",
        f"output interval ms: {_ms(report['interval_ms'])}",
        _memory("node RSS", report["rss_mib"], report["warmup"]),
        _memory("node GPU memory", report["gpu_mib"], report["warmup"]),
    ])


def run_soak(
    model: str,
    frames: int,
    size: tuple[int, int],
    rate: float,
    out_dir: Path,
    backend: str = "auto",
    device: str | None = None,
    warmup: int = 500,
    sample_every: int = 100,
    ready_timeout: float = 180.0,
) -> dict:
    """Run the soak benchmark; write ``soak.json`` and ``node.log`` to ``out_dir``."""
    if frames < 1 or not rate > 0 or sample_every < 1 or not 0 <= warmup < frames:
        raise ValueError(
            f"need frames >= 1, rate > 0, sample_every >= 1 and 0 <= warmup < frames; got"
            f" frames {frames}, rate {rate}, sample_every {sample_every}, warmup {warmup}"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as workdir:
        path = model_file(model, Path(workdir))  # a config name: random weights
        command = session_node_command(path, backend, device, TOPIC)
        log, prefix = out_dir / "node.log", session_output_prefix(TOPIC)
        with NodeSession(camera_frames(size, rate), command, log, output_prefix=prefix) as session:
            session.wait_ready(ready_timeout, warmup_seconds=0)
            start = time.monotonic()
            sent, samples = soak(session, frames, rate, sample_every)
            seconds = time.monotonic() - start
            received = session.monitor.outputs()
    setup = {"model": str(model), "backend": backend, "device": device, "frames": frames,
             "size": list(size), "rate": rate, "warmup": warmup, "seconds": seconds}
    report = build_report(setup, sent, received, samples, warmup)
    (out_dir / "soak.json").write_text(json.dumps(report, indent=1))
    return report


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    from ..engine import BACKENDS
    from ..paths import default_model_path

    parser = argparse.ArgumentParser(prog="sspanoptic-bench soak",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=10000, help="frames to send")
    parser.add_argument("--model", default=str(default_model_path()),
                        help="model file, or a shipped config name (random weights)")
    parser.add_argument("--size", type=parse_size, default=(96, 128), help="frame size HxW")
    parser.add_argument("--rate", type=float, default=30.0, help="frames per second sent")
    parser.add_argument("--backend", choices=BACKENDS, default="auto")
    parser.add_argument("--device", help="cpu, cuda or cuda:N (default: the node's choice)")
    parser.add_argument("--warmup", type=int, default=500,
                        help="frames before the memory baseline is taken")
    parser.add_argument("--sample-every", type=int, default=100,
                        help="frames between two memory samples")
    parser.add_argument("--out", type=Path, default=Path("out/soak"),
                        help="folder for soak.json and node.log")
    args = parser.parse_args(argv)
    report = run_soak(args.model, args.frames, args.size, args.rate, args.out, args.backend,
                      args.device, args.warmup, args.sample_every)
    print(format_report(report))
    print(f"report: {args.out / 'soak.json'}, node log: {args.out / 'node.log'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
