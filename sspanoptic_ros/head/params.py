# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The settings of the panoptic head (``PanopticParams``), checked when made."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..setting_fields import check_setting_values, setting

OVERLAP_POLICIES = ("highest_confidence", "smallest_first", "closest_center")
# The paper's output size, to which stuff_area_threshold refers.
REFERENCE_SIZE = (576, 864)


@dataclass(frozen=True)
class PanopticParams:
    """Settings of the panoptic head.

    score_threshold: detections scoring lower are ignored.
    overlap_policy: how a pixel inside several boxes of its winning class picks one:
        "highest_confidence" (higher score), "smallest_first" (smaller box area
        (x2 - x1) * (y2 - y1)) or "closest_center" (box centre nearest, in L2, to the pixel
        centre plus the predicted centre offset).
    stuff_area_threshold: stuff segments with fewer pixels become unknown. Given for the
        paper's 576x864 output; an H x W output uses threshold * H * W / (576 * 864).
    unknown_for_undetected_things: pixels whose argmax over all C channels is a thing class
        with no box of that class holding them become unknown, instead of taking the argmax
        of Y (the best stuff class or a box of another class).
    min_segment_fraction: a detection whose final segment has fewer pixels than this fraction
        of its box's pixels (inside the image) disappears and its pixels become unknown. The
        default 0.0 removes only detections left with no pixel.
    """

    score_threshold: float = setting(
        0.4, "Detections scoring lower are ignored by the panoptic head.", range=(0.0, 1.0)
    )
    overlap_policy: str = setting(
        "closest_center",
        "Which of several boxes of its class a pixel goes to; closest_center needs a model with "
        "a centre branch (a model without one runs highest_confidence).",
        choices=OVERLAP_POLICIES,
    )
    stuff_area_threshold: float = setting(
        4096.0,
        "Stuff segments with fewer pixels become unknown; given for a "
        f"{REFERENCE_SIZE[0]}x{REFERENCE_SIZE[1]} image, scaled with the image area.",
        range=(0.0, float(REFERENCE_SIZE[0] * REFERENCE_SIZE[1])),
    )
    unknown_for_undetected_things: bool = setting(
        False,
        "Pixels whose best class is a thing class without a box holding them become unknown.",
    )
    min_segment_fraction: float = 0.0
    # False: stuff_area_threshold is in pixels of the output itself, unscaled (the paper's
    # evaluation, after Panoptic FPN: 4096 px at the evaluated image's resolution).
    stuff_area_scaled: bool = True

    def __post_init__(self):
        check_setting_values(self)
        if not isinstance(self.unknown_for_undetected_things, bool):
            raise ValueError(
                "unknown_for_undetected_things must be a bool, "
                f"got {self.unknown_for_undetected_things!r}"
            )
        if not 0.0 <= self.min_segment_fraction <= 1.0:
            raise ValueError(
                f"min_segment_fraction must be in [0, 1], got {self.min_segment_fraction}"
            )
        if not isinstance(self.stuff_area_scaled, bool):
            raise ValueError(f"stuff_area_scaled must be a bool, got {self.stuff_area_scaled!r}")

    def stuff_area(self, height: int, width: int) -> float:
        """Stuff area threshold in pixels for an output of height x width."""
        if not self.stuff_area_scaled:
            return self.stuff_area_threshold
        return self.stuff_area_threshold * height * width / math.prod(REFERENCE_SIZE)
