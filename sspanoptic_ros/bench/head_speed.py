# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Time the panoptic head on random but realistic inputs, in turns with the network when available.

``sspanoptic-bench head [--device cuda] [--precision fp16] [--detections 10 100] [--repeats 50]``
prints the median and 99th percentile time of ``panoptic_head`` per detection count, using
COCO's 133 classes, semantic logits at 1/4 resolution (in the network's precision, as the
engine passes them), overlapping boxes of varied sizes and centre offsets. The heads and the
network run in turns (A B A B ...), and the head's share is the median, min and max of the
ratios of the same rounds. ``--json PATH`` also writes every run's times.
"""

from __future__ import annotations

import argparse
import math
import statistics
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path

import torch
from torch import Tensor

from ..categories import Category, load_categories, thing_channels
from ..head import Detections, PanopticParams, panoptic_head
from ..model import build_model, load_model_config
from .stats import format_ratio, in_turns, pair_ratios, percentile, timed_ms, write_json

CATEGORIES = Path(__file__).resolve().parent.parent / "configs" / "coco_panoptic_categories.json"


def random_inputs(
    categories: list[Category],
    num_dets: int,
    height: int,
    width: int,
    device: torch.device,
    dtype: torch.dtype = torch.float32,
) -> tuple[Tensor, Detections, Tensor]:
    """Semantic logits (1, C, H/4, W/4) and centre offsets in ``dtype``, detections in output pixels."""
    g = torch.Generator().manual_seed(num_dets)
    small = (math.ceil(height / 4), math.ceil(width / 4))
    sem = torch.randn(1, len(categories), *small, generator=g)
    side = torch.exp(torch.empty(num_dets, 2).uniform_(math.log(16), math.log(400), generator=g))
    center = torch.rand(num_dets, 2, generator=g) * torch.tensor([width, height])
    boxes = torch.cat([center - side / 2, center + side / 2], dim=1)
    # A dozen classes, so that boxes of one class overlap; each wins the logits inside its box.
    things = thing_channels(categories)
    classes = torch.tensor(things)[torch.randint(0, 12, (num_dets,), generator=g)]
    for (x1, y1, x2, y2), c in zip((boxes / 4).round().long().tolist(), classes.tolist()):
        sem[0, c, max(y1, 0):max(y2, 0), max(x1, 0):max(x2, 0)] += 3.0
    scores = (torch.rand(num_dets, generator=g) * 0.6 + 0.4).sort(descending=True).values
    detections = Detections(
        *(t[None].to(device) for t in (boxes, scores, classes)), torch.tensor([num_dets], device=device)
    )
    centers = torch.randn(1, 2, *small, generator=g) * 8
    return sem.to(device, dtype), detections, centers.to(device, dtype)


def summary(times: list[float]) -> str:
    """Median and 99th percentile."""
    p99 = percentile(times, 99)
    return f"median {statistics.median(times):8.2f} ms   p99 {p99:8.2f} ms"


def network_call(
    height: int, width: int, device: torch.device, dtype: torch.dtype = torch.float32
) -> Callable[[], object]:
    """Return a call of the paper's network (random weights, eager, ``dtype``) at this size."""
    config = replace(load_model_config("resnet50_fpn_coco"), pretrained_backbone=None)
    model = build_model(config).eval().to(device, dtype)
    images = torch.randn(1, 3, height, width, device=device, dtype=dtype)
    return torch.inference_mode()(lambda: model(images))


def main(argv: list[str] | None = None) -> None:
    """Parse the options and print the timings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--precision", default="fp32", choices=("fp32", "fp16"), help="fp16: CUDA only")
    parser.add_argument("--height", type=int, default=576)
    parser.add_argument("--width", type=int, default=864)
    parser.add_argument("--detections", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--json", type=Path, help="also write the settings and every run's times here")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device available")
    if args.precision == "fp16" and args.device != "cuda":
        parser.error("--precision fp16 needs --device cuda (the engine runs fp16 on CUDA only)")
    device = torch.device(args.device)
    dtype = torch.float16 if args.precision == "fp16" else torch.float32
    categories = load_categories(CATEGORIES)
    params = PanopticParams(overlap_policy="closest_center")
    size = (args.height, args.width)
    print(f"panoptic head, {args.height}x{args.width}, {len(categories)} classes, {device}, {args.precision}")
    calls = []
    for n in args.detections:
        sem, dets, centers = random_inputs(categories, n, *size, device, dtype)
        head = partial(
            panoptic_head, sem, dets, centers, categories=categories, output_size=size, params=params
        )
        calls.append(timed_ms(head, device))
    calls.append(timed_ms(network_call(*size, device, dtype), device))
    times = in_turns(calls, args.repeats, warmup=2)
    head_times, net = dict(zip(args.detections, times)), times[-1]
    for n, runs in head_times.items():
        print(f"  {n:4d} detections: {summary(runs)}")
    print(f"  network (resnet50_fpn_coco): {summary(net)}")
    shares = {}
    for n, runs in head_times.items():
        shares[str(n)] = pair_ratios(runs, net)
        print("  " + format_ratio(f"head / network, {n} detections", shares[str(n)]))
    write_json(args.json, {
        "size": list(size), "device": str(device), "precision": args.precision, "classes": len(categories),
        "head_ms": {str(n): runs for n, runs in head_times.items()}, "network_ms": net,
        "head_over_network": shares,
    })


if __name__ == "__main__":
    main()
