# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""``sspanoptic-infer``: panoptic segmentation of images, folders and videos without ROS.

For every input frame it writes a COCO panoptic PNG (segment id = category * 1000 + instance)
and a colourised overlay; ``predictions.json`` collects the COCO ``annotations`` with their
``segments_info`` and the model's ``categories`` (see ``predictions``). With ``--depth DIR
--intrinsics fx fy cx cy`` it also writes ``clouds/<name>.ply`` per image: the labelled points
of the aligned depth image ``DIR/<name>.{png,tif,tiff,npy}`` (``data.depth_files``, ``depth3d``).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .data.coco import read_rgb
from .data.depth_files import find_depth, read_depth, write_ply
from .data.video import video_frames
from .depth3d import DEPTH_RANGE, Intrinsics, depth_grid
from .engine import BACKENDS, ImageError, create_engine
from .head.params import OVERLAP_POLICIES
from .head.result import PanopticResult
from .paths import default_model_path
from .predictions import PredictionWriter
from .progress import progress
from .tracking import Tracker
from .visualization import color_lut, pack_rgb, panoptic_palette

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm")


def list_inputs(paths: list[str | Path]) -> list[Path]:
    """Expand folders into their image files (sorted); keep images and videos as they are."""
    files = []
    for path in map(Path, paths):
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        elif path.is_file():
            if path.suffix.lower() not in IMAGE_SUFFIXES + VIDEO_SUFFIXES:
                raise ValueError(
                    f"{path}: not an image or video file (known: {IMAGE_SUFFIXES + VIDEO_SUFFIXES})"
                )
            files.append(path)
        else:
            raise FileNotFoundError(f"input not found: {path}")
    return files


def read_frames(path: Path, tracker: Tracker | None = None) -> Iterator[tuple[str, np.ndarray]]:
    """Yield (name, RGB frame): one for an image, every frame of a video.

    A video starts new tracks: ``tracker`` (if given) is reset before its first frame.
    """
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        yield path.stem, read_rgb(path)
        return
    if tracker is not None:
        tracker.reset()
    for index, frame in enumerate(video_frames(path)):
        yield f"{path.stem}_{index:06d}", frame


def write_cloud(path: Path, result: PanopticResult, depth_file: Path, k: tuple, lut: np.ndarray,
                depth_range: tuple[float, float]) -> int:
    """Write the labelled cloud of ``result`` and an aligned depth file as PLY; return its points."""
    height, width = result.panoptic.shape
    palette = panoptic_palette(lut)
    grid = depth_grid(result, read_depth(depth_file), Intrinsics(*k, width, height), *depth_range)
    cloud = grid.cloud(pack_rgb(palette))
    write_ply(path, cloud.points, palette[cloud.labels], cloud.labels)
    return len(cloud.rows)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="sspanoptic-infer", description=__doc__.splitlines()[0])
    parser.add_argument("inputs", nargs="+", help="image files, folders of images, or video files")
    parser.add_argument(
        "--model", default=str(default_model_path()), help="checkpoint, ONNX or TensorRT plan"
    )
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--backend", default="auto", choices=BACKENDS)
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda if available)")
    parser.add_argument("--precision", default="fp32", choices=("fp32", "fp16"))
    parser.add_argument("--policy", default=None, choices=OVERLAP_POLICIES, help="intra-class overlap policy")
    parser.add_argument("--score-threshold", type=float, default=None)
    parser.add_argument("--alpha", type=float, default=0.5, help="overlay opacity of the colours")
    parser.add_argument(
        "--track", action="store_true",
        help="number thing segments by track id over the frames, in the order given (each video "
        "starts new tracks): segment ids category * 1000 + track id, stable over the sequence",
    )
    parser.add_argument("--depth", type=Path, help="folder of depth images aligned to the inputs "
                        "(same name; 16-bit PNG mm, float TIFF or .npy m): also write clouds/*.ply")
    parser.add_argument("--intrinsics", type=float, nargs=4, metavar=("FX", "FY", "CX", "CY"),
                        help="pinhole intrinsics of the colour images (pixels), for --depth")
    parser.add_argument("--depth-range", type=float, nargs=2, default=DEPTH_RANGE,
                        metavar=("MIN", "MAX"), help="metres of depth that give points")
    args = parser.parse_args(argv)
    if (args.depth is None) != (args.intrinsics is None):
        parser.error("--depth and --intrinsics go together")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        files = list_inputs(args.inputs)
        engine = create_engine(args.model, args.backend, args.device, args.precision)
        changes = {"overlap_policy": args.policy, "score_threshold": args.score_threshold}
        engine.update(**{k: v for k, v in changes.items() if v is not None})
    except (FileNotFoundError, ValueError, RuntimeError) as e:
        parser.exit(2, f"sspanoptic-infer: error: {e}\n")
    writer = PredictionWriter(args.out, engine.config.categories, args.alpha)
    failed = 0
    tracker = Tracker() if args.track else None
    lut = color_lut(engine.config.categories)
    frames = (frame for path in files for frame in read_frames(path, tracker))
    total = len(files) if all(p.suffix.lower() in IMAGE_SUFFIXES for p in files) else None
    for name, image in progress(frames, total, "infer"):
        try:
            result = engine.infer(image)
            if tracker is not None:
                result = tracker.track(result)
            # COCO file names are the zero-padded integer image id (000000139.jpg -> 139).
            writer.add(name, int(name) if name.isdigit() else name, image, result)
            if args.depth is not None:
                (Path(args.out) / "clouds").mkdir(parents=True, exist_ok=True)
                write_cloud(Path(args.out) / "clouds" / f"{name}.ply", result, find_depth(args.depth, name),
                            args.intrinsics, lut, args.depth_range)
        except (ImageError, FileNotFoundError, ValueError) as e:
            failed += 1
            logging.error("%s: %s", name, e)
    print(f"wrote {len(writer.annotations)} predictions to {writer.close()} ({failed} failed)")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
