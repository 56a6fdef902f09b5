# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""``make demo``: the panoptic node on a synthetic camera bag and on two real COCO photos.

1. Writes a bag of the synthetic world seen by a moving camera (once; cached under ``out/demo``).
2. Times the engine alone on its frames, starts the node with the bundled demo model, plays the
   bag through it at 5 Hz and runs a short peak-throughput search, and prints the benchmark.
3. Saves the node's colourised outputs of the 5 Hz run: a few PNG frames and a GIF.
4. Sends the two COCO sample photos through the node and saves their colourised outputs.
5. Shows one synthetic RGB-D frame in 3D: labelled points and thing boxes (``demo_3d``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image as PILImage

import sspanoptic_ros

from .bench.bag_writer import synthetic_frames, write_bag
from .bench.node_throughput import BagBenchmark
from .bench.report import format_report, plot_report
from .bench.session import NodeSession
from .demo_3d import demo_3d
from .engine import create_engine
from .paths import default_model_path

COCO_SAMPLE = Path(sspanoptic_ros.__file__).resolve().parents[2] / "shared/data/coco_panoptic_sample"
DEMO_RATE = 5.0  # Hz of the run whose outputs become the GIF
PNG_FRAMES = 4
COCO_NOTE = (
    "note: the demo model was trained only on the synthetic world (discs, boxes, triangles, sky,"
    " walls, grass, road), never on COCO; its output on these photos is not a meaningful"
    " segmentation. It shows the node taking real camera photos of another size; a model trained"
    " on COCO (configs/resnet50_fpn_coco.yaml) is needed for real segmentations."
)


def synthetic_bag(out_dir: Path, frames: int, size: tuple[int, int], rate: float, seed: int) -> Path:
    """Return the cached synthetic camera bag for these settings, writing it the first time."""
    path = out_dir / f"synthetic_{frames}f_{size[0]}x{size[1]}_{rate:g}hz_seed{seed}"
    if (path / "metadata.yaml").is_file():
        print(f"reusing the synthetic camera bag {path}")
        return path
    print(f"writing a synthetic camera bag of {frames} frames {size[0]}x{size[1]} at {rate:g} Hz ...")
    write_bag(path, synthetic_frames(frames, size, seed), rate, start_ns=1_767_225_600 * 10**9)
    return path


def save_stream(pictures: list[np.ndarray], out_dir: Path, rate: float) -> tuple[list[Path], Path]:
    """Save the first PNG_FRAMES pictures as PNG files and all of them as a looping GIF."""
    out_dir.mkdir(parents=True, exist_ok=True)
    step = max(1, len(pictures) // PNG_FRAMES)
    pngs = []
    for i, picture in enumerate(pictures[::step][:PNG_FRAMES]):
        pngs.append(out_dir / f"colored_{i}.png")
        PILImage.fromarray(picture).save(pngs[-1])
    gif = out_dir / "colored.gif"
    images = [PILImage.fromarray(p) for p in pictures]
    images[0].save(gif, save_all=True, append_images=images[1:], duration=round(1000 / rate), loop=0)
    return pngs, gif


def segment_photos(session: NodeSession, photos: list[Path], out_dir: Path) -> list[Path]:
    """Send each photo through the node; save its colourised output next to a copy of the photo."""
    from std_msgs.msg import Header

    from .ros.image_codec import numpy_to_image

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for photo in photos:
        rgb = cv2.cvtColor(cv2.imread(str(photo), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        colored = session.segment(numpy_to_image(rgb, "rgb8", Header(frame_id="coco_photo")))
        if colored is None:
            print(f"  {photo.name}: no output from the node (see {session.log_path})")
            continue
        written.append(out_dir / f"{photo.stem}_colored.png")
        PILImage.fromarray(np.concatenate([rgb, colored], axis=1)).save(written[-1])
        print(f"  {photo.name} ({rgb.shape[1]}x{rgb.shape[0]}): {written[-1]}")
    return written


def main(argv: list[str] | None = None) -> int:
    """Run the demo; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m sspanoptic_ros.demo", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--model", type=Path, help="model file (default: the bundled demo model)")
    parser.add_argument("--backend", default="auto", help="auto | tensorrt | torch | onnxruntime")
    parser.add_argument("--out", type=Path, default=Path("out/demo"), help="output folder")
    parser.add_argument("--frames", type=int, default=60, help="frames in the synthetic bag")
    parser.add_argument("--size", type=int, nargs=2, default=(256, 384), metavar=("H", "W"))
    parser.add_argument("--rate", type=float, default=10.0, help="frame rate of the bag, Hz")
    parser.add_argument("--seconds", type=float, default=6.0, help="length of the 5 Hz run")
    parser.add_argument("--peak-trials", type=int, default=5, help="runs of the peak search")
    parser.add_argument("--peak-seconds", type=float, default=3.0, help="length of a search run")
    args = parser.parse_args(argv)
    model = args.model or default_model_path()
    if not model.is_file():
        print(f"error: the demo model {model} does not exist. Train it with `make demo-model`"
              " (CPU, takes a while) or pass --model a checkpoint.", file=sys.stderr)
        return 1
    started = time.monotonic()
    bag = synthetic_bag(args.out, args.frames, tuple(args.size), args.rate, seed=0)
    keep = round(DEMO_RATE * args.seconds) + 10
    benchmark = BagBenchmark(bag, model, args.out, backend=args.backend, keep_colored=keep)
    print(f"engine alone ({args.backend}) on the bag's frames ...")
    benchmark.time_engine(5.0)
    with benchmark:
        session = benchmark.session
        print(f"starting the node (log: {session.log_path}) ...")
        print(f"  first output after {session.wait_ready():.1f} s")
        print(f"playing the bag at {DEMO_RATE:g} Hz for {args.seconds:g} s, then the peak search ...")
        run_start = time.time_ns()
        benchmark.fixed_runs([DEMO_RATE], args.seconds)
        stream = [p for stamp, p in session.monitor.colored().items() if stamp >= run_start]
        benchmark.search(args.peak_trials, args.peak_seconds)
        photos = sorted((COCO_SAMPLE / "images").glob("*.jpg"))
        if photos:
            print(f"sending the {len(photos)} COCO sample photos through the node ...")
            coco = segment_photos(session, photos, args.out / "coco")
        else:
            print(f"COCO sample photos not found under {COCO_SAMPLE}: skipped")
            coco = []
    report = benchmark.report()
    print()
    print(format_report(report))
    print()
    if stream:
        pngs, gif = save_stream(stream, args.out / "stream", DEMO_RATE)
        print(f"colourised node outputs of the {DEMO_RATE:g} Hz run: {gif} ({len(stream)} frames),"
              f" {', '.join(str(p) for p in pngs)}")
    else:
        print("no colourised outputs received during the 5 Hz run")
    if coco:
        print(f"COCO photos (input | node output): {', '.join(str(p) for p in coco)}")
        print(COCO_NOTE)
    print(f"benchmark: {args.out / 'report.json'}, plot: {plot_report(report, args.out / 'report.png')},"
          f" node log: {args.out / 'node.log'}")
    engine = create_engine(model, args.backend, "cpu" if args.backend in ("auto", "torch") else None)
    print(f"3D: one synthetic RGB-D frame as labelled points and thing boxes: "
          f"{demo_3d(engine, args.out / 'rgbd_3d.png')}")
    print(f"demo finished in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
