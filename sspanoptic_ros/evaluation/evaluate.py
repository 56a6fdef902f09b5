# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Run an engine over a COCO-format panoptic data set and score it."""

from __future__ import annotations

from ..data.coco import CocoPanoptic, read_rgb
from ..predictions import segments_info
from .pq import PQStat


def panoptic_quality(engine, dataset: CocoPanoptic, max_images: int | None = None) -> dict:
    """PQ / SQ / RQ (fractions) of ``engine`` on ``dataset``, as ``PQStat.summary`` gives them."""
    stat = PQStat(dataset.categories)
    for index in range(min(len(dataset), max_images or len(dataset))):
        image = read_rgb(dataset.image_dir / dataset.image_files[index])
        gt_ids, gt_segments = dataset.panoptic(index)
        result = engine.infer(image)
        stat.accumulate(gt_ids, gt_segments, result.panoptic.cpu().numpy(), segments_info(result))
    return stat.summary()
