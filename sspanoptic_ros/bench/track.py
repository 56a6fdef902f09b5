# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""``sspanoptic-bench track``: what the tracker gains in STQ / AQ, and what it costs per frame.

Runs a model (default: the bundled demo model) through ``create_engine`` over synthetic
sequences (``render_sequence``; the ground truth keeps every thing's id) and evaluates with
``evaluation.stq`` in memory, once with per-frame ids (the panoptic head's instance numbers,
what the node publishes without tracking) and once per tracker setting, all on the same
engine results; the same again on the ground-truth segments numbered per frame in a random
order, which measures association alone. Then it times ``Tracker.track`` (``update`` + ``apply_tracks``)
on frames of 20 moving, overlapping things next to the engine's time per frame at the same
size (median of the sequence frames). One process, side by side; the engine runs once per frame.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from collections.abc import Iterator

import numpy as np
import torch

from ..data.synthetic import SYNTHETIC_CATEGORIES, THING_ID_BASE, render_sequence
from ..engine import BACKENDS, create_engine
from ..evaluation.evaluate import segments_info
from ..evaluation.stq import STQStat, summarize
from ..head.result import ID_DIVISOR, PanopticResult, Segment
from ..paths import default_model_path
from ..tracking import Tracker, TrackerParams, auto_stride
from .stats import percentile

BASELINE = "per-frame ids"
SOURCES = ("model", "ground truth")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def moving_things(
    num_frames: int, num_things: int, size: tuple[int, int], device: torch.device, seed: int = 0
) -> Iterator[PanopticResult]:
    """Yield panoptic results of ``num_things`` drifting, overlapping discs (the timing input).

    The discs have the synthetic thing classes, later ones on top; boxes and scores are unused.
    """
    rng = np.random.default_rng(seed)
    height, width = size
    things = [c.id for c in SYNTHETIC_CATEGORIES if c.isthing]
    classes = rng.choice(things, num_things)
    radius = rng.uniform(0.03, 0.12, num_things) * min(size)
    centre = rng.uniform((0, 0), (width, height), (num_things, 2))
    velocity = rng.uniform(-4, 4, (num_things, 2))
    ys, xs = torch.meshgrid(torch.arange(height, device=device) + 0.5,
                            torch.arange(width, device=device) + 0.5, indexing="ij")
    for frame in range(num_frames):
        position = centre + frame * velocity
        position = np.abs((position + (width, height)) % (2 * np.array([width, height])) - (width, height))
        owner = torch.zeros(size, dtype=torch.int64, device=device)
        for k in range(num_things):
            disc = (xs - position[k, 0]) ** 2 + (ys - position[k, 1]) ** 2 < radius[k] ** 2
            owner[disc] = k + 1
        present = sorted(set(torch.unique(owner).tolist()) - {0})
        number = torch.zeros(num_things + 1, dtype=torch.int64, device=device)
        number[present] = torch.arange(1, len(present) + 1, device=device)
        category_of = torch.tensor([0, *classes.tolist()], device=device)
        instance = number[owner]
        category = category_of[owner]
        area = torch.bincount(instance.flatten(), minlength=len(present) + 1).tolist()
        segments = [Segment(int(classes[k - 1]) * ID_DIVISOR + n, int(classes[k - 1]), True, 1.0,
                            (0, 0, 0, 0), area[n]) for n, k in enumerate(present, 1)]
        yield PanopticResult(category.int(), instance.int(), (category * ID_DIVISOR + instance).int(),
                             segments)


def time_tracker(frames: list[PanopticResult], stride: int | None, params: TrackerParams) -> list[float]:
    """Milliseconds of ``update`` + ``apply_tracks`` per frame, one tracker over ``frames``."""
    tracker, times = Tracker(params, stride), []
    device = frames[0].instance.device
    for result in frames:
        _sync(device)
        start = time.perf_counter()
        tracker.track(result)
        _sync(device)
        times.append(1e3 * (time.perf_counter() - start))
    return times


def ground_truth_result(ids: np.ndarray, segments: list[dict], rng: np.random.Generator) -> PanopticResult:
    """Return a synthetic frame's ground truth as a panoptic result, things 1..N in a random order.

    The order stands in for the detection order, which changes from frame to frame.
    """
    things = [s for s in segments if s["id"] >= THING_ID_BASE]
    order = [things[k] for k in rng.permutation(len(things))]
    stuff = [s for s in segments if s["id"] < THING_ID_BASE]
    instance, category = np.zeros(ids.shape, np.int32), np.zeros(ids.shape, np.int32)
    result_segments = []
    for n, s in enumerate(order + stuff, 1):
        mask = ids == s["id"]
        number = n if n <= len(order) else 0
        instance[mask], category[mask] = number, s["category_id"]
        result_segments.append(Segment(s["category_id"] * ID_DIVISOR + number, s["category_id"], number > 0,
                                       1.0 if number else None, tuple(s["bbox"]), s["area"]))
    instance, category = torch.from_numpy(instance), torch.from_numpy(category)
    return PanopticResult(category, instance, category * ID_DIVISOR + instance, result_segments)


def evaluate_tracking(
    engine,
    sequences: dict[str, list],
    settings: list[tuple[int | None, TrackerParams]],
    seed: int = 0,
) -> dict:
    """STQ summaries of per-frame ids and of each (stride, params) tracker, and the timings.

    sequences: name -> frames (image, ground-truth ids, segments_info); a stride of None is
    the tracker's default (:func:`auto_stride`). Two sources of segments are tracked: the
    model's (``engine``) and the ground truth's, numbered per frame in a random order
    (:func:`ground_truth_result`): association alone, without the model's errors. Returns
    ``results`` (source -> label -> :func:`summarize` output), ``tracker_ms`` (label -> times
    per frame on the model's results), ``engine_ms`` and ``things`` (model thing segments per
    frame).
    """
    labels = [BASELINE] + [_label(s, p) for s, p in settings]
    stats = {source: {label: {} for label in labels} for source in SOURCES}
    tracker_ms = {label: [] for label in labels[1:]}
    engine_ms, things = [], []
    rng = np.random.default_rng(seed)
    for name, frames in sequences.items():
        trackers = {}
        for source in SOURCES:
            for label in labels:
                stats[source][label][name] = STQStat(engine.config.categories)
            trackers[source] = [Tracker(params, stride) for stride, params in settings]
        for image, gt_ids, gt_segments in frames:
            result, times = engine.infer_timed(image)
            engine_ms.append(1e3 * times.total)
            things.append(sum(s.isthing for s in result.segments))
            results = {SOURCES[0]: result, SOURCES[1]: ground_truth_result(gt_ids, gt_segments, rng)}
            for source, result in results.items():
                stats[source][BASELINE][name].accumulate(
                    gt_ids, gt_segments, result.panoptic.cpu().numpy(), segments_info(result))
                for label, tracker in zip(labels[1:], trackers[source]):
                    _sync(engine.device)
                    start = time.perf_counter()
                    tracked = tracker.track(result)
                    _sync(engine.device)
                    if source == SOURCES[0]:
                        tracker_ms[label].append(1e3 * (time.perf_counter() - start))
                    stats[source][label][name].accumulate(
                        gt_ids, gt_segments, tracked.panoptic.cpu().numpy(), segments_info(tracked))
    return {"results": {source: {label: summarize(s) for label, s in by_label.items()}
                        for source, by_label in stats.items()},
            "tracker_ms": tracker_ms, "engine_ms": engine_ms, "things": things}


def _label(stride: int | None, params: TrackerParams) -> str:
    motion = "" if params.motion else ", no motion"
    stride = "auto" if stride is None else stride
    return f"tracker stride {stride}, min IoU {params.min_iou:g}, max age {params.max_age}{motion}"


def _stride(text: str) -> int | None:
    if text == "auto":
        return None
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a stride is 'auto' or an integer >= 1, got {text!r}")
    return int(text)


def _ms(times: list[float]) -> str:
    return f"{statistics.median(times):.2f} / {percentile(times, 99):.2f}"


def format_report(run: dict, timing: dict[str, list[float]], num_things: int) -> str:
    """Tables: overall STQ per source and setting, per sequence for the model, timings."""
    engine = statistics.median(run["engine_ms"])
    lines = ["| segments | ids | STQ | AQ | SQ | ID switches | tracker ms (median / p99) |",
             "|" + " --- |" * 7]
    for source, results in run["results"].items():
        for label, result in results.items():
            r = result["overall"]
            timed = label in run["tracker_ms"] and source == SOURCES[0]
            cost = _ms(run["tracker_ms"][label]) if timed else "-"
            lines.append(f"| {source} | {label} | {100 * r['stq']:.1f} | {100 * r['aq']:.1f} | "
                         f"{100 * r['sq']:.1f} | {r['id_switches']} | {cost} |")
    model = run["results"][SOURCES[0]]
    default = _label(None, TrackerParams())
    labels = [BASELINE, default if default in model else list(model)[1]]
    lines += ["", "| sequence (model) | frames | tracks | " + " | ".join(
        f"STQ / AQ / ID switches, {label}" for label in labels) + " |", "|" + " --- |" * (3 + len(labels))]
    for name, first in model[BASELINE]["sequences"].items():
        cells = []
        for label in labels:
            r = model[label]["sequences"][name]
            cells.append(f"{100 * r['stq']:.1f} / {100 * r['aq']:.1f} / {r['id_switches']}")
        lines.append(f"| {name} | {first['frames']} | {first['tracks']} | " + " | ".join(cells) + " |")
    lines += ["", f"engine: {_ms(run['engine_ms'])} ms per frame (median / p99), "
              f"{statistics.mean(run['things']):.1f} thing segments per frame",
              "", f"| tracker, {num_things} moving things | ms per frame (median / p99) | / engine |",
              "| --- | --- | --- |"]
    for label, times in timing.items():
        lines.append(f"| {label} | {_ms(times)} | {100 * statistics.median(times) / engine:.1f} % |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="sspanoptic-bench track", description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(default_model_path()), help="model file")
    parser.add_argument("--backend", default="torch", choices=BACKENDS)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--sequences", type=int, default=3)
    parser.add_argument("--frames", type=int, default=60, help="frames per sequence")
    parser.add_argument("--seed", type=int, default=0, help="sequence k renders with seed (SEED, k)")
    parser.add_argument("--size", type=int, nargs=2, default=(480, 640), metavar=("H", "W"))
    parser.add_argument("--strides", type=_stride, nargs="+", default=[None],
                        help="sampling strides of the overlap ('auto': the tracker's default)")
    parser.add_argument("--min-iou", type=float, nargs="+", default=[TrackerParams.min_iou])
    parser.add_argument("--max-age", type=int, nargs="+", default=[TrackerParams.max_age])
    parser.add_argument("--motion", nargs="+", choices=("on", "off"), default=["on"],
                        help="shift each track's mask by its velocity before matching")
    parser.add_argument("--things", type=int, default=20, help="moving things in the timing frames")
    parser.add_argument("--timing-frames", type=int, default=60)
    args = parser.parse_args(argv)
    if min(args.sequences, args.frames, args.things, args.timing_frames) < 1:
        parser.error("--sequences, --frames, --things and --timing-frames must be >= 1")
    try:
        settings = [(stride, TrackerParams(max_age, min_iou, motion == "on"))
                    for stride, min_iou, max_age, motion
                    in itertools.product(args.strides, args.min_iou, args.max_age, args.motion)]
        engine = create_engine(args.model, args.backend, args.device)
    except (FileNotFoundError, ValueError, RuntimeError) as e:
        parser.exit(2, f"sspanoptic-bench track: error: {e}\n")
    size = tuple(args.size)
    sequences = {f"{k:04d}": list(render_sequence(args.frames, size, seed=(args.seed, k)))
                 for k in range(args.sequences)}
    with torch.inference_mode():
        run = evaluate_tracking(engine, sequences, settings)
        frames = list(moving_things(args.timing_frames, args.things, size, engine.device))
        timing = {_label(stride, params): time_tracker(frames, stride, params)
                  for stride, params in settings}
    print(f"model {args.model}, backend {engine.backend.name} on {engine.device}, "
          f"{args.sequences} sequences x {args.frames} frames at {size[0]}x{size[1]} "
          f"(auto stride {auto_stride(*size)}), torch threads {torch.get_num_threads()}")
    print(format_report(run, timing, args.things))
    default = _label(None, TrackerParams())
    if default in timing:
        ratio = statistics.median(timing[default]) / statistics.median(run["engine_ms"])
        print(f"default tracker / engine time per frame: {100 * ratio:.1f} % (target <= 5 %)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
