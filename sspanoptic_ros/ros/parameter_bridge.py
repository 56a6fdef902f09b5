# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The node's parameters as the settings of its parts: declare, read, validate and apply.

``parameters.PARAMETERS`` says what the parameters are; this module turns their values into
an ``EngineRequest``, ``FrameOptions``, ``TrackerParams`` and ``HealthLimits``, and applies a
``ros2 param set`` to the running engine and trackers only once every value of the request is
valid. A parameter always shows the value in use.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rcl_interfaces.msg import SetParametersResult
from rclpy.lifecycle import Node
from rclpy.parameter import Parameter

from ..engine import Engine
from ..engine.settings import RUNTIME_SETTINGS, effective_params, split_settings
from ..engine.startup import EngineRequest, settings_in_use
from ..tracking import TrackerParams
from .camera import Camera, OutputOptions
from .depth_input import DepthOptions
from .diagnostics import HealthLimits
from .parameters import PARAMETERS, TRACKER_PARAMETERS, descriptor
from .serving import FrameOptions


class ParameterBridge:
    """Declares the parameters of ``node`` and reads them as settings."""

    def __init__(self, node: Node):
        self._node = node
        for spec in PARAMETERS:
            node.declare_parameter(spec.name, spec.default, descriptor(spec))

    def value(self, name: str) -> Any:
        """Return the current value of parameter ``name``."""
        return self._node.get_parameter(name).value

    def values(self) -> dict[str, Any]:
        """Return every parameter by name."""
        return {spec.name: self.value(spec.name) for spec in PARAMETERS}

    def engine_request(self) -> EngineRequest:
        """Return the engine the parameters ask for."""
        return EngineRequest(
            model_path=self.value("model_path"),
            backend=self.value("backend"),
            device=self.value("device"),
            precision=self.value("precision"),
            cuda_graphs=self.value("cuda_graphs"),
            tensorrt_nms=self.value("tensorrt_nms"),
            max_pixels=self.value("max_image_pixels"),
            expected_categories=self.value("expected_categories"),
            settings={name: self.value(name) for name in RUNTIME_SETTINGS},
        )

    def frame_options(self) -> FrameOptions:
        """Return what the frame path does with the next frame."""
        outputs = OutputOptions(
            colored=self.value("publish_colored"),
            colored_alpha=self.value("colored_alpha"),
            jpeg_quality=self.value("jpeg_quality"),
            tracked=self.value("track_instances"),
        )
        depth = DepthOptions(self.value("depth_min"), self.value("depth_max"),
                             self.value("cloud_stride"), self.value("min_points_3d"))
        return FrameOptions(self.value("max_image_pixels"), self.value("track_instances"), outputs,
                            depth)

    def tracker_params(self) -> TrackerParams:
        """Return the trackers' settings."""
        return TrackerParams(**{field: self.value(name) for name, field in TRACKER_PARAMETERS.items()})

    def health_limits(self) -> HealthLimits:
        """Return what /diagnostics calls a healthy camera."""
        return HealthLimits(
            self.value("expected_fps"), self.value("fps_tolerance"), self.value("stale_timeout")
        )

    def show_settings_in_use(self, engine: Engine) -> None:
        """Set the engine's parameters to the values it runs with, where the model changed them."""
        in_use = settings_in_use(engine)
        changed = [Parameter(n, value=v) for n, v in in_use.items() if v != self.value(n)]
        for param in changed:
            self._node.get_logger().warning(
                f"parameter {param.name} is {param.value!r}: what model {engine.config.name!r} runs "
                f"instead of {self.value(param.name)!r}"
            )
        self._node.set_parameters(changed)

    def apply(
        self, params: list[Parameter], engine: Engine | None, cameras: list[Camera]
    ) -> SetParametersResult:
        """Apply threshold, policy and tracker changes; reject invalid values with a reason.

        A value the model would not run as given (``effective_params``) is rejected, so that the
        parameter always shows what is in use. Without an engine the values are only checked
        (they apply at the next configure).
        """
        tracking = {TRACKER_PARAMETERS[p.name]: p.value for p in params if p.name in TRACKER_PARAMETERS}
        changes = {p.name: p.value for p in params if p.name in RUNTIME_SETTINGS}
        try:
            tracker_params = replace(self.tracker_params(), **tracking)
            if changes and engine is None:
                split_settings({n: self.value(n) for n in RUNTIME_SETTINGS} | changes)
            elif changes:
                panoptic, decode = split_settings(changes, *engine.settings)
                _, why = effective_params(panoptic, engine.config)
                if why:
                    return SetParametersResult(successful=False, reason=f"{why}, which stays in use")
                # The engine swaps its settings atomically; a frame in progress keeps its own.
                engine.settings = (panoptic, decode)
        except ValueError as e:
            return SetParametersResult(successful=False, reason=str(e))
        for camera in cameras:  # only once every value of the request is valid
            camera.tracker.params = tracker_params  # read once per frame by the worker
        return SetParametersResult(successful=True)
