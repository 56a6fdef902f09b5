# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The synthetic world (``synthetic``) written to disk in COCO panoptic format.

Run ``python -m sspanoptic_ros.data.synthetic_dataset --out DIR --num N --seed S --size HxW``;
with ``--sequence F`` it writes N video sequences of F frames instead (``write_sequences``).
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np

from sspanoptic_ros.data.coco import write_panoptic_png, write_rgb
from sspanoptic_ros.data.synthetic import SYNTHETIC_CATEGORIES, render_scene, render_sequence


class DatasetPaths(NamedTuple):
    """Where :func:`write_dataset` put the data set, in :class:`CocoPanoptic`'s order."""

    image_dir: Path
    annotation_json: Path
    panoptic_dir: Path


def write_dataset(
    out_dir: str | Path, num_images: int, seed: int = 0, height: int = 256, width: int = 384
) -> DatasetPaths:
    """Write ``num_images`` scenes as images/*.png, panoptic/*.png and panoptic.json."""
    if num_images < 1:
        raise ValueError(f"num_images must be >= 1, got {num_images}")
    scenes = (render_scene((seed, i), height, width) for i in range(num_images))
    return _write_frames(out_dir, scenes, height, width)


def write_sequences(
    out_dir: str | Path,
    num_sequences: int,
    num_frames: int,
    seed: int = 0,
    height: int = 256,
    width: int = 384,
) -> list[DatasetPaths]:
    """Write ``num_sequences`` sequences of :func:`render_sequence`, one folder each.

    Sequence k goes to ``out_dir/kkkk/`` in the layout of :func:`write_dataset`: frame i is
    images/iiiiii.png and panoptic/iiiiii.png with image id i, and panoptic.json holds the
    sequence. Thing j has the segment id THING_ID_BASE + j in every frame it is visible in.
    """
    if num_sequences < 1 or num_frames < 1:
        raise ValueError(f"need at least one sequence and frame, got {num_sequences} sequences "
                         f"of {num_frames} frames")
    return [
        _write_frames(Path(out_dir) / f"{k:04d}",
                      render_sequence(num_frames, (height, width), seed=(seed, k)), height, width)
        for k in range(num_sequences)
    ]


def _write_frames(
    out_dir: str | Path, frames: Iterator[tuple[np.ndarray, np.ndarray, list[dict]]],
    height: int, width: int,
) -> DatasetPaths:
    """Write rendered frames as images/*.png, panoptic/*.png and panoptic.json."""
    paths = DatasetPaths(Path(out_dir) / "images", Path(out_dir) / "panoptic.json",
                         Path(out_dir) / "panoptic")
    paths.image_dir.mkdir(parents=True, exist_ok=True)
    paths.panoptic_dir.mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    for i, (image, ids, segments_info) in enumerate(frames):
        name = f"{i:06d}.png"
        write_rgb(paths.image_dir / name, image)
        write_panoptic_png(paths.panoptic_dir / name, ids)
        images.append({"id": i, "file_name": name, "height": height, "width": width})
        annotations.append({"image_id": i, "file_name": name, "segments_info": segments_info})
    coco = {"images": images, "annotations": annotations,
            "categories": [c.to_dict() for c in SYNTHETIC_CATEGORIES]}
    paths.annotation_json.write_text(json.dumps(coco))
    return paths


def _parse_size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)x(\d+)", text)
    if not match:
        raise argparse.ArgumentTypeError(f"size must look like 256x384 (HxW), got {text!r}")
    return int(match[1]), int(match[2])


def main(argv: list[str] | None = None) -> None:
    """Command line: write a synthetic COCO panoptic data set, or sequences of one."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--num", type=int, default=100, help="number of images (of sequences "
                        "with --sequence)")
    parser.add_argument("--sequence", type=int, metavar="FRAMES",
                        help="write --num sequences of FRAMES frames each (see write_sequences)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=_parse_size, default=(256, 384), help="HxW")
    args = parser.parse_args(argv)
    if args.sequence is not None:
        if args.sequence < 1:
            parser.error(f"--sequence needs at least 1 frame, got {args.sequence}")
        folders = write_sequences(args.out, args.num, args.sequence, args.seed, *args.size)
        print(f"wrote {args.num} sequences of {args.sequence} frames: "
              f"{', '.join(str(p.annotation_json.parent) for p in folders)}")
        return
    paths = write_dataset(args.out, args.num, args.seed, *args.size)
    print(f"wrote {args.num} images: {paths.image_dir}, {paths.panoptic_dir}, "
          f"{paths.annotation_json}")


if __name__ == "__main__":
    main()
