# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The node's ROS parameters: names, defaults, descriptions, ranges, and their engine settings.

``PARAMETERS`` is the single list the node declares and ``config/sspanoptic.yaml`` documents
(a test checks that both name the same parameters). Read-only parameters need a new engine
(or new subscriptions) to change: set them at start-up, or reconfigure the lifecycle node.
``ENGINE_PARAMETERS`` change at run time through ``Engine.update``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
    ParameterType,
)

from ..engine import BACKENDS, DecodeParams
from ..engine.backends import PRECISIONS
from ..engine.preprocess import DEFAULT_MAX_PIXELS
from ..head.panoptic import OVERLAP_POLICIES, REFERENCE_SIZE, PanopticParams

RELIABILITIES = ("best_effort", "reliable")


@dataclass(frozen=True)
class ParameterSpec:
    """One declared parameter; its ROS type is the type of ``default``."""

    name: str
    default: Any
    description: str
    read_only: bool = False
    range: tuple[float, float] | None = None  # inclusive bounds of a number
    choices: tuple[str, ...] = ()  # the allowed values of a string


PARAMETERS = (
    ParameterSpec("model_path", "", "Model file: .pt checkpoint, .onnx or TensorRT .plan; "
                  "empty: the bundled demo model.", read_only=True),
    ParameterSpec("backend", "auto", "Inference backend; auto: TensorRT if usable, else torch on "
                  "CUDA, else ONNX Runtime on the CPU.", read_only=True, choices=BACKENDS),
    ParameterSpec("device", "", "Device: cpu, cuda or cuda:N; empty: cuda if available, else cpu.",
                  read_only=True),
    ParameterSpec("precision", "fp32", "Network precision (fp16 needs CUDA).", read_only=True,
                  choices=PRECISIONS),
    ParameterSpec("cuda_graphs", False, "Torch backend on CUDA: capture the network as CUDA graphs "
                  "and replay them (torch.compile reduce-overhead; the first frame of each size "
                  "is slow).", read_only=True),
    ParameterSpec("tensorrt_nms", False, "TensorRT backend from a checkpoint: build the plan with "
                  "EfficientNMS inside; nms_threshold and max_detections are then fixed at start-up.",
                  read_only=True),
    ParameterSpec("expected_categories", "", "COCO category JSON file the model's categories "
                  "must match (ids, names, thing/stuff, in order), else configuring fails; "
                  "empty: accept the model's categories.", read_only=True),
    ParameterSpec("score_threshold", 0.4, "Detections scoring lower are ignored by the panoptic "
                  "head.", range=(0.0, 1.0)),
    ParameterSpec("nms_threshold", 0.5, "IoU above which non-maximum suppression removes the "
                  "lower-scoring of two same-class detections (must be > 0).", range=(0.0, 1.0)),
    ParameterSpec("max_detections", 100, "Detections kept per image after NMS.", range=(1, 999)),
    ParameterSpec("overlap_policy", "closest_center", "Which of several boxes of its class a "
                  "pixel goes to; closest_center needs a model with a centre branch (else the "
                  "node falls back to highest_confidence).", choices=OVERLAP_POLICIES),
    ParameterSpec("stuff_area_threshold", 4096.0, "Stuff segments with fewer pixels become "
                  f"unknown; given for a {REFERENCE_SIZE[0]}x{REFERENCE_SIZE[1]} image, scaled "
                  "with the image area.", range=(0.0, float(REFERENCE_SIZE[0] * REFERENCE_SIZE[1]))),
    ParameterSpec("unknown_for_undetected_things", False, "Pixels whose best class is a thing "
                  "class without a box holding them become unknown."),
    ParameterSpec("publish_colored", True, "Publish the colourised panoptic image "
                  "(panoptic/colored)."),
    ParameterSpec("colored_alpha", 0.5, "Opacity of the colours in panoptic/colored over the "
                  "input image; 1.0: colours only.", range=(0.0, 1.0)),
    ParameterSpec("max_image_pixels", DEFAULT_MAX_PIXELS, "Images with more pixels are refused "
                  "before decoding.", read_only=True, range=(1, 2**31 - 1)),
    ParameterSpec("input_topics", ["image"], "Input image topics, one per camera; the outputs "
                  "of camera 'a/b/image' go to 'a/b/panoptic/...'.", read_only=True),
    ParameterSpec("use_compressed", False, "Subscribe to '<topic>/compressed' "
                  "(sensor_msgs/CompressedImage, JPEG or PNG) instead of '<topic>'.", read_only=True),
    ParameterSpec("input_reliability", "best_effort", "Reliability of the input subscriptions "
                  "(depth 1).", read_only=True, choices=RELIABILITIES),
    ParameterSpec("output_reliability", "reliable", "Reliability of the output publishers.",
                  read_only=True, choices=RELIABILITIES),
    ParameterSpec("output_depth", 1, "History depth of the output publishers.", read_only=True,
                  range=(1, 100)),
    ParameterSpec("autostart", True, "Configure and activate at start-up, without a lifecycle "
                  "manager.", read_only=True),
)
PARAMETER_NAMES = tuple(p.name for p in PARAMETERS)
ENGINE_PARAMETERS = (
    "score_threshold",
    "nms_threshold",
    "max_detections",
    "overlap_policy",
    "stuff_area_threshold",
    "unknown_for_undetected_things",
)


def descriptor(spec: ParameterSpec) -> ParameterDescriptor:
    """Return the ParameterDescriptor of ``spec`` (type, description, range, read-only)."""
    desc = ParameterDescriptor(
        name=spec.name,
        type=_parameter_type(spec.default),
        description=spec.description,
        read_only=spec.read_only,
    )
    if spec.choices:
        desc.additional_constraints = f"one of: {', '.join(spec.choices)}"
    if spec.range is not None and isinstance(spec.default, float):
        desc.floating_point_range = [FloatingPointRange(
            from_value=float(spec.range[0]), to_value=float(spec.range[1]), step=0.0
        )]
    elif spec.range is not None:
        desc.integer_range = [IntegerRange(
            from_value=int(spec.range[0]), to_value=int(spec.range[1]), step=1
        )]
    return desc


def check_choices(values: dict[str, Any]) -> None:
    """Raise ValueError naming the first string parameter in ``values`` with a value not allowed."""
    for spec in PARAMETERS:
        if spec.choices and spec.name in values and values[spec.name] not in spec.choices:
            raise ValueError(
                f"parameter {spec.name} must be one of {spec.choices}, got {values[spec.name]!r}"
            )


def engine_settings(values: dict[str, Any]) -> tuple[PanopticParams, DecodeParams]:
    """Build the engine's panoptic and decode settings from parameter values (ValueError if bad)."""
    check_choices(values)
    panoptic = PanopticParams(
        score_threshold=values["score_threshold"],
        overlap_policy=values["overlap_policy"],
        stuff_area_threshold=values["stuff_area_threshold"],
        unknown_for_undetected_things=values["unknown_for_undetected_things"],
    )
    decode = DecodeParams(
        nms_threshold=values["nms_threshold"], max_detections=values["max_detections"]
    )
    return panoptic, decode


def _parameter_type(default: Any) -> int:
    if isinstance(default, bool):  # before int: bool is an int subclass
        return ParameterType.PARAMETER_BOOL
    if isinstance(default, int):
        return ParameterType.PARAMETER_INTEGER
    if isinstance(default, float):
        return ParameterType.PARAMETER_DOUBLE
    if isinstance(default, str):
        return ParameterType.PARAMETER_STRING
    if isinstance(default, list) and all(isinstance(v, str) for v in default):
        return ParameterType.PARAMETER_STRING_ARRAY
    raise TypeError(f"no ROS parameter type for the default {default!r}")
