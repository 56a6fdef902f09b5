# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Where a camera's topics are and with which QoS: names derived from its image topic.

Camera ``a/b/image`` publishes its outputs under ``a/b/panoptic/`` and reads its camera_info
from ``a/b/camera_info``, the sibling that image_transport pairs with an image topic.
"""

from __future__ import annotations

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.validate_topic_name import validate_topic_name

# Latched (transient local, depth 1): a late subscriber gets the model's labels.
LABEL_INFO_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=1, reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.TRANSIENT_LOCAL,
)
DIAGNOSTICS_TOPIC = "/diagnostics"
DIAGNOSTICS_DEPTH = 10


def output_prefix(topic: str) -> str:
    """Namespace of a camera's outputs: ``a/b/image`` -> ``a/b/panoptic``, ``image`` -> ``panoptic``."""
    return sibling_topic(topic, "panoptic")


def sibling_topic(topic: str, name: str) -> str:
    """Topic ``name`` beside ``topic``, as image_transport pairs images and camera_info.

    ``sibling_topic("a/b/image_raw", "camera_info")`` is ``a/b/camera_info``.
    """
    head, sep, _ = topic.rpartition("/")
    return f"{head}{sep}{name}"


def output_prefixes(topics: list[str]) -> list[str]:
    """Output namespaces of the input topics; ValueError if they are not distinct valid names.

    Raises rclpy's InvalidTopicNameException for a topic that is not a valid name.
    """
    if not topics:
        raise ValueError("input_topics must name at least one topic")
    for topic in topics:
        validate_topic_name(topic)
    prefixes = [output_prefix(t) for t in topics]
    if len(set(prefixes)) != len(prefixes):
        raise ValueError(f"input_topics {topics}: two cameras would publish to one namespace")
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
