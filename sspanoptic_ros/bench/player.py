# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Play a bag's camera frames through rclpy from memory, restamped, at a set rate or the bag's own.

Unlike ``ros2 bag play``, :class:`Player` reads every frame before it starts (so disk reads are not
measured), stamps each message with the current time just before publishing it (so an output
carrying that stamp tells the latency) and records when it sent each frame.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.serialization import deserialize_message
from rosbags.rosbag2 import Reader
from sensor_msgs.msg import CompressedImage, Image

from ..ros.depth_input import DEPTH_ENCODINGS
from ..ros.image_codec import stamp_ns
from .bag_writer import COMPRESSED_TYPE, IMAGE_TYPE

MESSAGE_TYPES = {IMAGE_TYPE: Image, COMPRESSED_TYPE: CompressedImage}


@dataclass
class BagFrames:
    """The camera frames of one bag topic, held in memory as rclpy messages."""

    topic: str
    msg_type: type
    messages: list
    stamps_ns: list[int]  # the header stamps recorded in the bag

    @property
    def compressed(self) -> bool:
        """Whether the frames are ``sensor_msgs/CompressedImage``."""
        return self.msg_type is CompressedImage


def load_bag(path, topic: str | None = None) -> BagFrames:
    """Read every frame of an Image or CompressedImage topic of a rosbag2 bag (sqlite3 or mcap).

    ``topic`` may be left out when the bag has exactly one camera topic: an image topic that is
    not depth (16UC1 or 32FC1), so an RGB-D bag gives its colour images.
    """
    with Reader(path) as reader:
        images = {c.topic: c for c in reader.connections if c.msgtype in MESSAGE_TYPES}
        if topic is None:
            cameras = [name for name, c in images.items() if not _holds_depth(reader, c)]
            if len(cameras) != 1:
                raise ValueError(
                    f"bag {path} has {len(cameras)} camera image topics "
                    f"({', '.join(sorted(cameras)) or 'none'}); name one"
                )
            topic = cameras[0]
        if topic not in images:
            raise ValueError(
                f"bag {path} has no Image or CompressedImage topic {topic!r};"
                f" image topics: {', '.join(sorted(images)) or 'none'}"
            )
        msg_type = MESSAGE_TYPES[images[topic].msgtype]
        messages = [
            deserialize_message(bytes(raw), msg_type)
            for _, _, raw in reader.messages(connections=[images[topic]])
        ]
    if not messages:
        raise ValueError(f"topic {topic} of bag {path} holds no messages")
    return BagFrames(topic, msg_type, messages, [stamp_ns(m.header.stamp) for m in messages])


def _holds_depth(reader: Reader, connection) -> bool:
    """Whether the first message of an image connection is a depth image."""
    if MESSAGE_TYPES[connection.msgtype] is not Image:
        return False
    for _, _, raw in reader.messages(connections=[connection]):
        return deserialize_message(bytes(raw), Image).encoding in DEPTH_ENCODINGS
    return False


class Player:
    """Publishes frames in a loop, each restamped with the current time; records the send times.

    Stamps strictly increase, so the frames keep their order and every stamp names one send.
    Send times are ``time.monotonic_ns()`` taken just before ``publish``.
    """

    def __init__(
        self,
        node: Node,
        frames: BagFrames,
        reliability: ReliabilityPolicy = ReliabilityPolicy.BEST_EFFORT,
    ):
        qos = QoSProfile(depth=1, reliability=reliability)
        self.frames = frames
        self._publisher = node.create_publisher(frames.msg_type, frames.topic, qos)
        self._next = 0
        self._last_stamp = 0
        gaps = [b - a for a, b in zip(frames.stamps_ns, frames.stamps_ns[1:])]
        if any(g <= 0 for g in gaps):
            raise ValueError(f"the stamps of {frames.topic} do not strictly increase")
        # The bag's own timing; the loop wraps around after the median gap.
        self._bag_gaps = [*gaps, int(statistics.median(gaps))] if gaps else [10**8]

    @property
    def bag_rate(self) -> float:
        """The bag's mean frame rate in Hz."""
        return 1e9 / statistics.fmean(self._bag_gaps)

    def subscription_count(self) -> int:
        """Return the number of subscriptions matched to the player's publisher."""
        return self._publisher.get_subscription_count()

    def publish(self, msg) -> tuple[int, int]:
        """Restamp ``msg`` with the current time, publish it; return (stamp ns, send time ns)."""
        stamp = max(time.time_ns(), self._last_stamp + 1)
        self._last_stamp = stamp
        msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp, 10**9)
        sent = time.monotonic_ns()
        self._publisher.publish(msg)
        return stamp, sent

    def publish_next(self) -> tuple[int, int]:
        """Publish the next frame of the loop; return (stamp ns, send time ns)."""
        msg = self.frames.messages[self._next]
        self._next = (self._next + 1) % len(self.frames.messages)
        return self.publish(msg)

    def play(self, rate: float | None, seconds: float) -> list[tuple[int, int]]:
        """Publish frames at ``rate`` Hz (None: the bag's timing) for ``seconds``.

        Returns (stamp ns, send time ns) of every frame sent. A frame that is due while the
        previous one is still being published goes out right after it; none is skipped.
        """
        if rate is not None and not rate > 0:
            raise ValueError(f"rate must be > 0 Hz or None (the bag's timing), got {rate}")
        if not seconds > 0:
            raise ValueError(f"seconds must be > 0, got {seconds}")
        sent = []
        due = start = time.monotonic_ns()
        end = start + round(seconds * 1e9)
        while due < end and time.monotonic_ns() < end:
            delay = due - time.monotonic_ns()
            if delay > 0:
                time.sleep(delay / 1e9)
            gap = round(1e9 / rate) if rate is not None else self._bag_gaps[self._next]
            sent.append(self.publish_next())
            due += gap
        return sent
