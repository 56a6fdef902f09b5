# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The node's ROS parameters: names, defaults, descriptions and ranges.

``PARAMETERS`` is the single list the node declares and ``config/sspanoptic.yaml`` documents
(a test checks that both name the same parameters). Read-only parameters need a new engine
(or new subscriptions) to change: set them at start-up, or reconfigure the lifecycle node.
The engine's run-time settings (``engine.settings.RUNTIME_SETTINGS``) are declared from their
own fields in the head's parameter classes: default, range and description are written there.
"""

from __future__ import annotations

from dataclasses import Field, dataclass
from typing import Any

from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
    ParameterType,
)

from ..depth3d import DEPTH_RANGE, MIN_POINTS
from ..engine import BACKENDS, PRECISIONS
from ..engine.preprocess import DEFAULT_MAX_PIXELS
from ..engine.settings import SETTING_FIELDS
from ..setting_fields import described_fields
from ..tracking import TrackerParams

TRACKER_FIELDS = described_fields(TrackerParams)
# ROS parameter name -> TrackerParams field (``track_max_age`` -> ``max_age``).
TRACKER_PARAMETERS = {f"track_{name}": name for name in TRACKER_FIELDS}

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


def setting_spec(name: str, setting: Field) -> ParameterSpec:
    """Return the parameter of an engine setting, from its dataclass field (``setting_fields``)."""
    meta = setting.metadata
    return ParameterSpec(name, setting.default, meta["description"], range=meta["range"],
                         choices=meta["choices"])


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
    *(setting_spec(name, f) for name, f in SETTING_FIELDS.items()),
    ParameterSpec("publish_colored", True, "Publish the colourised panoptic image "
                  "(panoptic/colored)."),
    ParameterSpec("colored_alpha", 0.5, "Opacity of the colours in panoptic/colored over the "
                  "input image; 1.0: colours only.", range=(0.0, 1.0)),
    ParameterSpec("track_instances", True, "Number each camera's thing segments by track id, "
                  "stable across frames (instance image, panoptic ids, detections, segments)."),
    *(setting_spec(name, TRACKER_FIELDS[field]) for name, field in TRACKER_PARAMETERS.items()),
    ParameterSpec("jpeg_quality", 80, "JPEG quality of panoptic/colored/compressed.", range=(1, 100)),
    ParameterSpec("expected_fps", 0.0, "Output rate per camera below which /diagnostics warns; "
                  "0: no rate check.", range=(0.0, 1000.0)),
    ParameterSpec("fps_tolerance", 0.1, "Fraction of expected_fps the output rate may fall short "
                  "by before /diagnostics warns.", range=(0.0, 1.0)),
    ParameterSpec("stale_timeout", 5.0, "Seconds without an image after which a camera's "
                  "/diagnostics status is STALE.", range=(0.1, 3600.0)),
    ParameterSpec("max_image_pixels", DEFAULT_MAX_PIXELS, "Images with more pixels are refused "
                  "before decoding.", read_only=True, range=(1, 2**31 - 1)),
    ParameterSpec("input_topics", ["image"], "Input image topics, one per camera; the outputs "
                  "of camera 'a/b/image' go to 'a/b/panoptic/...'.", read_only=True),
    ParameterSpec("depth_topics", [""], "Aligned depth image topics (16UC1 mm or 32FC1 m, "
                  "registered to the colour image), one per input topic, '' for a camera without "
                  "depth; [''] (default): no depth, no 3D outputs.", read_only=True),
    ParameterSpec("depth_slop", 0.02, "Seconds an image and its depth frame may differ by in "
                  "stamp to be paired (message_filters.ApproximateTimeSynchronizer).",
                  read_only=True, range=(0.0, 10.0)),
    ParameterSpec("depth_min", DEPTH_RANGE[0], "Depth in metres below which a depth pixel gives no point.",
                  range=(0.0, 1000.0)),
    ParameterSpec("depth_max", DEPTH_RANGE[1], "Depth in metres above which a depth pixel gives no point.",
                  range=(0.0, 1000.0)),
    ParameterSpec("cloud_stride", 1, "3D outputs use every cloud_stride-th depth pixel in each "
                  "direction.", range=(1, 64)),
    ParameterSpec("min_points_3d", MIN_POINTS, "Thing segments with fewer valid depth points get no 3D "
                  "detection.", range=(1, 10**7)),
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
