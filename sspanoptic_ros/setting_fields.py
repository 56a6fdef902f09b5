# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Described setting fields: a dataclass field with its description, range and choices.

The head's settings (``PanopticParams``, ``DecodeParams``) and the tracker's (``TrackerParams``)
declare their user-facing fields with ``setting``; the engine splits flat settings by these
fields and the ROS node declares its parameters from them, so each default, range and
description is written once. A module of its own at the package's base, so that every layer
can use it.
"""

from __future__ import annotations

from dataclasses import field, fields
from typing import Any


def setting(
    default: Any,
    description: str,
    range: tuple[float, float] | None = None,
    choices: tuple[str, ...] = (),
) -> Any:
    """Return a dataclass field with ``default``, a one-line ``description`` and its allowed values.

    ``range``: inclusive bounds of a number; ``choices``: the allowed values of a string.
    """
    return field(default=default, metadata={"description": description, "range": range, "choices": choices})


def check_setting_values(settings: Any) -> None:
    """Raise ValueError naming the first described field of a dataclass outside its range or choices."""
    for f in fields(settings):
        value = getattr(settings, f.name)
        bounds, choices = f.metadata.get("range"), f.metadata.get("choices")
        if bounds is not None and not bounds[0] <= value <= bounds[1]:
            raise ValueError(f"{f.name} must be in [{bounds[0]}, {bounds[1]}], got {value}")
        if choices and value not in choices:
            raise ValueError(f"{f.name} must be one of {choices}, got {value!r}")


def described_fields(*classes: type) -> dict[str, Any]:
    """Return the described fields (name -> dataclass Field) of ``classes``, in declaration order."""
    return {f.name: f for cls in classes for f in fields(cls) if "description" in f.metadata}
