# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""``sspanoptic-bench agreement``: outputs of engine variants against fp32 eager torch, per image.

A variant is ``BACKEND-PRECISION[-MODE]``: ``torch-fp16``, ``torch-fp32-graphs`` (CUDA graphs),
``torch-fp16-compile`` (torch.compile), ``onnxruntime-fp32``, ``torch-fp32-pad128`` (inputs padded
to 128, as model files made before 2026-12-06 run). For each image it prints the share
of identical panoptic and category pixels, the largest semantic logit difference (absolute and
over the largest reference logit) and both segment counts. A variant runs each image three
times before the compared run, so that compiled variants compare their replays, not a first call.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..engine import Engine, create_engine
from .stats import write_json

VARIANT = re.compile(r"(torch|onnxruntime)-(fp32|fp16)(?:-(graphs|compile|pad128))?")
DEFAULT_VARIANTS = ("torch-fp16", "torch-fp32-graphs", "torch-fp16-graphs")
SYNTHETIC_SEEDS = (101, 102)  # the scenes `sspanoptic-export onnx` checks on
WARMUP = 3


@dataclass(frozen=True)
class Variant:
    """A backend, precision and mode (eager, graphs, compile or pad128) of the engine."""

    backend: str
    precision: str
    mode: str = "eager"

    @classmethod
    def parse(cls, text: str) -> Variant:
        """Parse ``BACKEND-PRECISION[-graphs|-compile|-pad128]``."""
        match = VARIANT.fullmatch(text)
        if match is None:
            raise ValueError(
                f"a variant is BACKEND-PRECISION[-graphs|-compile|-pad128], e.g. torch-fp16, got {text!r}"
            )
        backend, precision, mode = match.groups()
        return cls(backend, precision, mode or "eager")

    def __str__(self) -> str:
        return f"{self.backend}-{self.precision}" + ("" if self.mode == "eager" else f"-{self.mode}")

    def engine(self, model: Path, device: str | None) -> Engine:
        """Build this variant's engine for ``model``."""
        engine = create_engine(
            model,
            self.backend,
            device,
            self.precision,
            compile=self.mode == "compile",
            cuda_graphs=self.mode == "graphs",
        )
        if self.mode == "pad128":
            engine.backend.size_divisibility = 128
        return engine


def compare(reference: Engine, other: Engine, image: np.ndarray) -> dict:
    """Compare ``other``'s outputs on ``image`` with ``reference``'s (after ``WARMUP`` runs of ``other``)."""
    for _ in range(WARMUP):
        other.run_network(image)
    ours, theirs = reference.run_network(image), other.run_network(image)
    a, b = reference.merge(ours), other.merge(theirs)
    semantic = ours.semantic.float()
    error = (semantic - theirs.semantic.float().to(semantic.device)).abs().max().item()
    largest = semantic.abs().max().item()
    return {
        "size": list(image.shape[:2]),
        "panoptic_agreement": (a.panoptic == b.panoptic.to(a.panoptic.device)).float().mean().item(),
        "category_agreement": (a.category == b.category.to(a.category.device)).float().mean().item(),
        "max_abs_semantic_error": error,
        "max_relative_semantic_error": error / largest if largest > 0 else 0.0,
        "segments": [len(a.segments), len(b.segments)],
    }


def check_images(paths: list[Path], synthetic: int) -> list[tuple[str, np.ndarray]]:
    """Return (name, RGB image) for each photo and the first ``synthetic`` synthetic check scenes."""
    from ..data.coco import read_rgb
    from ..data.synthetic import render_scene

    images = [(p.name, read_rgb(p)) for p in paths]
    return images + [
        (f"synthetic seed {s}", render_scene(s, 256, 384)[0]) for s in SYNTHETIC_SEEDS[:synthetic]
    ]


def format_rows(rows: list[dict]) -> str:
    """Format the comparison rows as a Markdown table."""
    lines = [
        "| variant | image | size | identical panoptic px | identical category px "
        "| max semantic logit error (abs / rel) | segments ref / variant |",
        "|" + " --- |" * 7,
    ]
    for r in rows:
        lines.append(
            f"| {r['variant']} | {r['image']} | {r['size'][0]}x{r['size'][1]} "
            f"| {r['panoptic_agreement']:.4%} | {r['category_agreement']:.4%} "
            f"| {r['max_abs_semantic_error']:.2e} / {r['max_relative_semantic_error']:.2e} "
            f"| {r['segments'][0]} / {r['segments'][1]} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="sspanoptic-bench agreement", description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="model checkpoint (default: the bundled demo model)")
    parser.add_argument("--device", help="device of every engine (default: cuda if available)")
    parser.add_argument(
        "--variants", nargs="+", default=list(DEFAULT_VARIANTS), help="e.g. torch-fp16-graphs"
    )
    parser.add_argument("--images", nargs="*", type=Path, default=[], help="photos to compare on")
    parser.add_argument(
        "--synthetic",
        type=int,
        default=len(SYNTHETIC_SEEDS),
        choices=range(len(SYNTHETIC_SEEDS) + 1),
        help="also compare on this many synthetic scenes",
    )
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args(argv)
    try:
        variants = [Variant.parse(v) for v in args.variants]
    except ValueError as e:
        parser.error(str(e))
    from ..paths import default_model_path

    model = args.model or default_model_path()
    images = check_images(args.images, args.synthetic)
    if not images:
        parser.error("nothing to compare on: give --images or --synthetic 1 or more")
    reference = Variant("torch", "fp32").engine(model, args.device)
    print(f"model {model}, reference torch-fp32 eager on {reference.device}")
    rows = []
    for variant in variants:
        other = variant.engine(model, args.device)
        rows += [
            {"variant": str(variant), "image": name, **compare(reference, other, image)}
            for name, image in images
        ]
        write_json(args.json, {"model": str(model), "device": str(reference.device), "rows": rows})
        del other
    print(format_rows(rows))
    for variant in variants:
        worst = min(r["panoptic_agreement"] for r in rows if r["variant"] == str(variant))
        print(f"worst {variant}: {worst:.4%} identical panoptic pixels")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
