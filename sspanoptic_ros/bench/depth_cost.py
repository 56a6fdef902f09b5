# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""``sspanoptic-bench depth``: the cost of the 3D outputs next to the engine's, in one run.

One synthetic RGB-D frame (``data.synthetic_depth``) at ``--size``, its pixels without a return
(the sky) set to the wall's distance, so that every pixel gives a point (the worst case); the 3D
outputs are built for a panoptic result of ``--things`` thing segments (a grid of rectangles
over a stuff background), from a 16UC1 depth message, exactly as the node builds them
(``ros.camera_3d.messages_3d``: decoding, back-projection, thing boxes, PointCloud2 packing,
Detection3DArray, MarkerArray). Runs alternate: engine, 3D, engine, 3D, ...; each pair gives
one ratio 3D / engine, so both see the same machine load. Prints medians and the median ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics

import numpy as np
import torch
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from ..data.depth_files import depth_mm
from ..data.synthetic_depth import WALL_DEPTH, render_rgbd
from ..engine import BACKENDS, create_engine
from ..head.result import ID_DIVISOR, PanopticResult, Segment
from ..paths import default_model_path
from ..ros.camera import Labels
from ..ros.camera_3d import messages_3d
from ..ros.depth_input import DepthOptions
from ..ros.image_codec import numpy_to_image
from ..ros.outputs_3d import OUTPUTS_3D
from .stats import in_turns, pair_ratios, timed_ms


def grid_result(height: int, width: int, things: int, category: int, stuff: int) -> PanopticResult:
    """Return a result of ``things`` rectangles of class ``category`` in a grid over ``stuff``."""
    columns = int(np.ceil(np.sqrt(things * width / height)))
    rows = int(np.ceil(things / columns))
    panoptic = np.full((height, width), stuff * ID_DIVISOR, np.int32)
    segments = []
    for i in range(things):
        top, left = (i // columns) * height // rows, (i % columns) * width // columns
        bottom, right = top + height // rows * 3 // 4, left + width // columns * 3 // 4
        panoptic[top:bottom, left:right] = category * ID_DIVISOR + i + 1
        segments.append(Segment(category * ID_DIVISOR + i + 1, category, True, 0.9,
                                (left, top, right - left, bottom - top), (bottom - top) * (right - left)))
    segments.append(Segment(stuff * ID_DIVISOR, stuff, False, None, (0, 0, width, height),
                            int(np.count_nonzero(panoptic == stuff * ID_DIVISOR))))
    tensor = torch.from_numpy(panoptic)
    return PanopticResult(tensor // ID_DIVISOR, tensor % ID_DIVISOR, tensor, segments)


def depth_inputs(depth: np.ndarray, k: tuple) -> tuple[Image, CameraInfo]:
    """Return a 16UC1 depth message of ``depth`` (metres) and a camera_info with ``k``."""
    header = Header(frame_id="camera_optical")
    header.stamp.sec = 1
    msg = numpy_to_image(depth_mm(depth), "16UC1", header)
    fx, fy, cx, cy = k
    info = CameraInfo(header=header, height=msg.height, width=msg.width)
    info.k = [fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0]
    return msg, info


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="sspanoptic-bench depth", description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(default_model_path()))
    parser.add_argument("--backend", default="torch", choices=BACKENDS)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--size", type=int, nargs=2, default=(480, 640), metavar=("H", "W"))
    parser.add_argument("--things", type=int, default=20)
    parser.add_argument("--stride", type=int, default=1)
    parser.add_argument("--pairs", type=int, default=20, help="engine + 3D pairs after one warm-up")
    parser.add_argument("--json", help="also write every run's times here")
    args = parser.parse_args(argv)
    engine = create_engine(args.model, args.backend, args.device)
    frame = render_rgbd(0, *args.size)
    categories = engine.config.categories
    thing, stuff = (next(c.id for c in categories if c.isthing is flag) for flag in (True, False))
    result = grid_result(*args.size, args.things, thing, stuff)
    depth, info = depth_inputs(np.where(frame.depth > 0, frame.depth, WALL_DEPTH), frame.k)
    options, labels = DepthOptions(stride=args.stride), Labels(categories)

    def outputs_3d():
        return messages_3d(result, depth, info, options, labels, None, set(OUTPUTS_3D), depth.header)

    engine_ms, depth_ms = in_turns(
        [timed_ms(lambda: engine.infer(frame.rgb), engine.device), timed_ms(outputs_3d, engine.device)],
        args.pairs, warmup=1,
    )
    ratio = pair_ratios(depth_ms, engine_ms)
    messages = outputs_3d()
    points = messages["points"].width
    boxes = len(messages["markers"].markers) // 2
    print(f"{args.size[0]}x{args.size[1]}, {boxes} things, stride {args.stride}, {points} points, "
          f"{args.backend} on {engine.device}, {args.pairs} pairs")
    print(f"engine median {statistics.median(engine_ms):.1f} ms; 3D outputs median "
          f"{statistics.median(depth_ms):.1f} ms; 3D / engine median {ratio['median']:.1%} "
          f"(pairwise, min {ratio['min']:.1%}, max {ratio['max']:.1%})")
    if args.json:
        with open(args.json, "w") as file:
            json.dump({"engine_ms": engine_ms, "depth_ms": depth_ms, "ratios": ratio["ratios"]}, file)
    return 0
