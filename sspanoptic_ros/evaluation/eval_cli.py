# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""``sspanoptic-eval``: run a model over a COCO-format panoptic data set and score every branch.

The network runs once per image; the panoptic head then runs for each overlap policy, with and
without small-stuff removal and unknown predictions (the paper's Tables II and IV). It reports
PQ / PQ_th / PQ_st for each, the semantic branch's mIoU, the detector's COCO box AP and, with a
centre branch, the centre accuracy; and it writes the predictions of the engine's settings
(with ``--paper-setting``: of the paper's setting) in COCO panoptic format.
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import replace
from pathlib import Path

import torch
from torch.nn import functional as F

from ..data.coco import CocoPanoptic, panoptic_to_target, read_rgb
from ..engine import BACKENDS, create_engine
from ..engine.settings import effective_params
from ..head.params import OVERLAP_POLICIES
from ..paths import default_model_path
from ..predictions import PredictionWriter, segments_info
from ..progress import progress
from .metrics import SemanticIoU, box_ap, centre_assignments
from .pq import PQStat

# (name, stuff_area_threshold, unknown_for_undetected_things, stuff_area_scaled); scaled
# thresholds are given at the paper's 576 x 864 and scaled with the image area.
VARIANTS = (
    ("plain", 0.0, False, True),
    ("small-stuff removal", 4096.0, False, True),
    ("unknown", 0.0, True, True),
    ("small-stuff removal + unknown", 4096.0, True, True),
)
# The paper's reported setting: unknown predictions, stuff below 4096 px of the evaluated
# image's own resolution removed "as is best practice" (Panoptic FPN).
PAPER_VARIANT = ("paper setting (4096 px at the image's size + unknown)", 4096.0, True, False)


def evaluate(
    engine,
    dataset: CocoPanoptic,
    out_dir: Path | None = None,
    max_images: int | None = None,
    paper_setting: bool = False,
) -> dict:
    """All metrics of ``engine`` on ``dataset`` (see the module docstring).

    ``paper_setting`` adds the paper's evaluation setting (``PAPER_VARIANT``) to the variants and
    writes its predictions.
    """
    variants = {v[0]: v[1:] for v in (*VARIANTS, *([PAPER_VARIANT] if paper_setting else []))}
    written = engine.params
    if paper_setting:
        area, unknown, scaled = variants[PAPER_VARIANT[0]]
        written = replace(written, stuff_area_threshold=area, unknown_for_undetected_things=unknown,
                          stuff_area_scaled=scaled)
    categories = engine.config.categories
    # Each policy the model runs as itself (closest_center only with a centre branch).
    policies = [
        p for p in OVERLAP_POLICIES
        if effective_params(replace(engine.params, overlap_policy=p), engine.config)[1] is None
    ]
    stats = {(p, v): PQStat(categories) for p in policies for v in variants}
    semantic, centre_hits, centre_total = SemanticIoU(len(categories)), 0, 0
    ground_truth, detections = [], []
    writer = PredictionWriter(out_dir, categories) if out_dir else None
    count = min(len(dataset), max_images or len(dataset))
    for index in progress(range(count), count, "eval"):
        image = read_rgb(dataset.image_dir / dataset.image_files[index])
        gt_ids, gt_segments = dataset.panoptic(index)
        target = panoptic_to_target(gt_ids, gt_segments, categories, index)
        net = engine.run_network(image)
        logits = F.interpolate(net.semantic.float(), size=net.size, mode="bilinear", align_corners=False)
        semantic.add(logits[0].argmax(0).cpu().numpy(), target.semantic)
        boxes, scores, channels = (t.cpu().numpy() for t in net.detections.valid(0))
        ground_truth.append((target, gt_segments))
        detections.append((boxes, scores, channels))
        if net.centers is not None:
            centers = F.interpolate(net.centers, size=net.size, mode="bilinear", align_corners=False)
            hits, total = centre_assignments(target, centers[0].cpu().numpy())
            centre_hits, centre_total = centre_hits + hits, centre_total + total
        for (policy, variant), stat in stats.items():
            area, unknown, scaled = variants[variant]
            params = replace(
                engine.params,
                overlap_policy=policy,
                stuff_area_threshold=area,
                unknown_for_undetected_things=unknown,
                stuff_area_scaled=scaled,
            )
            result = engine.merge(net, params)
            stat.accumulate(gt_ids, gt_segments, result.panoptic.cpu().numpy(), segments_info(result))
        if writer:
            writer.add(
                Path(dataset.image_files[index]).stem,
                dataset.annotations[index]["image_id"],
                image,
                engine.merge(net, written),
            )
    if writer:
        writer.close()
    pq = {}
    for (policy, variant), stat in stats.items():
        summary = stat.summary()
        pq.setdefault(policy, {})[variant] = {k: 100 * summary[k]["pq"] for k in ("All", "Things", "Stuff")}
    return {
        "images": count,
        "pq": pq,
        "miou": 100 * semantic.miou(),
        "box_ap": box_ap(ground_truth, detections, categories),
        "centre_accuracy": 100 * centre_hits / centre_total if centre_total else None,
        "centre_pixels": centre_total,
    }


def with_nocenter_rows(report: dict, nocenter: dict) -> dict:
    """``report`` with its HC and SF rows from ``nocenter``'s report (the network without centres).

    The paper trains the HC and SF networks without the centre branch and CC's with it.
    """
    if "closest_center" not in report["pq"]:
        raise ValueError("--model has no centre branch: it gives no closest_center rows")
    pq = {p: nocenter["pq"][p] for p in ("highest_confidence", "smallest_first")}
    return {**report, "pq": {**pq, "closest_center": report["pq"]["closest_center"]},
            "networks": {"HC, SF": "without centre branch", "CC": "with centre branch"}}


def format_table(report: dict) -> str:
    """Markdown table in the form of the paper's Tables II and IV."""
    names = {"highest_confidence": "HC", "smallest_first": "SF", "closest_center": "CC"}
    lines = ["| policy | variant | PQ | PQ_th | PQ_st |", "| --- | --- | --- | --- | --- |"]
    for policy, variants in report["pq"].items():
        for variant, r in variants.items():
            lines.append(
                f"| {names[policy]} | {variant} | {r['All']:.1f} | {r['Things']:.1f} | {r['Stuff']:.1f} |"
            )
    ap = report["box_ap"]
    centre = report["centre_accuracy"]
    lines.append("")
    lines.append(
        f"images {report['images']} | semantic mIoU {report['miou']:.1f} | box AP {ap['AP']:.1f} "
        f"(AP50 {ap['AP50']:.1f}, AP75 {ap['AP75']:.1f}, small {_ap(ap['AP_small'])}) | centre accuracy "
        + (f"{centre:.1f}% of {report['centre_pixels']} overlap pixels" if centre is not None else "n/a")
    )
    return "\n".join(lines)


def _ap(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="sspanoptic-eval", description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(default_model_path()))
    parser.add_argument("--images", required=True, help="image folder")
    parser.add_argument("--json", required=True, help="COCO panoptic JSON")
    parser.add_argument("--panoptic", required=True, help="folder of ground-truth panoptic PNGs")
    parser.add_argument("--out", default=None, help="write predictions and report.json here")
    parser.add_argument("--max-images", type=int, default=None)
    parser.add_argument("--paper-setting", action="store_true",
                        help="also report the paper's setting: unknown predictions, stuff below 4096 px "
                        "of the image's own resolution removed")
    parser.add_argument("--nocenter-model", default=None,
                        help="the network trained without the centre branch, for the HC and SF rows "
                        "(as in the paper); --model then gives the CC rows and the branch metrics")
    parser.add_argument("--backend", default="auto", choices=BACKENDS)
    parser.add_argument("--device", default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        import pycocotools  # noqa: F401  (box AP; checked before the long run, not after it)
    except ImportError:
        parser.exit(2, "sspanoptic-eval: error: box AP needs pycocotools: pip install pycocotools\n")
    try:
        engine = create_engine(args.model, args.backend, args.device)
        dataset = CocoPanoptic(args.images, args.json, args.panoptic, categories=engine.config.categories)
        out = Path(args.out) if args.out else None
        with torch.inference_mode():
            report = evaluate(engine, dataset, out, args.max_images, args.paper_setting)
            if args.nocenter_model:
                nocenter = create_engine(args.nocenter_model, args.backend, args.device)
                report = with_nocenter_rows(
                    report, evaluate(nocenter, dataset, None, args.max_images, args.paper_setting)
                )
    except (FileNotFoundError, ValueError, RuntimeError) as e:
        parser.exit(2, f"sspanoptic-eval: error: {e}\n")
    print(format_table(report))
    if out:
        (out / "report.json").write_text(json.dumps(report, indent=1))
        print(f"wrote {out / 'report.json'} and predictions in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
