# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""``sspanoptic-export``: checkpoint -> ONNX -> TensorRT plan (or a torch-tensorrt module).

sspanoptic-export onnx CHECKPOINT OUT.onnx [--size H W] [--precision fp16] [--nms] [--check IMAGE ...]
sspanoptic-export tensorrt MODEL.onnx OUT.plan [--workspace-gib 4]
sspanoptic-export torch-tensorrt CHECKPOINT OUT.ep [--size H W] [--precision fp16]
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np
import torch

from ..formats.nms_graph import nms_settings_json
from ..formats.onnx_file import DEFAULT_OPSET, PRECISIONS, export_onnx
from ..head.decode import DecodeParams
from ..model import load_checkpoint, release_checkpoint

log = logging.getLogger(__name__)


def compare_backends(checkpoint: Path, onnx_path: Path, images: list[np.ndarray]) -> list[dict]:
    """Run torch and ONNX Runtime on ``images``: max abs logit error and panoptic agreement.

    For a graph ending in EfficientNMS, ONNX Runtime runs it up to the plugin and the plugin's
    reference finishes it; torch decodes with the same settings.
    """
    from ..engine.backends import OnnxRuntimeBackend, TorchBackend
    from ..engine.engine import Engine
    from ..engine.preprocess import network_input_size, preprocess

    model, _ = load_checkpoint(checkpoint)
    ort_backend = OnnxRuntimeBackend(onnx_path)
    ort_engine = Engine(ort_backend, ort_backend.config)
    torch_engine = Engine(TorchBackend(model), model.config, decode=ort_backend.builtin_nms)
    rows = []
    for image in images:
        size = network_input_size(*image.shape[:2], model.config)
        x = preprocess(
            torch.from_numpy(image.copy()), size, model.config, divisibility=ort_backend.size_divisibility
        )
        with torch.inference_mode():
            ours, theirs = torch_engine.backend(x)._asdict(), ort_backend(x)._asdict()
            errors = [  # the logits both have (no detector logits after NMS)
                (ours[name] - theirs[name]).abs().max().item()
                for name in ours.keys() & theirs.keys()
                if isinstance(ours[name], torch.Tensor)
            ]
        a, b = torch_engine.infer(image), ort_engine.infer(image)
        rows.append(
            {
                "size": image.shape[:2],
                "max_abs_logit_error": max(errors),
                "panoptic_agreement": (a.panoptic == b.panoptic).float().mean().item(),
            }
        )
    return rows


def _onnx(args) -> int:
    from ..data.coco import read_rgb
    from ..data.synthetic import render_scene

    model, _ = load_checkpoint(args.checkpoint)
    size = tuple(args.size) if args.size else None
    nms = None
    if args.nms:
        given = {"candidate_threshold": args.candidate_threshold, "nms_threshold": args.nms_threshold,
                 "max_detections": args.max_detections}
        nms = DecodeParams(**{k: v for k, v in given.items() if v is not None})
    elif (args.candidate_threshold, args.nms_threshold, args.max_detections) != (None, None, None):
        raise ValueError("--candidate-threshold, --nms-threshold and --max-detections need --nms")
    path = export_onnx(model, args.out, size=size, opset=args.opset, precision=args.precision, nms=nms)
    shape = "dynamic H/W" if size is None else f"{size[0]}x{size[1]}"
    extra = f", EfficientNMS {nms_settings_json(nms)}" if nms else ""
    print(f"wrote {path} ({shape}, opset {args.opset}, {args.precision}{extra}); onnx.checker passed")
    images = [read_rgb(p) for p in args.check] + [render_scene(seed, 256, 384)[0] for seed in (101, 102)]
    if size is not None:  # a static model takes only images that resize to its size
        from ..engine.preprocess import network_input_size
        from ..model import padded_size

        images = [
            im for im in images if padded_size(*network_input_size(*im.shape[:2], model.config)) == size
        ]
    for row in compare_backends(Path(args.checkpoint), path, images):
        print(
            f"  check {row['size'][0]}x{row['size'][1]}: max |logit error| {row['max_abs_logit_error']:.2e}, "
            f"identical panoptic pixels {row['panoptic_agreement']:.4%}"
        )
    return 0


def _tensorrt(args) -> int:
    if args.precision:
        raise ValueError(
            "a plan's precision is the ONNX file's: export it with "
            "`sspanoptic-export onnx CHECKPOINT OUT.onnx --precision fp16`"
        )
    from ..formats.onnx_file import read_onnx_metadata
    from ..formats.tensorrt_plan import build_plan, profile_for

    meta = read_onnx_metadata(args.onnx)
    default = profile_for(meta.config, meta.size_divisibility)
    shapes = (args.min_shape, args.opt_shape, args.max_shape)
    profile = tuple(tuple(given) if given else d for given, d in zip(shapes, default))
    plan = build_plan(args.onnx, args.out, profile, args.workspace_gib, args.timing_cache)
    print(f"wrote {plan} and {plan.name}.json")
    return 0


def _torch_tensorrt(args) -> int:
    import torch_tensorrt

    model, _ = load_checkpoint(args.checkpoint, "cuda")
    dtype = torch.float16 if args.precision == "fp16" else torch.float32
    example = torch.zeros(1, 3, *args.size, device="cuda")
    compiled = torch_tensorrt.compile(model, ir="dynamo", inputs=[example], enabled_precisions={dtype})
    torch_tensorrt.save(compiled, args.out, inputs=[example])
    print(f"wrote {args.out}")
    return 0


def _release(args) -> int:
    path = release_checkpoint(args.checkpoint, args.out)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="sspanoptic-export", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    onnx = sub.add_parser("onnx", help="checkpoint -> ONNX, checked against torch")
    onnx.add_argument("checkpoint")
    onnx.add_argument("out")
    onnx.add_argument(
        "--size",
        type=int,
        nargs=2,
        metavar=("H", "W"),
        help="static padded input size (default: dynamic H/W)",
    )
    onnx.add_argument("--opset", type=int, default=DEFAULT_OPSET)
    onnx.add_argument(
        "--precision", default="fp32", choices=PRECISIONS,
        help="fp16: compute in fp16 with GroupNorm in fp32 (for TensorRT fp16 plans)",
    )
    onnx.add_argument(
        "--nms", action="store_true",
        help="end the graph in TensorRT's EfficientNMS (TensorRT plans only) with the settings below",
    )
    defaults = DecodeParams()
    onnx.add_argument("--candidate-threshold", type=float, help=f"default {defaults.candidate_threshold}")
    onnx.add_argument("--nms-threshold", type=float, help=f"default {defaults.nms_threshold}")
    onnx.add_argument("--max-detections", type=int, help=f"default {defaults.max_detections}")
    onnx.add_argument(
        "--check", nargs="*", default=[], help="real images to compare torch and ONNX Runtime on"
    )
    onnx.set_defaults(run=_onnx)
    trt = sub.add_parser("tensorrt", help="ONNX -> TensorRT plan (needs TensorRT and a GPU)")
    trt.add_argument("onnx")
    trt.add_argument("out")
    trt.add_argument("--precision", help=argparse.SUPPRESS)  # moved: refused with a pointer
    trt.add_argument("--min-shape", type=int, nargs=4, default=None, help="default: from the model config")
    trt.add_argument("--opt-shape", type=int, nargs=4, default=None, help="default: from the model config")
    trt.add_argument("--max-shape", type=int, nargs=4, default=None, help="default: from the model config")
    trt.add_argument("--workspace-gib", type=float, default=4.0)
    trt.add_argument("--timing-cache", default=None)
    trt.set_defaults(run=_tensorrt)
    ttrt = sub.add_parser("torch-tensorrt", help="checkpoint -> torch-tensorrt (dynamo) module")
    ttrt.add_argument("checkpoint")
    ttrt.add_argument("out")
    ttrt.add_argument("--size", type=int, nargs=2, default=(576, 864), metavar=("H", "W"))
    ttrt.add_argument("--precision", default="fp16", choices=("fp32", "fp16"))
    ttrt.set_defaults(run=_torch_tensorrt)
    release = sub.add_parser("release", help="training checkpoint -> deployable fp16 checkpoint")
    release.add_argument("checkpoint")
    release.add_argument("out")
    release.set_defaults(run=_release)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        return args.run(args)
    except ImportError as e:
        parser.exit(2, f"sspanoptic-export {args.command}: needs a package that is not installed: {e}\n")
    except (FileNotFoundError, ValueError, RuntimeError) as e:
        parser.exit(2, f"sspanoptic-export {args.command}: error: {e}\n")


if __name__ == "__main__":
    sys.exit(main())
