# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The frame path of an active node: decode -> infer -> track -> publish -> count.

Each camera has a newest-frame slot (``latest_frame``). The subscription callback only stores
the message there; one worker thread takes the frames round-robin over the cameras and runs
them through the path. A frame replaced before the worker took it is dropped, so nothing
queues and latency stays bounded. One ``FrameService`` lives from activate to deactivate: a
frame still running when it stops is abandoned (its outputs are not published) and its worker
finishes it alone, holding the last reference to the engine, whose memory it then releases.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from sensor_msgs.msg import CompressedImage, Image

from ..engine import Engine, ImageError
from ..engine.startup import release_device_memory
from .camera import Camera, Labels, OutputOptions
from .depth_input import DepthOptions
from .diagnostics import HealthLimits
from .image_codec import ImageDecodeError, message_to_rgb
from .latest_frame import FrameWorker, LatestFrames

ERROR_THROTTLE = 5.0  # seconds between two logs of bad images (or of failed frames)
SILENCE_LOG_PERIOD = 60.0  # seconds between two warnings that a camera is silent for one reason


@dataclass(frozen=True)
class FrameOptions:
    """What the path does with a frame (the node's parameters, read once per frame)."""

    max_pixels: int
    tracking: bool
    outputs: OutputOptions
    depth: DepthOptions = DepthOptions()


class FrameService:
    """Serve the frames of ``cameras`` with ``engine``; ``options()`` gives the current settings."""

    def __init__(self, engine: Engine, cameras: list[Camera], options: Callable[[], FrameOptions], logger,
                 context_ok: Callable[[], bool]):
        self._engine: Engine | None = engine  # None once stopped
        self._context_ok = context_ok  # False once the process shuts ROS down
        self._cameras = cameras
        self._options = options
        self._logger = logger
        self._labels = Labels(engine.config.categories)
        self._info = {
            "backend": engine.backend.name, "device": str(engine.device), "model": engine.config.name
        }
        self._frames = LatestFrames(len(cameras))
        self._serving = threading.Event()  # cleared when the service stops
        self._worker = FrameWorker(self._frames, self._process, self._on_error)

    def start(self) -> None:
        """Start the worker thread."""
        self._serving.set()
        self._worker.start()

    def put(self, slot: int, msg: Image | CompressedImage) -> None:
        """Store a camera's newest image (the subscription callback)."""
        now = time.monotonic()
        self._cameras[slot].last_image = now
        if self._cameras[slot].depth3d is not None:
            self._cameras[slot].depth3d.add_image(msg)
        self._frames.put(slot, (msg, now))

    def stop(self, timeout: float) -> bool:
        """Stop serving; returns whether the frame in progress ended within ``timeout`` seconds."""
        self._serving.clear()
        self._engine = None
        return self._worker.stop(timeout)

    def diagnostics(self, node: Node, limits: HealthLimits) -> DiagnosticArray:
        """Return one status per camera over the period since the last call.

        A camera silent for ``stale_timeout`` also gets a WARN that says why (``silence``), when
        the reason changes and at most every ``SILENCE_LOG_PERIOD`` seconds.
        """
        msg = DiagnosticArray()
        msg.header.stamp = node.get_clock().now().to_msg()
        for slot, camera in enumerate(self._cameras):
            silence, now = camera.silence(node, limits.stale_timeout), time.monotonic()
            logged, logged_at = camera.silence_logged
            if silence and (silence != logged or now - logged_at > SILENCE_LOG_PERIOD):
                self._logger.warning(f"no image for {now - camera.last_image:.0f} s: {silence}")
                camera.silence_logged = silence, now
            name = f"{node.get_name()}: {camera.subscription.topic_name}"
            msg.status.append(camera.status(name, self._frames.counts(slot), self._info, limits, silence))
        return msg

    def _process(self, slot: int, frame: tuple[Image | CompressedImage, float]) -> None:
        """Run one frame through the path (in the worker thread)."""
        msg, received_at = frame
        engine, camera, options = self._engine, self._cameras[slot], self._options()
        if engine is None:  # stopped since the frame arrived
            return
        rgb = message_to_rgb(msg, options.max_pixels)
        result = engine.infer(rgb)
        if not self._serving.is_set():  # stopped during the inference: the frame is abandoned
            device = engine.device
            del engine, result  # the service dropped this engine: this was its last reference
            release_device_memory(device)
            return
        result = camera.track(result, msg.header, options.tracking, self._logger.info)
        camera.publish(result, rgb, msg.header, options.outputs, self._labels)
        if camera.depth3d is not None:  # after the 2D outputs: bad depth never holds them up
            camera.depth3d.publish(result, msg, camera.camera_info, options.depth, self._labels,
                                   options.max_pixels, self._logger.warning)
        camera.stats.add_processed(time.monotonic() - received_at)

    def _on_error(self, slot: int, error: Exception) -> None:
        # A frame failing while the node tears down: abandoned, or its publishers already
        # invalid (rclpy shuts the context down on SIGINT before the node stops the service).
        if not self._serving.is_set() or not self._context_ok():
            return
        camera = self._cameras[slot]
        camera.stats.add_failed()
        if isinstance(error, (ImageDecodeError, ImageError)):
            self._logger.error(
                f"image on {camera.topic} skipped: {error}", throttle_duration_sec=ERROR_THROTTLE
            )
        else:
            self._logger.error(
                f"frame on {camera.topic} failed: {type(error).__name__}: {error}",
                throttle_duration_sec=ERROR_THROTTLE,
            )
