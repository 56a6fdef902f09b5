# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""A camera's aligned depth: pairing with its images by stamp, decoding and counting.

Images keep their own path (the newest-frame slot), so the 2D outputs never wait for depth. The
images are also fed, with the depth messages, to a ``message_filters.ApproximateTimeSynchronizer``
(``depth_slop`` seconds); each pair it finds files the depth under its image's stamp. Once the
worker has inferred an image it asks ``DepthInput.depth_for`` for that image's depth, waiting at
most ``PAIR_WAIT`` seconds for a pair still on its way. An image without one is *unpaired*; a
paired depth that cannot be used (``DepthError``) is *refused*: both skip the 3D outputs only.

Depth encodings: ``16UC1`` (millimetres, 0 = no return) and ``32FC1`` (metres; 0, NaN and inf
= no return), either byte order, rows possibly padded (``step``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import message_filters
import numpy as np
from rclpy.lifecycle import Node
from rclpy.qos import QoSProfile
from rclpy.validate_topic_name import validate_topic_name
from sensor_msgs.msg import Image

from ..depth3d import DEPTH_RANGE, MIN_POINTS
from .image_codec import image_rows, stamp_ns

PAIR_WAIT = 0.1  # seconds the worker waits, after the inference, for its image's depth
THROTTLE = 5.0  # seconds between two log lines about the depth of a camera
PAIR_QUEUE = 10  # messages per input the synchronizer keeps; also the filed pairs kept

# encoding -> (dtype of one value, little-endian; metres per unit)
DEPTH_ENCODINGS = {"16UC1": (np.dtype("<u2"), 0.001), "32FC1": (np.dtype("<f4"), 1.0)}


class DepthError(ValueError):
    """A depth frame that cannot give 3D outputs; the message says why."""


@dataclass(frozen=True)
class DepthOptions:
    """The 3D outputs' settings (the node's parameters, read once per frame)."""

    depth_min: float = DEPTH_RANGE[0]  # metres
    depth_max: float = DEPTH_RANGE[1]
    stride: int = 1  # every stride-th pixel in each direction
    min_points: int = MIN_POINTS  # fewer valid points: the thing gets no 3D detection


def depth_to_metres(msg: Image, max_pixels: int | None = None) -> np.ndarray:
    """Return the (H, W) float32 metres of a 16UC1 or 32FC1 depth image; DepthError naming the problem."""
    if msg.encoding not in DEPTH_ENCODINGS:
        raise DepthError(
            f"unsupported depth encoding {msg.encoding!r}; supported: {', '.join(DEPTH_ENCODINGS)}"
        )
    dtype, scale = DEPTH_ENCODINGS[msg.encoding]
    rows = image_rows(msg, dtype.itemsize, max_pixels, "depth image", DepthError)
    order = ">" if msg.is_bigendian else "<"
    values = rows[:, :msg.width * dtype.itemsize].copy().view(dtype.newbyteorder(order))
    return values.astype(np.float32) * np.float32(scale) if scale != 1.0 else values.astype(np.float32)


def depth_topic_list(depth_topics: list[str], input_topics: list[str]) -> list[str]:
    """Return the depth topic of each camera ('' = none); ValueError unless parallel to ``input_topics``.

    ``depth_topics`` of empty strings only (the default ['']) means no depth for any camera.
    """
    if not any(depth_topics):
        return [""] * len(input_topics)
    if len(depth_topics) != len(input_topics):
        raise ValueError(f"depth_topics {depth_topics} must have one entry per input topic "
                         f"{input_topics} ('' for a camera without depth)")
    for topic in filter(None, depth_topics):
        validate_topic_name(topic)
    return list(depth_topics)


class DepthCounts:
    """Thread-safe totals of depth frames paired, unpaired (images without one) and refused."""

    KEYS = ("paired", "unpaired", "refused")

    def __init__(self):
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(self.KEYS, 0)

    def add(self, key: str) -> None:
        """Count one frame under ``key`` (one of KEYS)."""
        with self._lock:
            self._counts[key] += 1

    def values(self) -> dict[str, int]:
        """Return the totals by key."""
        with self._lock:
            return dict(self._counts)


class DepthInput:
    """The depth subscription of one camera and the synchronizer pairing it with the images."""

    def __init__(self, node: Node, topic: str, qos: QoSProfile, slop: float):
        self.counts = DepthCounts()
        self._logger = node.get_logger()
        # Both inputs are fed through _offer, so that no message can raise in a callback.
        self._images, self._depths = message_filters.SimpleFilter(), message_filters.SimpleFilter()
        self.subscription = node.create_subscription(
            Image, topic, lambda msg: self._offer(self._depths, msg), qos
        )
        self._sync = message_filters.ApproximateTimeSynchronizer(
            [self._images, self._depths], PAIR_QUEUE, slop
        )
        self._sync.registerCallback(self._on_pair)
        self._cond = threading.Condition()
        self._pairs: OrderedDict[int, Image] = OrderedDict()  # image stamp -> its depth

    def add_image(self, msg) -> None:
        """Offer an image to the synchronizer (the camera's image callback)."""
        self._offer(self._images, msg)

    def depth_for(self, image, wait: float = PAIR_WAIT) -> Image | None:
        """Take the depth paired with ``image``, waiting up to ``wait`` s; None (counted) if none."""
        stamp = stamp_ns(image.header.stamp)
        with self._cond:
            self._cond.wait_for(lambda: stamp in self._pairs, wait)
            depth = self._pairs.pop(stamp, None)
        self.counts.add("paired" if depth is not None else "unpaired")
        return depth

    def destroy(self, node: Node) -> None:
        """Destroy the depth subscription."""
        node.destroy_subscription(self.subscription)

    def _offer(self, source: message_filters.SimpleFilter, msg) -> None:
        try:
            source.signalMessage(msg)
        except ValueError as error:  # a stamp rclpy refuses (negative seconds)
            self.counts.add("refused")
            self._logger.warning(f"depth pairing on {self.subscription.topic_name}: message "
                                 f"skipped: {error}", throttle_duration_sec=THROTTLE)

    def _on_pair(self, image, depth: Image) -> None:
        with self._cond:
            self._pairs[stamp_ns(image.header.stamp)] = depth
            while len(self._pairs) > PAIR_QUEUE:
                self._pairs.popitem(last=False)
            self._cond.notify_all()
