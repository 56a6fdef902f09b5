# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""One camera of the node: its subscriptions, output publishers, tracker and statistics.

A ``Camera`` is created on configure (its publishers), subscribes on activate, unsubscribes on
deactivate and is destroyed on cleanup. ``publish`` builds each output of a frame that has
subscribers, once, with the input's header.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from diagnostic_msgs.msg import DiagnosticStatus
from rclpy.lifecycle import Node
from rclpy.qos import QoSProfile
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header

from ..categories import Category
from ..head.result import PanopticResult
from ..tracking import Tracker, TrackerParams
from ..visualization import color_lut, pack_rgb, panoptic_palette
from .camera_3d import Camera3D
from .diagnostics import HealthLimits, InferenceStats, camera_status
from .image_codec import compress_image, stamp_ns
from .latest_frame import SlotCounts
from .outputs import (
    ID_IMAGES,
    OUTPUTS,
    camera_info_message,
    colored_image,
    id_image,
    segments_message,
    vision,
)
from .silence import image_topics_with_publishers, silence_reason
from .topics import LABEL_INFO_QOS, CameraTopics, sibling_topic


@dataclass(frozen=True)
class OutputOptions:
    """How a frame's outputs are built (the node's parameters, read once per frame)."""

    colored: bool = True  # publish panoptic/colored
    colored_alpha: float = 0.5
    jpeg_quality: int = 80
    tracked: bool = True  # instance numbers are track ids


class Labels:
    """What the outputs show of a model's categories: colours and names by category id.

    ``palette`` (RGB) and ``point_rgb`` (the clouds' packed rgb) hold the colour of each panoptic id.
    """

    def __init__(self, categories: list[Category]):
        self.lut = color_lut(categories)
        self.names = {c.id: c.name for c in categories}
        self.palette = panoptic_palette(self.lut)
        self.point_rgb = pack_rgb(self.palette)


class Camera:
    """One input topic: its output publishers, subscriptions, tracker and statistics."""

    def __init__(
        self, node: Node, topics: CameraTopics, prefix: str, qos: QoSProfile, tracker: TrackerParams
    ):
        """Create the publishers of the camera of ``topics`` under ``prefix`` (``output_prefix``)."""
        self.topics = topics
        self.topic = topics.name  # in log lines
        self.publishers = {
            name: node.create_lifecycle_publisher(msg_type, f"{prefix}/{name}", qos)
            for name, msg_type in OUTPUTS.items()
        }
        # latched vision_msgs/LabelInfo (None without vision_msgs)
        self.label_info = (
            node.create_publisher(vision.LabelInfo, f"{prefix}/label_info", LABEL_INFO_QOS)
            if vision else None
        )
        self.subscription = self.camera_info_subscription = None
        self.camera_info: CameraInfo | None = None  # the latest one received
        self.last_image = 0.0  # time.monotonic() of the latest image (of activation before one)
        self.tracker = Tracker(tracker)  # updated by the worker thread only
        self.last_stamp = -1  # header stamp (ns) of the latest tracked frame
        self.stats = InferenceStats()
        self.silence_logged = "", 0.0  # the last warning that no image came, and when
        self.depth3d: Camera3D | None = None  # the 3D outputs, for a camera with a depth topic

    @property
    def camera_info_topic(self) -> str:
        """Where this camera's camera_info comes from."""
        return sibling_topic(self.topic, "camera_info")

    def subscribe(self, node: Node, on_image: Callable, qos: QoSProfile) -> None:
        """Subscribe to the images and the camera_info."""
        self.stats, self.last_image = InferenceStats(), time.monotonic()
        msg_type = CompressedImage if self.topics.compressed else Image
        self.subscription = node.create_subscription(msg_type, self.topics.image, on_image, qos)
        self.camera_info_subscription = node.create_subscription(
            CameraInfo, self.camera_info_topic, self._on_camera_info, qos
        )
        if self.depth3d is not None:
            self.depth3d.subscribe(node, self.subscription.topic_name, qos)

    def unsubscribe(self, node: Node) -> None:
        """Destroy the subscriptions; the next stream starts new tracks (ids go on counting)."""
        # A new tracker object, since an abandoned frame's thread may still hold the old one.
        self.tracker, self.last_stamp = self.tracker.restarted(), -1
        for subscription in (self.subscription, self.camera_info_subscription):
            if subscription is not None:
                node.destroy_subscription(subscription)
        self.subscription = self.camera_info_subscription = None
        self.camera_info = None
        if self.depth3d is not None:
            self.depth3d.unsubscribe(node)

    def destroy(self, node: Node) -> None:
        """Destroy the publishers."""
        for publisher in self.publishers.values():
            node.destroy_lifecycle_publisher(publisher)
        if self.label_info is not None:
            node.destroy_publisher(self.label_info)
        if self.depth3d is not None:
            self.depth3d.destroy(node)

    def track(self, result: PanopticResult, header: Header, enabled: bool, log: Callable[[str], None]):
        """Return the frame numbered by track id if ``enabled``; stamps going back start afresh."""
        if not enabled:  # tracking starts afresh when it is turned on again
            self.tracker.reset()
            self.last_stamp = -1
            return result
        stamp = stamp_ns(header.stamp)
        if stamp < self.last_stamp:
            log(f"{self.topic}: stamps went back in time (a bag restarting?): tracks reset")
            self.tracker.reset()
        self.last_stamp = stamp
        return self.tracker.track(result)

    def publish(
        self, result: PanopticResult, rgb: np.ndarray, header: Header, options: OutputOptions, labels: Labels
    ) -> None:
        """Publish every output of one frame that has subscribers, each built once."""
        publishers = self.publishers
        wanted = {name for name, publisher in publishers.items() if publisher.get_subscription_count()}
        for name in ID_IMAGES:
            if wanted & {name, f"{name}/compressed"}:
                image = id_image(result, name, header)
                if name in wanted:
                    publishers[name].publish(image)
                if f"{name}/compressed" in wanted:
                    publishers[f"{name}/compressed"].publish(compress_image(image))
        if options.colored and wanted & {"colored", "colored/compressed"}:
            alpha = options.colored_alpha
            image = colored_image(result, labels.lut, header, rgb if alpha < 1.0 else None, alpha)
            if "colored" in wanted:
                publishers["colored"].publish(image)
            if "colored/compressed" in wanted:
                publishers["colored/compressed"].publish(compress_image(image, options.jpeg_quality))
        if "segments" in wanted:
            publishers["segments"].publish(segments_message(result, header, labels.names, options.tracked))
        if "detections" in wanted:
            publishers["detections"].publish(vision.detections_message(result, header))
        info = self.camera_info
        if "camera_info" in wanted and info is not None:
            publishers["camera_info"].publish(camera_info_message(info, header))

    def publish_label_info(self, categories: list[Category], threshold: float, header: Header) -> None:
        """Latch the model's labels and the score threshold (nothing without vision_msgs)."""
        if self.label_info is not None:
            self.label_info.publish(vision.label_info_message(categories, threshold, header))

    def silence(self, node: Node, stale_timeout: float) -> str:
        """Return why no image came for ``stale_timeout`` seconds, or "" while images come."""
        if time.monotonic() - self.last_image <= stale_timeout:
            return ""
        topic = self.subscription.topic_name
        return silence_reason(topic, node.get_publishers_info_by_topic(topic), self.subscription.qos_profile,
                              image_topics_with_publishers(node))

    def status(
        self, name: str, counts: SlotCounts, info: dict[str, str], limits: HealthLimits, silence: str = ""
    ) -> DiagnosticStatus:
        """Return this camera's diagnostics over the period since the last call."""
        no_info = "" if self.camera_info is not None else self.camera_info_subscription.topic_name
        age = time.monotonic() - self.last_image
        status = camera_status(name, self.stats.report(), counts, info, limits, age, no_info, silence)
        if self.depth3d is not None:
            status.values += self.depth3d.diagnostics()
        return status

    def _on_camera_info(self, msg: CameraInfo) -> None:
        self.camera_info = msg
