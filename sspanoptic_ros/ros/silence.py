# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Why a camera hears nothing, from what the ROS graph shows, in one line that says what to do.

Three causes can be told apart from the graph: no publisher on the topic (often a wrong topic:
the line names the image topics that do have publishers), publishers whose QoS the node's
subscription cannot match (a reliable subscription and best-effort publishers), and publishers
that match but deliver nothing (with Fast DDS, best-effort frames over 512 KiB are dropped
between processes unless both sides use ``FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA``; a 640 x 480
rgb8 frame is 900 KiB).
"""

from __future__ import annotations

from rclpy.node import Node
from rclpy.qos import QoSCompatibility, QoSProfile, ReliabilityPolicy, qos_check_compatible
from rclpy.topic_endpoint_info import TopicEndpointInfo

IMAGE_TYPES = ("sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage")


def silence_reason(
    topic: str, publishers: list[TopicEndpointInfo], subscription: QoSProfile, image_topics: list[str]
) -> str:
    """Return why a subscription to ``topic`` with QoS ``subscription`` receives nothing.

    ``publishers``: the topic's publishers (``Node.get_publishers_info_by_topic``);
    ``image_topics``: the image topics that have publishers, named when ``topic`` has none.
    """
    if not publishers:
        others = [t for t in image_topics if t != topic]
        found = f"image topics with publishers: {', '.join(others)}" if others else "no image topic has one"
        return f"no publisher on {topic}; {found}"
    offered = [p.qos_profile for p in publishers]
    if all(qos_check_compatible(q, subscription)[0] == QoSCompatibility.ERROR for q in offered):
        return (
            f"the publishers of {topic} offer {_reliability(offered[0])}, which this node's "
            f"{_reliability(subscription)} subscription cannot match: set input_reliability:="
            f"{_reliability(offered[0])}"
        )
    reliable = any(q.reliability == ReliabilityPolicy.RELIABLE for q in offered)
    fix = (
        "input_reliability:=reliable (the publisher offers it)" if reliable
        else "FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA for the camera driver and this node, or a reliable "
        "publisher and input_reliability:=reliable"
    )
    return (
        f"{len(publishers)} publisher(s) on {topic} match but deliver nothing: Fast DDS drops best-effort "
        f"frames over 512 KiB between processes (640 x 480 rgb8 is 900 KiB); set {fix}"
    )


def image_topics_with_publishers(node: Node) -> list[str]:
    """Return the image topics that have a publisher other than ``node`` itself."""
    me = (node.get_name(), node.get_namespace())
    return [
        name for name, types in node.get_topic_names_and_types()
        if set(types) & set(IMAGE_TYPES)
        and any((p.node_name, p.node_namespace) != me for p in node.get_publishers_info_by_topic(name))
    ]


def _reliability(qos: QoSProfile) -> str:
    return ReliabilityPolicy(qos.reliability).name.lower()
