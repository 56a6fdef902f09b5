# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""``sspanoptic-bench bag``: write camera bags (``create``) and benchmark the node on one (``run``).

``create`` writes with ``bag_writer``; ``run`` is ``node_throughput.BagBenchmark``.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import cv2

from ..data.video import video_frames, video_rate
from .bag_writer import ENCODINGS, STORAGES, folder_frames, synthetic_frames, synthetic_rgbd_frames, write_bag
from .node_throughput import DEFAULT_RATES, BagBenchmark
from .report import format_report, plot_report

SYNTHETIC_SIZE = (256, 384)  # H, W of ``bag create --synthetic`` frames


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
    """Write the bag; raises ValueError (or OSError) with a line that says what to change."""
    if args.images:
        frames, rate = folder_frames(args.images), args.rate or 10.0
    elif args.video:
        frames, rate = video_frames(args.video), args.rate or video_rate(args.video) or 10.0
    else:
        size = tuple(args.size or SYNTHETIC_SIZE)
        render = synthetic_rgbd_frames if args.depth else synthetic_frames
        frames, rate = render(args.synthetic, size, args.seed), args.rate or 10.0
    if args.depth and not args.synthetic:
        raise ValueError("--depth needs --synthetic: only the synthetic world has depth")
    if args.size and not args.synthetic:
        height, width = args.size
        frames = (cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA) for rgb in frames)
    if args.max_frames:
        frames = itertools.islice(frames, args.max_frames)
    start_ns = None if args.start is None else round(args.start * 1e9)
    try:
        count = write_bag(args.out, frames, rate, args.encoding, args.topic, args.frame_id, args.storage,
                          start_ns, args.jpeg_quality)
    except ValueError as e:
        hint = "; a bag holds frames of one size: give --size H W to resize them" if "shape" in str(e) else ""
        raise ValueError(f"{e}{hint}") from None
    depth = " with depth and camera_info" if args.depth else ""
    print(f"wrote {count} {args.encoding} frames{depth} at {rate:g} Hz to {args.out} ({args.storage})")


def _run(args: argparse.Namespace) -> None:
    from ..paths import default_model_path
    from ..ros.outputs import OUTPUTS

    extra = {"ids": ("semantic", "instance"), "all": tuple(OUTPUTS)}.get(args.subscribe, ())
    benchmark = BagBenchmark(args.bag, args.model or default_model_path(), args.out, args.topic, args.backend,
                             args.device, args.domain_id,
                             extra_outputs={n: OUTPUTS[n] for n in extra if n != "panoptic"})
    report = benchmark.run(args.rates, args.seconds, args.peak_trials, args.peak_seconds, args.engine_seconds,
                           args.ready_timeout)
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
    create.add_argument("--size", type=int, nargs=2, metavar=("H", "W"),
                        help="frame size: images and video frames are resized to it; synthetic "
                        f"frames are rendered at it (default {SYNTHETIC_SIZE[0]} {SYNTHETIC_SIZE[1]})")
    create.add_argument("--seed", type=int, default=0, help="synthetic world seed")
    create.add_argument("--depth", action="store_true",
                        help="with --synthetic: also <camera>/depth (16UC1 mm) and <camera>/camera_info")
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
    run.add_argument("--subscribe", choices=("panoptic", "ids", "all"), default="panoptic",
                     help="outputs subscribed to (the node builds only those): panoptic/panoptic, the "
                     "three id images, or every output")
    args = parser.parse_args(argv)
    if args.command == "create":
        try:
            _create(args)
        except (OSError, ValueError) as e:
            parser.exit(2, f"sspanoptic-bench bag create: {e}\n")
    else:
        _run(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
