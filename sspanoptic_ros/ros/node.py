# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The panoptic segmentation node: camera images in, panoptic images and segments out.

A lifecycle node (``rclpy.lifecycle.Node``); with the ``autostart`` parameter (default) it
configures and activates itself, so it also runs without a lifecycle manager.

- configure: builds the engine (loads the model) and creates the publishers;
- activate: builds the engine again if a deactivate dropped it, starts the inference worker,
  subscribes to the cameras and starts the 1 Hz diagnostics;
- deactivate: unsubscribes, stops the worker and drops the engine (freeing GPU memory);
- cleanup / shutdown: also destroys the publishers.

The node wires its parts: ``parameter_bridge`` (parameters in, settings out), ``engine.startup``
(the engine and its checks), ``camera`` (one camera's subscriptions, publishers and messages)
and ``serving`` (the frame path: decode -> infer -> track -> publish -> count, in one worker
thread). The outputs of camera ``a/image`` go to ``a/panoptic/...`` (``topics``, ``outputs``),
each with the input's header; the messages of outputs without subscribers are not built.

Run ``ros2 run sspanoptic_ros panoptic_node --ros-args --params-file config/sspanoptic.yaml`` or
``python -m sspanoptic_ros.ros.panoptic_node --ros-args -p model_path:=model.pt`` (``panoptic_node``
handles the signals that come during the imports). The process exits with
1 (and one error line) when the node cannot start, and with 0 on SIGINT or SIGTERM, within a
second also during a slow inference (the frame in progress is abandoned).
"""

from __future__ import annotations

import os
import sys
from functools import partial
from typing import Any

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import SetParametersResult
from rclpy.exceptions import InvalidTopicNameException, ParameterException
from rclpy.executors import ExternalShutdownException
from rclpy.lifecycle import Node, Publisher, State, TransitionCallbackReturn
from rclpy.parameter import Parameter
from rclpy.timer import Timer
from std_msgs.msg import Header

from ..engine import Engine
from ..engine.startup import EngineStartError, release_device_memory, start_engine
from .camera import Camera
from .camera_3d import Camera3D
from .depth_input import depth_topic_list
from .outputs import VISION_MISSING
from .parameter_bridge import ParameterBridge
from .parameters import check_choices
from .serving import FrameService
from .shutdown import ignore_interrupts, interrupt_once, mute_interrupts
from .topics import DIAGNOSTICS_DEPTH, DIAGNOSTICS_TOPIC, camera_topics, output_prefixes, stream_qos

NODE_NAME = "sspanoptic"
DIAGNOSTICS_PERIOD = 1.0  # seconds
# Seconds that stopping the worker waits for the frame in progress. A frame still running after
# that is abandoned: the (daemon) worker finishes it alone and publishes nothing, so deactivate
# and shutdown (SIGINT, SIGTERM) never wait for a slow inference.
WORKER_STOP_TIMEOUT = 0.2


class PanopticNode(Node):
    """Lifecycle node running a panoptic segmentation engine on one or more cameras."""

    def __init__(self, node_name: str = NODE_NAME, **kwargs: Any):
        super().__init__(node_name, **kwargs)
        self._bridge = ParameterBridge(self)
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self._engine: Engine | None = None
        self._cameras: list[Camera] = []
        self._service: FrameService | None = None  # while active
        self._diagnostics: Publisher | None = None
        self._diagnostics_timer: Timer | None = None

    @property
    def autostart(self) -> bool:
        """Whether the node configures and activates itself at start-up."""
        return self._bridge.value("autostart")

    def start(self) -> bool:
        """Configure and activate; False (with the reason logged) if a transition failed."""
        return (
            self.trigger_configure() == TransitionCallbackReturn.SUCCESS
            and self.trigger_activate() == TransitionCallbackReturn.SUCCESS
        )

    def on_configure(self, state: State) -> TransitionCallbackReturn:
        """Check the parameters, start the engine and create the publishers."""
        values = self._bridge.values()
        try:
            check_choices(values)
            topics = camera_topics(values["input_topics"], values["use_compressed"], self.resolve_topic_name)
            prefixes = output_prefixes([t.name for t in topics])
            depth_topics = depth_topic_list(values["depth_topics"], values["input_topics"])
        except (ValueError, InvalidTopicNameException) as e:
            self.get_logger().error(f"invalid parameters: {str(e).splitlines()[0]}")
            return TransitionCallbackReturn.FAILURE
        if not self._start_engine():
            return TransitionCallbackReturn.FAILURE
        qos = stream_qos(values["output_reliability"], values["output_depth"])
        tracker = self._bridge.tracker_params()
        self._cameras = [Camera(self, t, prefix, qos, tracker) for t, prefix in zip(topics, prefixes)]
        for camera, depth_topic, prefix in zip(self._cameras, depth_topics, prefixes):
            if depth_topic:
                camera.depth3d = Camera3D(self, depth_topic, prefix, qos, values["depth_slop"])
        if VISION_MISSING:
            self.get_logger().warning(VISION_MISSING)
        self._publish_label_info(self._engine.params.score_threshold)
        self._diagnostics = self.create_lifecycle_publisher(
            DiagnosticArray, DIAGNOSTICS_TOPIC, DIAGNOSTICS_DEPTH
        )
        return super().on_configure(state)

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        """Start the frame service, subscribe to the cameras and start the diagnostics."""
        if self._engine is None and not self._start_engine():
            return TransitionCallbackReturn.FAILURE
        result = super().on_activate(state)  # enables the publishers
        self._service = FrameService(
            self._engine, self._cameras, self._bridge.frame_options, self.get_logger(), self.context.ok
        )
        self._service.start()
        qos = stream_qos(self._bridge.value("input_reliability"), 1)
        for slot, camera in enumerate(self._cameras):
            camera.subscribe(self, partial(self._service.put, slot), qos)
        self._diagnostics_timer = self.create_timer(DIAGNOSTICS_PERIOD, self._publish_diagnostics)
        self.get_logger().info("active: " + ", ".join(c.subscription.topic_name for c in self._cameras))
        return result

    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        """Unsubscribe, stop the frame service and free the engine."""
        self._deactivate()
        return super().on_deactivate(state)

    def on_cleanup(self, state: State) -> TransitionCallbackReturn:
        """Destroy the publishers and drop the engine."""
        self._cleanup()
        return super().on_cleanup(state)

    def on_shutdown(self, state: State) -> TransitionCallbackReturn:
        """Stop everything, whatever the current state."""
        self.close()
        return super().on_shutdown(state)

    def on_error(self, state: State) -> TransitionCallbackReturn:
        """Stop everything and go back to unconfigured."""
        self.close()
        return TransitionCallbackReturn.SUCCESS

    def close(self) -> bool:
        """Stop the frame service and release every resource (also usable after rclpy shut down).

        Returns False when a frame in progress was abandoned: its thread still runs the engine.
        """
        stopped = self._deactivate()
        self._cleanup()
        return stopped

    def _deactivate(self) -> bool:
        """Undo activate and drop the engine; returns whether the frame in progress ended in time."""
        stopped = self._service is None or self._service.stop(WORKER_STOP_TIMEOUT)  # publishes no more
        for camera in self._cameras:
            camera.unsubscribe(self)
        if self._diagnostics_timer is not None:
            self.destroy_timer(self._diagnostics_timer)
            self._diagnostics_timer = None
        self._service = None
        self._drop_engine()
        return stopped

    def _cleanup(self) -> None:
        """Undo configure: destroy the publishers and drop the engine."""
        for camera in self._cameras:
            camera.destroy(self)
        self._cameras = []
        if self._diagnostics is not None:
            self.destroy_lifecycle_publisher(self._diagnostics)
            self._diagnostics = None
        self._drop_engine()

    def _start_engine(self) -> bool:
        """Start the engine the parameters ask for; log one clear error line and return False if not."""
        request = self._bridge.engine_request()
        try:
            engine = start_engine(request)
        except EngineStartError as e:
            self.get_logger().error(str(e))
            return False
        self._engine = engine
        self._bridge.show_settings_in_use(engine)
        self.get_logger().info(
            f"engine ready: model {engine.config.name} ({request.model_file}), {engine.backend.name} "
            f"backend on {engine.device}, overlap_policy {engine.params.overlap_policy}"
        )
        return True

    def _drop_engine(self) -> None:
        if self._engine is not None:
            device, self._engine = self._engine.device, None
            release_device_memory(device)

    def _on_set_parameters(self, params: list[Parameter]) -> SetParametersResult:
        result = self._bridge.apply(params, self._engine, self._cameras)
        threshold = [p.value for p in params if p.name == "score_threshold"]
        if result.successful and threshold and self._engine is not None:
            self._publish_label_info(threshold[0])
        return result

    def _publish_label_info(self, threshold: float) -> None:
        """Latch the model's labels and the score threshold on every camera's label_info."""
        header = Header(stamp=self.get_clock().now().to_msg())
        for camera in self._cameras:
            camera.publish_label_info(self._engine.config.categories, threshold, header)

    def _publish_diagnostics(self) -> None:
        self._diagnostics.publish(self._service.diagnostics(self, self._bridge.health_limits()))


def main(args: list[str] | None = None) -> int:
    """Run the node until shutdown; returns the process exit code.

    0: shut down by SIGINT or SIGTERM (also during an inference: the frame is abandoned and
    the process ends within a second; the signals that follow the first, such as the SIGINT
    that ``ros2 launch`` sends after a Ctrl-C, are ignored); 1: the node could not start (the
    reason is logged); 2: an invalid parameter value.
    """
    interrupt_once()
    node = None
    code = 0
    try:
        rclpy.init(args=args)
        node = PanopticNode()
        if node.autostart and not node.start():
            code = 1
        else:
            rclpy.spin(node)
    except ParameterException as e:
        rclpy.logging.get_logger(NODE_NAME).error(f"invalid parameter: {e}")
        code = 2
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        mute_interrupts()
        stopped = node is None or node.close()
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
        ignore_interrupts()
    if not stopped:
        # A thread is still inside the engine: the interpreter would abort the process when
        # finalising under it (std::terminate in torch), so end the process here.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code
