# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Helpers of the ROS tests (test_node.py, test_faults.py): messages, a test-side node, checks.

The ROS context fixture they share, ``ros_context``, and the environment ``ros_env()`` of the ROS
processes live in conftest.py.
"""

import json
import threading
import time
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
import pytest
import rclpy
from builtin_interfaces.msg import Time
from conftest import COCO_SAMPLE, REPO, ros_env
from lifecycle_msgs.srv import GetState
from rcl_interfaces.srv import SetParameters
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header, String

from sspanoptic_ros.bench import session
from sspanoptic_ros.data.depth_files import depth_mm
from sspanoptic_ros.data.synthetic import render_scene
from sspanoptic_ros.ros.image_codec import numpy_to_image
from sspanoptic_ros.ros.node import PanopticNode
from sspanoptic_ros.visualization import color_lut, colorize_panoptic

TIMEOUT = 60.0  # seconds; generous: the machine is shared with a training job
OUTPUTS = ("semantic", "instance", "panoptic", "colored", "segments")


# --- images -------------------------------------------------------------------------------


def photo(height: int, width: int) -> np.ndarray:
    """Return a real COCO photo resized to height x width (a synthetic scene without the sample)."""
    path = COCO_SAMPLE / "images" / "000000142238.jpg"
    if not path.is_file():
        return render_scene(7, height, width)[0]
    return cv2.resize(cv2.imread(str(path))[:, :, ::-1], (width, height), interpolation=cv2.INTER_AREA)


def pack_yuv422(rgb: np.ndarray, order: str) -> np.ndarray:
    """Pack RGB into 4 bytes per 2 pixels, ``order`` "uyvy" or "yuyv" (chroma of the even pixel)."""
    yuv = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV)
    y0, y1, u, v = yuv[:, 0::2, 0], yuv[:, 1::2, 0], yuv[:, 0::2, 1], yuv[:, 0::2, 2]
    planes = (u, y0, v, y1) if order == "uyvy" else (y0, u, y1, v)
    return np.stack(planes, axis=-1).reshape(rgb.shape[0], -1)


def raw_pixels(rgb: np.ndarray, encoding: str) -> np.ndarray:
    """Return the bytes of ``rgb`` in a raw encoding, one row per image row."""
    opaque = np.full(rgb.shape[:2] + (1,), 255, np.uint8)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    pixels = {
        "rgb8": rgb,
        "bgr8": rgb[..., ::-1],
        "rgba8": np.concatenate([rgb, opaque], axis=2),
        "bgra8": np.concatenate([rgb[..., ::-1], opaque], axis=2),
        "yuv422": pack_yuv422(rgb, "uyvy"),
        "yuv422_yuy2": pack_yuv422(rgb, "yuyv"),
    }.get(encoding, gray)  # mono8 and the Bayer patterns: one byte per pixel
    return np.ascontiguousarray(pixels).reshape(rgb.shape[0], -1)


def image_msg(rows: np.ndarray, width: int, encoding: str, stamp: Time, padding: int = 0) -> Image:
    rows = np.pad(rows, ((0, 0), (0, padding)), constant_values=0xAB)
    msg = Image(height=rows.shape[0], width=width, encoding=encoding, step=rows.shape[1])
    msg.header = Header(stamp=stamp, frame_id=f"camera_{encoding}")
    msg.data = rows.tobytes()
    return msg


def compressed_msg(rgb: np.ndarray, fmt: str, stamp: Time) -> CompressedImage:
    ok, data = cv2.imencode(f".{fmt}", rgb[..., ::-1])
    assert ok
    msg = CompressedImage(format=fmt, header=Header(stamp=stamp, frame_id=f"camera_{fmt}"))
    msg.data = data.tobytes()
    return msg


def depth_message(depth: np.ndarray, encoding: str, stamp: Time) -> Image:
    values = depth_mm(depth) if encoding == "16UC1" else depth.astype(np.float32)
    return numpy_to_image(values, encoding, Header(stamp=stamp, frame_id="camera_optical"))


def camera_info(k, size, stamp: Time) -> CameraInfo:
    fx, fy, cx, cy = k
    info = CameraInfo(header=Header(stamp=stamp, frame_id="camera_optical"), height=size[0],
                      width=size[1], distortion_model="plumb_bob", d=[0.0] * 5)
    info.k = [fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0]
    return info


# --- the test-side ROS node and the node process ---------------------------------------


class Harness:
    """A node spinning in a thread that publishes inputs and records every message it receives.

    Inputs go out best effort, except on ``reliable_topics`` (for nodes with input_reliability
    reliable: Fast DDS loses best-effort messages over about 512 KiB between two processes).
    """

    def __init__(self, context: rclpy.Context, reliable_topics: tuple[str, ...] = ()):
        self.node = rclpy.create_node("node_test_harness", context=context)
        self.reliable_topics = set(reliable_topics)
        self.executor = SingleThreadedExecutor(context=context)
        self.executor.add_node(self.node)
        self.lock = threading.Lock()
        self.messages = defaultdict(list)  # topic -> [(message, wall time of receipt)]
        self.publishers = {}
        self._stamp = 0
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def subscribe(self, topic: str, msg_type) -> None:
        def record(msg, topic=topic):
            with self.lock:
                self.messages[topic].append((msg, time.time()))

        qos = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
        self.node.create_subscription(msg_type, topic, record, qos)

    def subscribe_outputs(self, prefix: str) -> None:
        for name in OUTPUTS:
            self.subscribe(f"{prefix}/{name}", String if name == "segments" else Image)

    def publish(self, topic: str, msg) -> None:
        if topic not in self.publishers:
            reliable = topic in self.reliable_topics
            qos = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE if reliable
                             else ReliabilityPolicy.BEST_EFFORT)
            publisher = self.node.create_publisher(type(msg), topic, qos)
            self.publishers[topic] = publisher
            deadline = time.monotonic() + TIMEOUT  # the first message would be lost unmatched
            while not publisher.get_subscription_count() and time.monotonic() < deadline:
                time.sleep(0.02)
        self.publishers[topic].publish(msg)

    def next_stamp(self) -> Time:
        """Return a unique stamp near the current time, to match outputs with their input."""
        self._stamp += 1
        now = time.time_ns() + self._stamp
        return Time(sec=now // 10**9, nanosec=now % 10**9)

    def received(self, topic: str) -> list:
        with self.lock:
            return list(self.messages[topic])

    def outputs_for(self, prefix: str, stamp: Time) -> dict | None:
        found = {}
        for name in OUTPUTS:
            for msg, _ in self.received(f"{prefix}/{name}"):
                if stamp_of(msg) == (stamp.sec, stamp.nanosec):
                    found[name] = msg
        return found if len(found) == len(OUTPUTS) else None

    def exchange(self, topic: str, msg, prefix: str, node=None, resend: bool = True) -> dict:
        """Publish ``msg`` and return its outputs.

        With ``resend``, ``msg`` is sent again every second until its outputs come (the node may
        not have discovered the output subscriptions yet); tests that count frames send once.
        """
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            self.publish(topic, msg)
            retry = time.monotonic() + (1.0 if resend else TIMEOUT)
            while time.monotonic() < min(retry, deadline):
                if outputs := self.outputs_for(prefix, msg.header.stamp):
                    return outputs
                time.sleep(0.01)
                if node is not None and not resend:
                    node.check_alive()
            if node is not None:
                node.check_alive()
        raise AssertionError(f"no outputs on {prefix}/* for the image sent on {topic}")

    def call(self, srv_type, name: str, request):
        client = self.node.create_client(srv_type, name)
        try:
            assert client.wait_for_service(timeout_sec=TIMEOUT), f"service {name} not found"
            future = client.call_async(request)
            deadline = time.monotonic() + TIMEOUT
            while not future.done():
                assert time.monotonic() < deadline, f"no answer from {name}"
                time.sleep(0.01)
            return future.result()
        finally:
            self.node.destroy_client(client)

    def set_parameter(self, node_name: str, name: str, value):
        request = SetParameters.Request(parameters=[Parameter(name, value=value).to_parameter_msg()])
        return self.call(SetParameters, f"/{node_name}/set_parameters", request).results[0]

    def diagnostics(self, topic: str, after: float) -> dict:
        """Key/values of the latest status of the camera on ``topic`` received after ``after``."""
        for msg, receipt in reversed(self.received("/diagnostics")):
            if receipt <= after:
                break
            for status in msg.status:
                if status.name.endswith(f": {topic}"):
                    return {kv.key: kv.value for kv in status.values}
        return {}

    def close(self) -> None:
        self.executor.shutdown()
        self.thread.join(timeout=10)
        self.node.destroy_node()


def stamp_of(msg) -> tuple[int, int]:
    if isinstance(msg, String):
        stamp = json.loads(msg.data)["header"]["stamp"]
        return stamp["sec"], stamp["nanosec"]
    return msg.header.stamp.sec, msg.header.stamp.nanosec


def wait_for(condition, what: str, timeout: float = TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class NodeProcess(session.NodeProcess):
    """``python -m sspanoptic_ros.ros.panoptic_node --ros-args *ros_args`` in this test process's domain."""

    def __init__(self, log: Path, *ros_args: str, env: dict[str, str] | None = None):
        super().__init__(session.node_command(*ros_args), log, {**ros_env(), **(env or {})}, cwd=REPO)


def in_process_node(context, name: str, **params) -> PanopticNode:
    """Create a PanopticNode in this process (spun by the harness) with parameter overrides.

    Tracking is off unless asked for: the tests compare outputs with ``Engine.infer`` per frame.
    """
    params.setdefault("track_instances", False)
    overrides = [Parameter(key, value=value) for key, value in params.items()]
    return PanopticNode(name, context=context, parameter_overrides=overrides)


# --- checks -------------------------------------------------------------------------------


def pixels(msg: Image, dtype) -> np.ndarray:
    values = np.frombuffer(bytes(msg.data), dtype).reshape(msg.height, msg.width, -1)
    return values[..., 0] if values.shape[-1] == 1 else values


def check_outputs(outputs: dict, sent, rgb: np.ndarray, engine, alpha: float = 0.5) -> None:
    """Check that the outputs have the input's header and size and hold ``engine.infer(rgb)``."""
    expected = engine.infer(rgb)
    height, width = rgb.shape[:2]
    for name in ("semantic", "instance", "panoptic", "colored"):
        msg = outputs[name]
        assert msg.header == sent.header, name
        assert (msg.height, msg.width) == (height, width), name
    assert [outputs[n].encoding for n in ("semantic", "instance", "panoptic", "colored")] == [
        "mono16", "mono16", "32SC1", "rgb8"]
    np.testing.assert_array_equal(pixels(outputs["semantic"], "<u2"), expected.category.numpy())
    np.testing.assert_array_equal(pixels(outputs["instance"], "<u2"), expected.instance.numpy())
    np.testing.assert_array_equal(pixels(outputs["panoptic"], "<i4"), expected.panoptic.numpy())
    colored = colorize_panoptic(expected.category.numpy(), expected.instance.numpy(),
                                color_lut(engine.config.categories), image=rgb, alpha=alpha)
    np.testing.assert_array_equal(pixels(outputs["colored"], np.uint8), colored)

    document = json.loads(outputs["segments"].data)
    assert document["header"] == {
        "stamp": {"sec": sent.header.stamp.sec, "nanosec": sent.header.stamp.nanosec},
        "frame_id": sent.header.frame_id,
    }
    names = {c.id: c.name for c in engine.config.categories}
    assert len(document["segments"]) == len(expected.segments)
    for got, segment in zip(document["segments"], expected.segments):
        assert got["id"] == segment.id and got["category_id"] == segment.category_id
        assert got["name"] == names[segment.category_id] and got["isthing"] == segment.isthing
        assert got["bbox"] == list(segment.bbox) and got["area"] == segment.area
        assert got["score"] == (None if segment.score is None else pytest.approx(segment.score))


def settled_counts(harness, topic: str) -> dict:
    """Return a camera's frame counters from fresh diagnostics once every frame is handled."""
    start = time.time()

    def fresh():
        values = harness.diagnostics(topic, after=start)
        if not values:
            return None
        now = {k: int(values[f"frames {k}"]) for k in ("received", "processed", "dropped", "failed")}
        return now if now["received"] == now["processed"] + now["dropped"] + now["failed"] else None

    return wait_for(fresh, f"settled diagnostics of {topic}")


def handled(harness, topic: str, before: dict, frames: int = 1) -> dict:
    """Wait until a camera's diagnostics count ``frames`` more frames received than ``before``, all handled.

    For a frame the node must take before the next one is sent (a newer frame would replace it).
    """
    return wait_for(lambda: (counts := settled_counts(harness, topic))["received"]
                    >= before["received"] + frames and counts, f"{frames} more frame(s) handled on {topic}")


def lifecycle_state(harness, node_name: str) -> str:
    request = GetState.Request()
    return harness.call(GetState, f"/{node_name}/get_state", request).current_state.label
