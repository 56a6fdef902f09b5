# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""What the panoptic head gives per image: the maps, the segments and the id convention."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

# panoptic id = category id * ID_DIVISOR + instance number.
ID_DIVISOR = 1000


@dataclass(frozen=True)
class Segment:
    """One segment of a panoptic map.

    id: its value in the panoptic map (category_id * 1000 + instance number).
    score: the detection score of a thing segment, None for stuff.
    bbox: (x, y, width, height) of the segment's pixels; area: its pixel count.
    """

    id: int
    category_id: int
    isthing: bool
    score: float | None
    bbox: tuple[int, int, int, int]
    area: int


@dataclass(frozen=True)
class PanopticResult:
    """Panoptic output of one image; maps are (H, W) int32, 0 = unknown.

    category: dataset category ids. instance: 1..N for the thing segments in the order of
    ``segments``, 0 elsewhere. panoptic: category * 1000 + instance. segments: things first,
    in detection order, then stuff in category order.
    """

    category: Tensor
    instance: Tensor
    panoptic: Tensor
    segments: list[Segment]
