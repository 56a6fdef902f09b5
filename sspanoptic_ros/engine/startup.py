# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Start an engine from a user's settings, check the loaded model, release it again.

What a long-running service (the ROS node) needs around ``create_engine``: one request with
every setting, one error type whose message is a single line that says what is wrong, the
check of the model's categories against the ones the user expects, the settings the model
runs as opposed to those asked for, and the release of the device memory of a dropped engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from ..categories import Category, load_categories
from ..paths import default_model_path
from .engine import Engine
from .loader import create_engine
from .settings import RUNTIME_SETTINGS, split_settings

# Errors that explain themselves when a model cannot be used (missing, corrupt, wrong device,
# missing runtime); the message of any other error is prefixed with its type.
MODEL_ERRORS = (OSError, ValueError, RuntimeError, ImportError)


class EngineStartError(Exception):
    """The engine could not be started; the message is one line saying why."""


@dataclass(frozen=True)
class EngineRequest:
    """Everything an engine is started with; empty ``model_path``: the bundled demo model."""

    model_path: str = ""
    backend: str = "auto"
    device: str = ""  # empty: cuda if available, else cpu
    precision: str = "fp32"
    cuda_graphs: bool = False
    tensorrt_nms: bool = False
    max_pixels: int | None = None
    expected_categories: str = ""  # COCO category JSON the model must match; empty: any
    settings: Mapping[str, Any] = field(default_factory=dict)  # RUNTIME_SETTINGS by name

    @property
    def model_file(self) -> str:
        """The model file to load."""
        return self.model_path or str(default_model_path())


def start_engine(request: EngineRequest) -> Engine:
    """Build the engine of ``request`` and check it; raise EngineStartError with the reason."""
    model_path = request.model_file
    try:
        panoptic, decode = split_settings(request.settings)
    except ValueError as e:
        raise EngineStartError(f"invalid parameters: {e}") from None
    categories_path = request.expected_categories
    try:
        expected = load_categories(categories_path) if categories_path else None
    except (OSError, ValueError, TypeError) as e:  # TypeError: JSON of the wrong shape
        raise EngineStartError(
            f"cannot read expected_categories {categories_path}: {error_line(e)}"
        ) from None
    try:
        engine = create_engine(
            model_path,
            backend=request.backend,
            device=request.device or None,
            precision=request.precision,
            cuda_graphs=request.cuda_graphs,
            tensorrt_nms=request.tensorrt_nms,
            params=panoptic,
            decode=decode,
            max_pixels=request.max_pixels,
        )
    except Exception as e:  # whatever is wrong with the file, one line and no engine
        raise EngineStartError(
            f"cannot load model {model_path} ({request.backend} backend): {error_line(e)}"
        ) from None
    if expected is not None and (difference := category_difference(engine.config.categories, expected)):
        raise EngineStartError(
            f"model {model_path} does not have the expected_categories {categories_path}: {difference}"
        )
    return engine


def settings_in_use(engine: Engine) -> dict[str, Any]:
    """Return the run-time settings (``RUNTIME_SETTINGS``) by name, as the engine runs them.

    They differ from those asked for where the model decides: a model without a centre branch
    runs highest_confidence; a network with EfficientNMS inside has its own NMS settings.
    """
    values = {**vars(engine.params), **vars(engine.decode)}
    return {name: values[name] for name in RUNTIME_SETTINGS}


def release_device_memory(device: torch.device) -> None:
    """Return the GPU memory torch caches but no tensor uses any more (after dropping an engine)."""
    if device.type == "cuda":
        torch.cuda.empty_cache()


def category_difference(model: list[Category], expected: list[Category]) -> str | None:
    """Describe how the model's categories differ from the expected ones, or None if they match.

    Compares the number of categories and, channel by channel, id, name and thing/stuff (not
    the display colours); names the first channel that differs.
    """

    def text(c: Category) -> str:
        return f"{c.id} {c.name!r} ({'thing' if c.isthing else 'stuff'})"

    differences = []
    if len(model) != len(expected):
        differences.append(f"the model has {len(model)} categories, {len(expected)} expected")
    for channel, (got, wanted) in enumerate(zip(model, expected)):
        if (got.id, got.name, got.isthing) != (wanted.id, wanted.name, wanted.isthing):
            differences.append(f"channel {channel} is {text(got)}, expected {text(wanted)}")
            break
    return "; ".join(differences) or None


def error_line(error: Exception) -> str:
    """One line about ``error``: its message's first line, with its type if not self-explaining."""
    lines = str(error).strip().splitlines()
    message = lines[0] if lines else ""
    if isinstance(error, MODEL_ERRORS) and message:
        return message
    return f"{type(error).__name__}: {message}" if message else type(error).__name__
