# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Panoptic results as records: segments as dicts, COCO ``segments_info``, prediction files.

The COCO panoptic prediction writer serves ``sspanoptic-infer`` and ``sspanoptic-eval``; the
node's JSON segment list uses ``segment_record``.

Files: one COCO panoptic PNG per image (segment id encoded as R + 256 G + 256^2 B), a
colourised overlay, and ``predictions.json`` with the ``annotations`` and the ``categories``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .data.coco import write_panoptic_png, write_rgb
from .head.result import PanopticResult, Segment
from .visualization import color_lut, colorize_panoptic


def segment_record(segment: Segment) -> dict:
    """Return a segment as a dict: id, category_id, bbox [x, y, w, h], area, score (things only).

    ``id`` is the segment's value in the panoptic map.
    """
    record = {
        "id": segment.id,
        "category_id": segment.category_id,
        "bbox": list(segment.bbox),
        "area": segment.area,
    }
    if segment.score is not None:
        record["score"] = segment.score
    return record


def segments_info(result: PanopticResult) -> list[dict]:
    """COCO ``segments_info`` of a panoptic result (``segment_record`` with ``iscrowd`` 0)."""
    return [{**segment_record(s), "iscrowd": 0} for s in result.segments]


class PredictionWriter:
    """Writes COCO panoptic predictions (PNG per image + one JSON) and colourised overlays."""

    def __init__(self, out_dir: str | Path, categories, alpha: float = 0.5, overlays: bool = True):
        self.out = Path(out_dir)
        (self.out / "panoptic").mkdir(parents=True, exist_ok=True)
        if overlays:
            (self.out / "colored").mkdir(parents=True, exist_ok=True)
        self.categories, self.alpha, self.overlays = categories, alpha, overlays
        self.lut = color_lut(categories)
        self.annotations: list[dict] = []

    def add(self, name: str, image_id, image: np.ndarray, result: PanopticResult) -> None:
        """Write one image's prediction."""
        file_name = f"{name}.png"
        write_panoptic_png(self.out / "panoptic" / file_name, result.panoptic.cpu().numpy())
        self.annotations.append(
            {"image_id": image_id, "file_name": file_name, "segments_info": segments_info(result)}
        )
        if self.overlays:
            colored = colorize_panoptic(
                result.category.cpu().numpy(), result.instance.cpu().numpy(), self.lut, image, self.alpha
            )
            write_rgb(self.out / "colored" / file_name, colored)

    def close(self) -> Path:
        """Write ``predictions.json`` and return its path."""
        path = self.out / "predictions.json"
        data = {"annotations": self.annotations, "categories": [c.to_dict() for c in self.categories]}
        path.write_text(json.dumps(data))
        return path
