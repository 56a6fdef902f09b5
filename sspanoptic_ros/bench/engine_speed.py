# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""``sspanoptic-bench engine``: stage times, FPS, FLOPs and peak memory of the engine per backend.

Every engine (one per backend, and per model with ``--compare MODEL``) and torchvision's
RetinaNet-R50 (``--retinanet``: the detector alone at the same size, device and precision, eager
torch) run in turns on the same image, A B A B ..., in one process; the ratios printed are the
median, min and max of the ratios of the same rounds, which hold on a machine whose load changes.
Prints pre-processing, network, decode, head and total time (median and p99 over N rounds after
3 warm-up runs of each) and the network's FLOPs at its padded input, counted exactly.
``--json PATH`` also writes every run's times.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import torch

from ..engine import BACKENDS, Engine, create_engine, network_input_size
from ..model import ModelConfig, build_model, load_model_config, padded_size, save_checkpoint
from .head_speed import summary
from .stats import format_ratio, gflop, in_turns, pair_ratios, percentile, timed_ms, write_json

STAGES = ("preprocess", "network", "decode", "head", "total")
WARMUP = 3


def model_file(model: str, workdir: Path) -> Path:
    """Return a model file: an existing checkpoint/ONNX/plan, or a config name built with random weights."""
    if Path(model).is_file():
        return Path(model)
    config = replace(load_model_config(model), pretrained_backbone=None)
    return save_checkpoint(workdir / f"{config.name}-random.pt", build_model(config))


def warm_engine(
    path: Path,
    backend: str,
    device: str | None,
    precision: str,
    image: np.ndarray,
    compile: bool = False,
    cuda_graphs: bool = False,
    tensorrt_nms: bool = False,
    padding: int | None = None,
) -> tuple[Engine, float]:
    """Create an engine for one backend, run it ``WARMUP`` times on ``image``; return it and the peak MiB.

    ``compile`` and ``cuda_graphs`` apply to the torch backend, ``tensorrt_nms`` to TensorRT.
    ``padding`` pads the network's inputs to multiples of it instead of 32, as a model file
    made for that padding runs (torch and ONNX Runtime with dynamic sizes).
    The peak is the GPU's allocations from this engine alone, or the process RSS on the CPU.
    """
    engine = create_engine(
        path,
        backend,
        device,
        precision,
        compile=compile and backend == "torch",
        cuda_graphs=cuda_graphs and backend == "torch",
        tensorrt_nms=tensorrt_nms and backend == "tensorrt",
    )
    if padding:
        engine.backend.size_divisibility = padding
    if engine.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(engine.device)
    for _ in range(WARMUP):
        engine.infer_timed(image)
    if engine.device.type == "cuda":
        return engine, torch.cuda.max_memory_allocated(engine.device) / 2**20
    return engine, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def network_gflop(config: ModelConfig, input_size: tuple[int, int]) -> float:
    """FLOPs (GFLOP) of the network of ``config`` on one padded input (counted on the meta device)."""
    with torch.device("meta"):
        model = build_model(replace(config, pretrained_backbone=None)).eval()
        return gflop(lambda: model(torch.zeros(1, 3, *input_size)))


def retinanet(height: int, width: int, device: str, precision: str = "fp32") -> Callable[[], object]:
    """One run of torchvision's RetinaNet-R50-FPN (80 classes, as COCO's things) on an image of this size.

    ``fp16`` runs the model and the image in half precision, as the torch backend does.
    """
    import torchvision

    dtype = torch.float16 if precision == "fp16" else torch.float32
    model = torchvision.models.detection.retinanet_resnet50_fpn(
        weights=None,
        weights_backbone=None,
        num_classes=80,
        min_size=min(height, width),
        max_size=max(height, width),
    )
    model = model.eval().to(device, dtype)
    image = torch.rand(3, height, width, device=device, dtype=dtype)

    @torch.inference_mode()
    def run():
        return model([image])

    return run


def format_report(rows: list[dict]) -> str:
    """Format a table with one column per engine (median / p99 ms per stage)."""
    head = "| stage | " + " | ".join(f"{r['label']} ({r['device']})" for r in rows) + " |"
    lines = [head, "|" + " --- |" * (len(rows) + 1)]
    for stage in STAGES:
        times = [r["times_ms"][stage] for r in rows]
        cells = [f"{statistics.median(t):.1f} / {percentile(t, 99):.1f}" for t in times]
        lines.append(f"| {stage} ms (median / p99) | " + " | ".join(cells) + " |")
    lines.append("| FPS | " + " | ".join(f"{r['fps']:.2f}" for r in rows) + " |")
    lines.append(
        "| network GFLOP (padded input) | "
        + " | ".join(f"{r['gflop']:.1f} ({r['input_size'][0]}x{r['input_size'][1]})" for r in rows)
        + " |"
    )
    lines.append(
        "| peak memory MiB | "
        + " | ".join(f"{r['peak_memory_mib']:.0f} ({r['memory_kind']})" for r in rows)
        + " |"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="sspanoptic-bench engine", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", default="resnet50_fpn_coco", help="model file, or a config name (random weights)"
    )
    second = parser.add_mutually_exclusive_group()
    second.add_argument(
        "--compare", metavar="MODEL", help="a second model (file or config name), run in turns with --model"
    )
    second.add_argument(
        "--compare-padding", type=int, metavar="N",
        help="also run --model with inputs padded to multiples of N (128: before 2026-12-06), in turns",
    )
    parser.add_argument("--backends", nargs="+", default=["torch", "onnxruntime"], choices=BACKENDS)
    parser.add_argument("--device", default=None)
    parser.add_argument("--precision", default="fp32", choices=("fp32", "fp16"))
    parser.add_argument(
        "--size", type=int, nargs=2, default=(576, 864), metavar=("H", "W"), help="camera image size"
    )
    parser.add_argument("--runs", type=int, default=20, help="rounds, each running every engine once")
    parser.add_argument("--retinanet", action="store_true", help="also time torchvision's RetinaNet-R50")
    parser.add_argument("--compile", action="store_true", help="run the torch backend through torch.compile")
    parser.add_argument(
        "--cuda-graphs", action="store_true", help="replay the torch backend as CUDA graphs (CUDA only)"
    )
    parser.add_argument(
        "--tensorrt-nms", action="store_true", help="build TensorRT plans with EfficientNMS inside"
    )
    parser.add_argument("--json", type=Path, help="also write the settings and every run's times here")
    args = parser.parse_args(argv)
    if args.retinanet and "torch" not in args.backends:
        parser.error("--retinanet compares with the torch backend: include it in --backends")
    image = np.random.default_rng(0).integers(0, 256, (*args.size, 3), dtype=np.uint8)
    variants = [(args.model, None)] + ([(args.compare, None)] if args.compare else []) + (
        [(args.model, args.compare_padding)] if args.compare_padding else [])
    rows, engines = [], []
    with tempfile.TemporaryDirectory() as workdir:
        for model, padding in variants:
            path = model_file(model, Path(workdir))
            for backend in args.backends:
                engine, peak = warm_engine(
                    path, backend, args.device, args.precision, image, compile=args.compile,
                    cuda_graphs=args.cuda_graphs, tensorrt_nms=args.tensorrt_nms, padding=padding,
                )
                size = padded_size(
                    *network_input_size(*args.size, engine.config), engine.backend.size_divisibility
                )
                engines.append(engine)
                name = engine.backend.name
                rows.append({
                    "model": model, "backend": name, "device": str(engine.device),
                    "label": f"{Path(model).stem} {name}" if args.compare else
                    f"{name} padded to {engine.backend.size_divisibility}" if args.compare_padding else name,
                    "input_size": list(size), "gflop": network_gflop(engine.config, size),
                    "peak_memory_mib": peak,
                    "memory_kind": "GPU allocated" if engine.device.type == "cuda" else "process RSS",
                })
    calls = [partial(engine.infer_timed, image) for engine in engines]
    if args.retinanet:
        torch_row = next(r for r in rows if r["backend"] == "torch")
        size = network_input_size(*args.size, engines[rows.index(torch_row)].config)
        detector = retinanet(*size, torch_row["device"], args.precision)
        for _ in range(WARMUP):
            detector()
        calls.append(timed_ms(detector, torch.device(torch_row["device"])))
    results = in_turns(calls, args.runs)
    for row, runs in zip(rows, results):
        row["times_ms"] = {stage: [1e3 * getattr(t, stage) for _, t in runs] for stage in STAGES}
        row["fps"] = 1e3 / statistics.median(row["times_ms"]["total"])
    ratios = []
    for a, b, stages in _pairs(rows, args.backends, bool(args.compare or args.compare_padding)):
        for stage in stages:
            ratio = pair_ratios(a["times_ms"][stage], b["times_ms"][stage])
            ratios.append({"label": f"{stage} time {a['label']} / {b['label']}", **ratio})
    result = {
        "model": args.model, "compare": args.compare, "compare_padding": args.compare_padding,
        "size": list(args.size), "runs": args.runs,
        "precision": args.precision, "compile": args.compile, "cuda_graphs": args.cuda_graphs,
        "rows": rows, "ratios": ratios,
    }
    print(
        f"model {args.model}{f' and {args.compare}' if args.compare else ''}, camera image "
        f"{args.size[0]}x{args.size[1]}, {args.runs} rounds in turns after {WARMUP} warm-up runs each"
    )
    print(format_report(rows))
    for ratio in ratios:
        print(format_ratio(ratio["label"], ratio))
    if args.retinanet:
        retina = results[-1]
        retina_gflop = gflop(detector)
        ratio = pair_ratios(torch_row["times_ms"]["total"], retina)
        print(
            f"torchvision RetinaNet-R50 (detector alone, {size[0]}x{size[1]}, torch {args.precision} eager): "
            f"{summary(retina)}, {retina_gflop:.1f} GFLOP"
        )
        print(format_ratio(f"full panoptic pipeline {torch_row['label']} / RetinaNet (target <= 1.3)", ratio))
        print(f"network FLOPs {torch_row['label']} / RetinaNet: {torch_row['gflop'] / retina_gflop:.2f}")
        result["retinanet"] = {
            "size": list(size), "precision": args.precision, "times_ms": retina, "gflop": retina_gflop,
            "ratio": ratio["median"], "ratio_min": ratio["min"], "ratio_max": ratio["max"],
        }
    write_json(args.json, result)
    return 0


def _pairs(rows: list[dict], backends: list[str], compare: bool):
    """(numerator row, denominator row, stages) of each ratio to print.

    With ``compare``: the second model (or padding) over ``--model``, per backend (network and
    total time); otherwise the first backend over each other one (total time).
    """
    if compare:
        n = len(backends)
        return [(rows[n + i], rows[i], ("network", "total")) for i in range(n)]
    return [(rows[0], row, ("total",)) for row in rows[1:]]
