# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""``sspanoptic-bench engine``: stage times, FPS and peak memory of the engine per backend.

Prints pre-processing, network, decode, head and total time (median and p99 over N runs after
warm-up) for each backend, side by side with their ratio, and optionally torchvision's
RetinaNet-R50 detector at the same size, device and precision (eager torch) for the price of
panoptic over plain detection. ``--json PATH`` also writes every run's times.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from ..engine import BACKENDS, create_engine, network_input_size
from ..model import build_model, load_model_config, save_checkpoint
from .head_speed import summary, time_ms
from .stats import percentile, write_json

STAGES = ("preprocess", "network", "decode", "head", "total")


def model_file(model: str, workdir: Path) -> Path:
    """Return a model file: an existing checkpoint/ONNX/plan, or a config name built with random weights."""
    if Path(model).is_file():
        return Path(model)
    config = replace(load_model_config(model), pretrained_backbone=None)
    return save_checkpoint(workdir / f"{config.name}-random.pt", build_model(config))


def bench_engine(
    path: Path,
    backend: str,
    device: str | None,
    precision: str,
    image: np.ndarray,
    runs: int,
    compile: bool = False,
    cuda_graphs: bool = False,
    tensorrt_nms: bool = False,
) -> dict:
    """Per-stage times in ms (lists), FPS and peak memory of one backend on ``image``.

    ``compile`` and ``cuda_graphs`` apply to the torch backend, ``tensorrt_nms`` to TensorRT.
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
    if engine.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(engine.device)
    for _ in range(3):
        engine.infer_timed(image)
    times = {stage: [] for stage in STAGES}
    for _ in range(runs):
        _, t = engine.infer_timed(image)
        for stage in STAGES:
            times[stage].append(1e3 * getattr(t, stage))
    peak = (
        torch.cuda.max_memory_allocated(engine.device) / 2**20
        if engine.device.type == "cuda"
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )
    return {
        "backend": engine.backend.name,
        "device": str(engine.device),
        "times_ms": times,
        "fps": 1e3 / statistics.median(times["total"]),
        "peak_memory_mib": peak,
        "memory_kind": "GPU allocated" if engine.device.type == "cuda" else "process RSS",
    }


def bench_retinanet(height: int, width: int, device: str, runs: int, precision: str = "fp32") -> list[float]:
    """Time torchvision's RetinaNet-R50-FPN (80 classes) end to end on one image (ms per run).

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
    with torch.inference_mode():
        return time_ms(lambda: model([image]), runs, torch.device(device))


def format_report(rows: list[dict]) -> str:
    """Format a table with one column per backend (median / p99 ms per stage)."""
    head = "| stage | " + " | ".join(f"{r['backend']} ({r['device']})" for r in rows) + " |"
    lines = [head, "|" + " --- |" * (len(rows) + 1)]
    for stage in STAGES:
        times = [r["times_ms"][stage] for r in rows]
        cells = [f"{statistics.median(t):.1f} / {percentile(t, 99):.1f}" for t in times]
        lines.append(f"| {stage} ms (median / p99) | " + " | ".join(cells) + " |")
    lines.append("| FPS | " + " | ".join(f"{r['fps']:.2f}" for r in rows) + " |")
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
    parser.add_argument("--backends", nargs="+", default=["torch", "onnxruntime"], choices=BACKENDS)
    parser.add_argument("--device", default=None)
    parser.add_argument("--precision", default="fp32", choices=("fp32", "fp16"))
    parser.add_argument(
        "--size", type=int, nargs=2, default=(576, 864), metavar=("H", "W"), help="camera image size"
    )
    parser.add_argument("--runs", type=int, default=20)
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
    with tempfile.TemporaryDirectory() as workdir:
        path = model_file(args.model, Path(workdir))
        rows = [
            bench_engine(
                path, b, args.device, args.precision, image, args.runs,
                compile=args.compile, cuda_graphs=args.cuda_graphs, tensorrt_nms=args.tensorrt_nms,
            )
            for b in args.backends
        ]
    result = {
        "model": args.model, "size": list(args.size), "runs": args.runs, "precision": args.precision,
        "compile": args.compile, "cuda_graphs": args.cuda_graphs, "rows": rows,
    }
    write_json(args.json, result)  # now, so that the rows survive a failing RetinaNet run
    print(f"model {args.model}, camera image {args.size[0]}x{args.size[1]}, {args.runs} runs after 3 warm-up")
    print(format_report(rows))
    for row in rows[1:]:
        ratio = statistics.median(rows[0]["times_ms"]["total"]) / statistics.median(row["times_ms"]["total"])
        print(f"total time {rows[0]['backend']} / {row['backend']}: {ratio:.2f}")
    if args.retinanet:
        torch_row = next(r for r in rows if r["backend"] == "torch")
        config = load_model_config(args.model) if not Path(args.model).is_file() else None
        size = network_input_size(*args.size, config) if config else args.size
        retina = bench_retinanet(*size, torch_row["device"], args.runs, args.precision)
        ratio = statistics.median(torch_row["times_ms"]["total"]) / statistics.median(retina)
        print(
            f"torchvision RetinaNet-R50 (detector alone, {size[0]}x{size[1]}, torch {args.precision} eager): "
            f"{summary(retina)}"
        )
        print(f"full panoptic pipeline / RetinaNet: {ratio:.2f} (target <= 1.3)")
        result["retinanet"] = {
            "size": list(size), "precision": args.precision, "times_ms": retina, "ratio": ratio,
        }
        write_json(args.json, result)
    return 0

