# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The 3D side of a camera with a depth topic: its publishers, depth input and 3D frame path.

After a frame's 2D outputs are out, ``Camera3D.publish`` takes the depth paired with the image
(``depth_input``), builds the labelled cloud and the thing boxes (``depth3d``) and publishes
``points``, ``detections_3d`` and ``markers`` (``outputs_3d``), each only when subscribed. A
frame without usable depth skips its 3D outputs only: counted, and logged once per
``THROTTLE`` seconds with the reason.
"""

from __future__ import annotations

from collections.abc import Callable

from diagnostic_msgs.msg import KeyValue
from rclpy.lifecycle import Node
from rclpy.qos import QoSProfile
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from ..depth3d import Intrinsics, depth_grid, thing_boxes
from ..head.result import PanopticResult
from .depth_input import THROTTLE, DepthError, DepthInput, DepthOptions, depth_to_metres
from .outputs_3d import (
    OUTPUTS_3D,
    cloud_message,
    markers_message,
    vision,
)


class Camera3D:
    """The 3D outputs of one camera, from its aligned depth topic ``topic``."""

    def __init__(self, node: Node, topic: str, prefix: str, qos: QoSProfile, slop: float):
        """Create the publishers under ``prefix``; ``slop``: seconds between paired stamps."""
        self.topic, self.slop = topic, slop
        self.publishers = {
            name: node.create_lifecycle_publisher(msg_type, f"{prefix}/{name}", qos)
            for name, msg_type in OUTPUTS_3D.items()
        }
        self.input: DepthInput | None = None  # while subscribed

    def subscribe(self, node: Node, image_topic: str, qos: QoSProfile) -> None:
        """Subscribe to the depth of the images on ``image_topic`` (counts start at 0)."""
        self.input = DepthInput(node, self.topic, qos, self.slop)
        node.get_logger().info(f"depth of {image_topic}: {self.input.subscription.topic_name}")

    def unsubscribe(self, node: Node) -> None:
        """Destroy the depth subscription."""
        if self.input is not None:
            self.input.destroy(node)
        self.input = None

    def destroy(self, node: Node) -> None:
        """Destroy the publishers."""
        for publisher in self.publishers.values():
            node.destroy_lifecycle_publisher(publisher)

    def add_image(self, msg) -> None:
        """Offer an image for pairing with the depth (the image subscription's callback)."""
        if self.input is not None:
            self.input.add_image(msg)

    def diagnostics(self) -> list[KeyValue]:
        """Return the depth frames paired, unpaired and refused since subscribing."""
        counts = self.input.counts.values() if self.input is not None else {}
        return [KeyValue(key="depth topic", value=self.input.subscription.topic_name if self.input
                         else self.topic)] + [
            KeyValue(key=f"depth frames {key}", value=str(value)) for key, value in counts.items()
        ]

    def publish(
        self, result: PanopticResult, image: Image, info: CameraInfo | None, options: DepthOptions,
        labels, max_pixels: int, log: Callable[..., None],
    ) -> None:
        """Publish the 3D outputs of ``image``'s frame that have subscribers (none without depth)."""
        wanted = {name for name, p in self.publishers.items() if p.get_subscription_count()}
        depth_input = self.input
        if not wanted or depth_input is None:
            return
        depth = depth_input.depth_for(image)
        if depth is None:
            log(f"no 3D outputs: no depth on {depth_input.subscription.topic_name} within "
                f"depth_slop {self.slop:g} s of the image stamp", throttle_duration_sec=THROTTLE)
            return
        try:
            messages = messages_3d(result, depth, info, options, labels, max_pixels, wanted, image.header)
        except DepthError as error:
            depth_input.counts.add("refused")
            log(f"no 3D outputs: depth on {depth_input.subscription.topic_name} refused: {error}",
                throttle_duration_sec=THROTTLE)
            return
        for name, msg in messages.items():
            self.publishers[name].publish(msg)


def messages_3d(
    result: PanopticResult, depth: Image, info: CameraInfo | None, options: DepthOptions, labels,
    max_pixels: int, wanted: set[str], header: Header,
) -> dict:
    """Return the 3D output messages named in ``wanted``; DepthError saying why there are none."""
    if info is None:
        raise DepthError("no camera_info received yet (the intrinsics K)")
    height, width = result.panoptic.shape
    metres = depth_to_metres(depth, max_pixels)
    try:
        k = Intrinsics.from_k(info.k, info.width or width, info.height or height)
        grid = depth_grid(result, metres, k.registered(height, width),
                          options.depth_min, options.depth_max, options.stride)
    except ValueError as error:
        raise DepthError(str(error)) from error
    if not grid.num_points:
        raise DepthError(f"no valid depth value within depth_min {options.depth_min:g} .. "
                         f"depth_max {options.depth_max:g} m")
    messages = {}
    if "points" in wanted:
        messages["points"] = cloud_message(grid.cloud(labels.point_rgb), header)
    boxes = thing_boxes(grid, result, options.min_points) if wanted & {"detections_3d", "markers"} else []
    if "detections_3d" in wanted:
        messages["detections_3d"] = vision.detections_3d_message(boxes, header)
    if "markers" in wanted:
        colours = labels.palette[[b.id for b in boxes]]
        messages["markers"] = markers_message(boxes, colours, labels.names, header)
    return messages
