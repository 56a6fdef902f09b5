# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Inference settings by name: one split, one rule for what a model runs, one table of fields."""

from dataclasses import fields

import pytest
from conftest import tiny_config

from sspanoptic_ros.engine.settings import RUNTIME_SETTINGS, SETTING_FIELDS, effective_params, split_settings
from sspanoptic_ros.head import DecodeParams, PanopticParams


def test_runtime_settings_are_the_described_fields():
    assert RUNTIME_SETTINGS == (
        "score_threshold", "overlap_policy", "stuff_area_threshold", "unknown_for_undetected_things",
        "nms_threshold", "max_detections",
    )
    defaults = {f.name: f.default for cls in (PanopticParams, DecodeParams) for f in fields(cls)}
    for name, field in SETTING_FIELDS.items():
        assert field.default == defaults[name] and field.metadata["description"].endswith(".")
    assert isinstance(PanopticParams().stuff_area_threshold, float)  # a double ROS parameter


def test_split_settings_applies_names_to_the_right_parameters():
    base = (PanopticParams(score_threshold=0.7), DecodeParams(max_detections=50))
    panoptic, decode = split_settings({"overlap_policy": "smallest_first", "nms_threshold": 0.3}, *base)
    assert panoptic == PanopticParams(score_threshold=0.7, overlap_policy="smallest_first")
    assert decode == DecodeParams(max_detections=50, nms_threshold=0.3)
    assert split_settings({}) == (PanopticParams(), DecodeParams())
    # Fields without a description are settings too, for the Python API.
    assert split_settings({"min_segment_fraction": 0.2})[0].min_segment_fraction == 0.2


@pytest.mark.parametrize(
    "values, message",
    [
        ({"threshold": 0.5}, r"unknown engine parameters \['threshold'\]"),
        ({"score_threshold": 1.5}, r"score_threshold must be in \[0.0, 1.0\], got 1.5"),
        ({"overlap_policy": "largest_first"}, "overlap_policy must be one of"),
        ({"max_detections": 1000}, r"max_detections must be in \[1, 999\]"),
        ({"nms_threshold": 0.0}, "nms_threshold"),
        ({"stuff_area_threshold": float("nan")}, "stuff_area_threshold must be in"),
    ],
)
def test_split_settings_refuses_bad_names_and_values(values, message):
    with pytest.raises(ValueError, match=message):
        split_settings(values)


def test_effective_params_closest_center_needs_centres():
    asked = PanopticParams(overlap_policy="closest_center", score_threshold=0.3)
    assert effective_params(asked, tiny_config()) == (asked, None)
    ran, why = effective_params(asked, tiny_config(use_centers=False))
    assert ran == PanopticParams(overlap_policy="highest_confidence", score_threshold=0.3)
    assert why == (
        "model 'tiny' has no centre branch: overlap_policy closest_center falls back to highest_confidence"
    )
    other = PanopticParams(overlap_policy="smallest_first")
    assert effective_params(other, tiny_config(use_centers=False)) == (other, None)
