# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Inference settings by name: the one place that maps flat settings to the head's parameters.

The run-time settings are the described fields (``setting_fields``) of ``PanopticParams`` and
``DecodeParams``; their defaults, ranges and descriptions live there. The node's ROS parameters,
``Engine.update``, ``sspanoptic-infer`` and ``sspanoptic-eval`` all go through these functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ..head.decode import DecodeParams
from ..head.params import PanopticParams
from ..model.config import ModelConfig
from ..setting_fields import described_fields

# name -> dataclass Field of every run-time setting, panoptic head first, then decoding.
SETTING_FIELDS = described_fields(PanopticParams, DecodeParams)
RUNTIME_SETTINGS = tuple(SETTING_FIELDS)
_PANOPTIC_FIELDS = frozenset(PanopticParams.__dataclass_fields__)
_DECODE_FIELDS = frozenset(DecodeParams.__dataclass_fields__)


def split_settings(
    values: Mapping[str, Any],
    params: PanopticParams | None = None,
    decode: DecodeParams | None = None,
) -> tuple[PanopticParams, DecodeParams]:
    """Apply flat named settings to ``params`` and ``decode`` (default: the defaults).

    Each name is a field of ``PanopticParams`` or ``DecodeParams``; raises ValueError for an
    unknown name or a value the parameters refuse.
    """
    unknown = set(values) - _PANOPTIC_FIELDS - _DECODE_FIELDS
    if unknown:
        raise ValueError(f"unknown engine parameters {sorted(unknown)}")
    return (
        replace(params or PanopticParams(), **{k: v for k, v in values.items() if k in _PANOPTIC_FIELDS}),
        replace(decode or DecodeParams(), **{k: v for k, v in values.items() if k in _DECODE_FIELDS}),
    )


def effective_params(params: PanopticParams, config: ModelConfig) -> tuple[PanopticParams, str | None]:
    """Return the panoptic settings a model runs with ``params``, and why they differ (or None).

    closest_center needs the centre branch: a model without one runs highest_confidence.
    """
    if params.overlap_policy == "closest_center" and not config.use_centers:
        reason = (
            f"model {config.name!r} has no centre branch: overlap_policy closest_center falls "
            "back to highest_confidence"
        )
        return replace(params, overlap_policy="highest_confidence"), reason
    return params, None
