# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Where a camera's topics are and with which QoS: names derived from its image topic.

Camera ``a/b/image`` publishes its outputs under ``a/b/panoptic/`` and reads its camera_info
from ``a/b/camera_info``, the sibling that image_transport pairs with an image topic. The node
derives them from the image topic as resolved by ROS (namespace and remapping applied), so a
remapped camera (``-r image:=/a/b/image_raw``) gets ``/a/b/camera_info`` and ``/a/b/panoptic/``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.validate_topic_name import validate_topic_name

# Latched (transient local, depth 1): a late subscriber gets the model's labels.
LABEL_INFO_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=1, reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.TRANSIENT_LOCAL,
)
DIAGNOSTICS_TOPIC = "/diagnostics"
DIAGNOSTICS_DEPTH = 10
COMPRESSED_SUFFIX = "/compressed"  # image_transport's compressed topic beside the raw one


class CameraTopics(NamedTuple):
    """Where one camera's images come from, resolved."""

    image: str  # the subscribed topic: ``<name>/compressed`` for compressed images
    name: str  # the camera's name, whose siblings are camera_info and panoptic/
    compressed: bool  # images are sensor_msgs/CompressedImage


def camera_topics(topics: list[str], compressed: bool, resolve: Callable[[str], str]) -> list[CameraTopics]:
    """Return the resolved topics of each input topic's camera.

    ``resolve`` is ``Node.resolve_topic_name`` (namespace and remapping applied). The node
    subscribes to ``<topic>/compressed`` when ``compressed``; the camera's name is the resolved
    topic without that suffix, so its siblings follow a remapped compressed topic too. Raises
    rclpy's InvalidTopicNameException for a topic that is not a valid name.
    """
    if not topics:
        raise ValueError("input_topics must name at least one topic")
    cameras = []
    for topic in topics:
        validate_topic_name(topic)
        image = resolve(f"{topic}{COMPRESSED_SUFFIX}" if compressed else topic)
        name = image.removesuffix(COMPRESSED_SUFFIX) if compressed else image
        cameras.append(CameraTopics(image, name, compressed))
    return cameras


def output_prefix(topic: str) -> str:
    """Namespace of a camera's outputs: ``a/b/image`` -> ``a/b/panoptic``, ``image`` -> ``panoptic``."""
    return sibling_topic(topic, "panoptic")


def sibling_topic(topic: str, name: str) -> str:
    """Topic ``name`` beside ``topic``, as image_transport pairs images and camera_info.

    ``sibling_topic("a/b/image_raw", "camera_info")`` is ``a/b/camera_info``.
    """
    head, sep, _ = topic.rpartition("/")
    return f"{head}{sep}{name}"


def output_prefixes(cameras: list[str]) -> list[str]:
    """Output namespaces of the cameras; ValueError if two cameras would share one."""
    prefixes = [output_prefix(c) for c in cameras]
    if len(set(prefixes)) != len(prefixes):
        raise ValueError(f"input_topics {cameras}: two cameras would publish to one namespace")
    return prefixes


def stream_qos(reliability: str, depth: int) -> QoSProfile:
    """Volatile keep-last QoS of an input or output stream; ``reliability``: reliable or best_effort."""
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=depth,
        reliability=(
            ReliabilityPolicy.RELIABLE if reliability == "reliable" else ReliabilityPolicy.BEST_EFFORT
        ),
        durability=DurabilityPolicy.VOLATILE,
    )
