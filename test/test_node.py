# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The panoptic node over real ROS 2 (rclpy + Fast DDS), talking to a test-side node.

One node process (``python -m sspanoptic_ros.ros.node``, parameters from config/sspanoptic.yaml)
serves the module: raw images from two cameras, "image" and "cam2/image". Compressed images,
model faults and lifecycle transitions use nodes created in this process (cheaper than more
processes). Outputs are compared with ``Engine.infer`` run here on the same decoded image and
model file (torch backend on the CPU).
"""

import json
import os
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
import pytest
import rclpy
import torch
from builtin_interfaces.msg import Time
from conftest import COCO_SAMPLE, REPO, tiny_config
from diagnostic_msgs.msg import DiagnosticArray
from lifecycle_msgs.srv import GetState
from rcl_interfaces.srv import SetParameters
from rclpy.executors import SingleThreadedExecutor
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header, String

from sspanoptic_ros.data.synthetic import render_scene
from sspanoptic_ros.engine import create_engine
from sspanoptic_ros.model import build_model, save_checkpoint
from sspanoptic_ros.ros.image_codec import compressed_to_rgb, image_to_rgb
from sspanoptic_ros.ros.node import PanopticNode
from sspanoptic_ros.visualization import color_lut, colorize_panoptic

TIMEOUT = 60.0  # seconds; generous: the machine is shared with a training job
OUTPUTS = ("semantic", "instance", "panoptic", "colored", "segments")
ENV = {
    "ROS_DOMAIN_ID": str(os.getpid() % 100 + 100),
    "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST",
    "FASTDDS_BUILTIN_TRANSPORTS": "LARGE_DATA",
    "RCUTILS_LOGGING_BUFFERED_STREAM": "0",
    # One torch thread per process: this 2-core machine also runs the test process (and maybe a
    # training job); oversubscribed OpenMP threads make each inference ~40x slower.
    "OMP_NUM_THREADS": "1",
}


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


# --- the test-side ROS node ---------------------------------------------------------------


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


class NodeProcess:
    """``python -m sspanoptic_ros.ros.node`` in a subprocess, its log in a file."""

    def __init__(self, log: Path, *ros_args: str, env: dict | None = None):
        self.log = log
        with open(log, "w") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "sspanoptic_ros.ros.node", "--ros-args", *ros_args],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=REPO,
                env={**os.environ, **ENV, **(env or {})},
            )

    def check_alive(self) -> None:
        assert self.proc.poll() is None, f"node exited with {self.proc.returncode}:\n{self.text()}"

    def text(self) -> str:
        return self.log.read_text()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ros_context():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as mp:
        for key, value in ENV.items():
            mp.setenv(key, value)
        context = rclpy.Context()
        context.init()
        yield context
        context.try_shutdown()
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def harness(ros_context):
    harness = Harness(ros_context)
    harness.subscribe("/diagnostics", DiagnosticArray)
    for prefix in ("panoptic", "cam2/panoptic"):
        harness.subscribe_outputs(prefix)
    yield harness
    harness.close()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("node_model")
    torch.manual_seed(0)
    model = build_model(tiny_config())
    # A random detector scores every anchor ~0.01; raise the prior so detections exist.
    torch.nn.init.constant_(model.detector.classification_head.cls_logits.bias, 0.0)
    save_checkpoint(directory / "tiny.pt", model)
    return directory


@pytest.fixture(scope="module")
def torch_engine(model_dir):
    return create_engine(model_dir / "tiny.pt", "torch", "cpu")


@pytest.fixture(scope="module")
def raw_node(model_dir, harness, tmp_path_factory):
    """Run the node on raw images from two cameras, torch backend, parameters from the yaml."""
    node = NodeProcess(
        tmp_path_factory.mktemp("raw_node") / "node.log",
        "--params-file", str(REPO / "config" / "sspanoptic.yaml"),
        "-p", f"model_path:={model_dir / 'tiny.pt'}",
        "-p", "backend:=torch",
        "-p", "device:=cpu",
        "-p", "input_topics:=['image', 'cam2/image']",
    )
    yield node
    node.stop()


def in_process_node(context, name: str, **params) -> PanopticNode:
    """Create a PanopticNode in this process (spun by the harness) with parameter overrides."""
    overrides = [Parameter(key, value=value) for key, value in params.items()]
    return PanopticNode(name, context=context, parameter_overrides=overrides)


@pytest.fixture(scope="module")
def compressed_node(model_dir, harness, ros_context):
    """Run an active node on compressed images in this process."""
    harness.subscribe_outputs("compressed_cam/panoptic")
    node = in_process_node(ros_context, "sspanoptic_compressed", model_path=str(model_dir / "tiny.pt"),
                           backend="torch", use_compressed=True,
                           input_topics=["compressed_cam/image"])
    harness.executor.add_node(node)
    assert node.start()
    yield node
    harness.executor.remove_node(node)
    node.close()
    node.destroy_node()


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


# --- raw images ---------------------------------------------------------------------------

RAW_ENCODINGS = ["rgb8", "bgr8", "rgba8", "bgra8", "mono8", "yuv422", "yuv422_yuy2",
                 "bayer_rggb8", "bayer_bggr8", "bayer_gbrg8", "bayer_grbg8"]


@pytest.mark.parametrize("encoding", RAW_ENCODINGS)
def test_every_raw_encoding_gives_the_engine_result(raw_node, harness, torch_engine, encoding):
    rgb = photo(72, 108) if "bayer" not in encoding else render_scene(3, 72, 108)[0]
    padding = 5 if encoding in ("rgb8", "mono8") else 0  # rows padded: step > width * bpp
    sent = image_msg(raw_pixels(rgb, encoding), 108, encoding, harness.next_stamp(), padding)
    outputs = harness.exchange("image", sent, "panoptic", raw_node)
    check_outputs(outputs, sent, image_to_rgb(sent), torch_engine)


def test_second_camera_publishes_in_its_own_namespace(raw_node, harness, torch_engine):
    rgb = render_scene(11, 64, 80)[0]
    sent = image_msg(raw_pixels(rgb, "rgb8"), 80, "rgb8", harness.next_stamp())
    outputs = harness.exchange("cam2/image", sent, "cam2/panoptic", raw_node)
    check_outputs(outputs, sent, rgb, torch_engine)
    assert harness.outputs_for("panoptic", sent.header.stamp) is None


def test_thresholds_and_policy_change_at_run_time(raw_node, harness, torch_engine):
    rgb = photo(96, 144)
    default = torch_engine.infer(rgb)
    assert any(s.isthing for s in default.segments), "precondition: things at score_threshold 0.4"

    def send():
        sent = image_msg(raw_pixels(rgb, "rgb8"), 144, "rgb8", harness.next_stamp())
        return sent, harness.exchange("image", sent, "panoptic", raw_node)

    try:
        assert harness.set_parameter("sspanoptic", "score_threshold", 0.99).successful
        sent, outputs = send()
        segments = json.loads(outputs["segments"].data)["segments"]
        assert segments and not any(s["isthing"] for s in segments)
        assert not pixels(outputs["instance"], "<u2").any()

        assert harness.set_parameter("sspanoptic", "score_threshold", 0.4).successful
        assert harness.set_parameter("sspanoptic", "overlap_policy", "smallest_first").successful
        torch_engine.update(overlap_policy="smallest_first")
        changed = torch_engine.infer(rgb)
        assert not torch.equal(changed.panoptic, default.panoptic), "precondition: policies differ"
        sent, outputs = send()
        check_outputs(outputs, sent, rgb, torch_engine)

        rejected = {
            "score_threshold": (1.5, "out of range"),
            "nms_threshold": (0.0, "nms_threshold"),
            "overlap_policy": ("largest_first", "overlap_policy must be one of"),
            "model_path": ("/other/model.pt", "read-only"),
        }
        for name, (value, reason) in rejected.items():
            result = harness.set_parameter("sspanoptic", name, value)
            assert not result.successful, name
            assert reason in result.reason, f"{name}: {result.reason!r}"
        assert harness.set_parameter("sspanoptic", "colored_alpha", 1.0).successful
        sent, outputs = send()  # still smallest_first at threshold 0.4; colours not blended
        check_outputs(outputs, sent, rgb, torch_engine, alpha=1.0)
    finally:
        torch_engine.update(overlap_policy="closest_center")
        for name, value in [("score_threshold", 0.4), ("overlap_policy", "closest_center"),
                            ("colored_alpha", 0.5)]:
            harness.set_parameter("sspanoptic", name, value)


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


def test_malformed_images_are_logged_and_skipped(raw_node, harness, torch_engine):
    good = render_scene(6, 48, 64)[0]

    def serve_good(resend: bool = False):
        sent = image_msg(raw_pixels(good, "rgb8"), 64, "rgb8", harness.next_stamp())
        outputs = harness.exchange("cam2/image", sent, "cam2/panoptic", raw_node, resend=resend)
        check_outputs(outputs, sent, good, torch_engine)

    serve_good(resend=True)  # then the node and this harness know each other: no resending
    before = settled_counts(harness, "/cam2/image")
    rows = np.random.default_rng(0).integers(0, 256, (16, 20 * 3), dtype=np.uint8)
    wrong_step = image_msg(rows, 20, "rgb8", harness.next_stamp())
    wrong_step.step = 50  # < 20 * 3
    short = image_msg(rows[:8], 20, "rgb8", harness.next_stamp())
    short.height = 16  # data holds 8 rows
    empty = Image(height=0, width=0, encoding="rgb8", step=0)
    unknown = image_msg(rows, 20, "rgb8", harness.next_stamp())
    unknown.encoding = "16UC1"
    for bad in (wrong_step, short, empty, unknown):
        harness.publish("cam2/image", bad)
        time.sleep(0.3)  # lets the worker take the bad frame before the good one replaces it
        serve_good()

    after = settled_counts(harness, "/cam2/image")
    delta = {k: after[k] - before[k] for k in after}
    assert delta["processed"] == 4 and delta["failed"] + delta["dropped"] == 4, delta
    assert delta["failed"] >= 1
    errors = [line for line in raw_node.text().splitlines() if "[ERROR]" in line]
    assert errors and all("image on cam2/image skipped" in line for line in errors)
    problems = ("step 50 is smaller", "fewer than height * step", "empty image",
                "unsupported image encoding '16UC1'")
    assert any(p in errors[0] for p in problems), errors[0]
    raw_node.check_alive()


def test_overload_drops_frames_and_keeps_latency_bounded(raw_node, harness):
    rgb = photo(240, 320)
    rows = raw_pixels(rgb, "rgb8")
    before = settled_counts(harness, "/image")
    start, stamps = time.time(), set()
    while time.time() - start < 2.0:  # far faster than the node can process
        sent = image_msg(rows, 320, "rgb8", harness.next_stamp())
        stamps.add(stamp_of(sent))
        harness.publish("image", sent)
        time.sleep(0.005)
    time.sleep(1.0)

    latencies = [
        receipt - (msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9)
        for msg, receipt in harness.received("panoptic/semantic")
        if stamp_of(msg) in stamps
    ]
    assert len(latencies) >= 3
    # Queued frames would wait longer and longer (seconds by the end); newest-frame-only
    # keeps every latency near one processing time.
    assert max(latencies) < 2.0, f"latencies up to {max(latencies):.2f} s"

    after = settled_counts(harness, "/image")
    delta = {k: after[k] - before[k] for k in after}
    assert delta["dropped"] > 0 and delta["failed"] == 0, delta
    assert len(latencies) <= delta["processed"] and delta["received"] <= len(stamps), delta


# --- compressed images --------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jpeg", "png"])
def test_compressed_images_give_the_engine_result(compressed_node, harness, torch_engine, fmt):
    sent = compressed_msg(photo(80, 120), fmt, harness.next_stamp())
    outputs = harness.exchange("compressed_cam/image/compressed", sent, "compressed_cam/panoptic")
    check_outputs(outputs, sent, compressed_to_rgb(sent), torch_engine)


def test_corrupt_jpeg_is_logged_and_skipped(compressed_node, harness, torch_engine, capfd):
    corrupt = compressed_msg(photo(80, 120), "jpeg", harness.next_stamp())
    corrupt.data = bytes(corrupt.data)[:40]  # cut before the start-of-frame header
    harness.publish("compressed_cam/image/compressed", corrupt)
    time.sleep(0.3)
    sent = compressed_msg(photo(64, 64), "png", harness.next_stamp())
    outputs = harness.exchange("compressed_cam/image/compressed", sent, "compressed_cam/panoptic")
    check_outputs(outputs, sent, compressed_to_rgb(sent), torch_engine)
    errors = [line for line in capfd.readouterr().err.splitlines() if "[ERROR]" in line]
    assert len(errors) == 1, errors
    assert "image on compressed_cam/image skipped: JPEG data of 40 bytes" in errors[0]


# --- model faults and the lifecycle -------------------------------------------------------


def test_missing_model_exits_with_one_clear_error(tmp_path):
    node = NodeProcess(tmp_path / "node.log", "-p", f"model_path:={tmp_path / 'missing.pt'}")
    try:
        assert node.proc.wait(timeout=TIMEOUT) == 1
    finally:
        node.stop()
    lines = node.text().strip().splitlines()
    assert len(lines) == 1, lines
    assert "[ERROR]" in lines[0] and "cannot load model" in lines[0]
    assert f"model file not found: {tmp_path / 'missing.pt'}" in lines[0]


def lifecycle_state(harness, node_name: str) -> str:
    request = GetState.Request()
    return harness.call(GetState, f"/{node_name}/get_state", request).current_state.label


def test_lifecycle_transitions(model_dir, harness, ros_context):
    def serves():
        rgb = render_scene(2, 32, 48)[0]
        sent = image_msg(raw_pixels(rgb, "rgb8"), 48, "rgb8", harness.next_stamp())
        return harness.exchange("lifecycle_cam/image", sent, "lifecycle_cam/panoptic")

    def state():
        return lifecycle_state(harness, "lifecycle_test")

    harness.subscribe_outputs("lifecycle_cam/panoptic")
    node = in_process_node(ros_context, "lifecycle_test", model_path=str(model_dir / "tiny.pt"),
                           backend="torch", input_topics=["lifecycle_cam/image"])
    harness.executor.add_node(node)
    try:
        assert state() == "unconfigured"
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert state() == "inactive"
        assert harness.node.count_subscribers("/lifecycle_cam/image") == 0
        assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        assert state() == "active"
        assert serves()
        assert node.trigger_deactivate() == TransitionCallbackReturn.SUCCESS
        wait_for(lambda: harness.node.count_subscribers("/lifecycle_cam/image") == 0,
                 "the deactivated node to unsubscribe")
        assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS  # reloads the engine
        assert serves()
        assert node.trigger_deactivate() == TransitionCallbackReturn.SUCCESS
        assert node.trigger_cleanup() == TransitionCallbackReturn.SUCCESS
        assert state() == "unconfigured"
        wait_for(lambda: harness.node.count_publishers("/lifecycle_cam/panoptic/semantic") == 0,
                 "the cleaned-up node to destroy its publishers")
        assert node.trigger_shutdown() == TransitionCallbackReturn.SUCCESS
        assert state() == "finalized"
    finally:
        harness.executor.remove_node(node)
        node.close()
        node.destroy_node()
