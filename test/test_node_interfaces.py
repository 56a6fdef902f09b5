# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The node's typed interfaces over real ROS 2 (rclpy + Fast DDS), the node in its own process.

vision_msgs detections and label map, camera_info passed on with each output's header,
compressed outputs, and the health levels of /diagnostics. This test process subscribes the
way a downstream node (tracker, mapper, rviz) does.
"""

import os
import time

import cv2
import numpy as np
import pytest
from conftest import REPO, save_detecting_tiny_model
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from ros_helpers import TIMEOUT, Harness, NodeProcess, image_msg, raw_pixels, stamp_of, wait_for
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import String
from vision_msgs.msg import Detection2DArray, LabelInfo

from sspanoptic_ros.data.synthetic import render_scene
from sspanoptic_ros.model import load_checkpoint
from sspanoptic_ros.ros.image_codec import compressed_to_rgb

pytestmark = pytest.mark.ros  # runs on Kilted and Jazzy (setup.cfg)

PREFIX = "cam/panoptic"
TYPED = {
    "panoptic": Image,
    "semantic": Image,
    "instance": Image,
    "colored": Image,
    "segments": String,
    "detections": Detection2DArray,
    "camera_info": CameraInfo,
    "semantic/compressed": CompressedImage,
    "instance/compressed": CompressedImage,
    "colored/compressed": CompressedImage,
}


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    return save_detecting_tiny_model(tmp_path_factory.mktemp("interfaces_model") / "tiny.pt")


@pytest.fixture(scope="module")
def harness(ros_context):
    harness = Harness(ros_context)
    harness.subscribe("/diagnostics", DiagnosticArray)
    for name, msg_type in TYPED.items():
        harness.subscribe(f"{PREFIX}/{name}", msg_type)
    yield harness
    harness.close()


@pytest.fixture(scope="module")
def node(model_path, harness, tmp_path_factory):
    """Run the node on camera ``cam/image_raw`` (camera_info on ``cam/camera_info``)."""
    node = NodeProcess(
        tmp_path_factory.mktemp("interfaces_node") / "node.log",
        "--params-file", str(REPO / "config" / "sspanoptic.yaml"),
        "-p", f"model_path:={model_path}",
        "-p", "backend:=torch",
        "-p", "device:=cpu",
        "-p", "input_topics:=['cam/image_raw']",
        "-p", "expected_fps:=4.0",
        "-p", "fps_tolerance:=0.25",
        "-p", "stale_timeout:=2.5",
    )
    yield node
    node.stop()


def camera_info(stamp) -> CameraInfo:
    info = CameraInfo(height=96, width=128, distortion_model="plumb_bob")
    info.header.stamp, info.header.frame_id = stamp, "cam_optical"
    info.k = [100.0, 0.0, 64.0, 0.0, 100.0, 48.0, 0.0, 0.0, 1.0]
    info.d = [0.1, -0.05, 0.0, 0.0, 0.0]
    return info


def outputs_of(harness, stamp) -> dict:
    found = {}
    for name in TYPED:
        for msg, _ in harness.received(f"{PREFIX}/{name}"):
            if stamp_of(msg) == (stamp.sec, stamp.nanosec):
                found[name] = msg
    return found


def exchange(harness, node, rgb, info: CameraInfo):
    """Send ``info`` and ``rgb``, as a camera does, every second until every output of it came back."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        harness.publish("cam/camera_info", info)
        sent = image_msg(raw_pixels(rgb, "rgb8"), rgb.shape[1], "rgb8", harness.next_stamp())
        sent.header.frame_id = "cam_optical"
        harness.publish("cam/image_raw", sent)
        until = time.monotonic() + 1.0
        while time.monotonic() < until:
            outputs = outputs_of(harness, sent.header.stamp)
            if len(outputs) == len(TYPED):
                return sent, outputs
            time.sleep(0.05)
        node.check_alive()
    raise AssertionError(f"missing outputs: {set(TYPED) - set(outputs_of(harness, sent.header.stamp))}")


def ids(msg: Image, dtype) -> np.ndarray:
    return np.frombuffer(bytes(msg.data), dtype).reshape(msg.height, msg.width)


def decode_png(msg: CompressedImage) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(bytes(msg.data), np.uint8), cv2.IMREAD_UNCHANGED)


def test_typed_outputs_agree_with_the_id_images(node, harness, model_path):
    wait_for(lambda: harness.node.count_publishers("/cam/panoptic/detections"), "the node's publishers")
    info = camera_info(harness.next_stamp())
    rgb = render_scene(4, 96, 128)[0]
    sent, outputs = exchange(harness, node, rgb, info)
    for msg in outputs.values():
        if not isinstance(msg, String):
            assert msg.header == sent.header

    panoptic = ids(outputs["panoptic"], "<i4")
    thing_categories = {c.id for c in load_checkpoint(model_path)[0].config.categories if c.isthing}
    things = sorted(int(i) for i in np.unique(panoptic) if i // 1000 in thing_categories)
    detections = outputs["detections"].detections
    assert things, "precondition: the frame has thing segments"
    assert sorted(int(d.id) for d in detections) == things
    for detection in detections:
        rows, cols = np.nonzero(panoptic == int(detection.id))
        x, y = cols.min(), rows.min()
        width, height = cols.max() + 1 - x, rows.max() + 1 - y
        box = detection.bbox
        assert (box.center.position.x, box.center.position.y) == (x + width / 2, y + height / 2)
        assert (box.size_x, box.size_y) == (width, height)
        (hypothesis,) = detection.results
        assert hypothesis.hypothesis.class_id == str(int(detection.id) // 1000)
        assert 0.4 <= hypothesis.hypothesis.score <= 1.0  # the score_threshold of the yaml

    relayed = outputs["camera_info"]
    assert (list(relayed.k), list(relayed.d), relayed.distortion_model) == (list(info.k), list(info.d),
                                                                            "plumb_bob")

    for name in ("semantic", "instance"):
        compressed = outputs[f"{name}/compressed"]
        assert compressed.format == "mono16; png compressed "
        np.testing.assert_array_equal(decode_png(compressed), ids(outputs[name], "<u2"))
    colored = np.frombuffer(bytes(outputs["colored"].data), np.uint8).reshape(96, 128, 3)
    jpeg = outputs["colored/compressed"]
    assert jpeg.format == "rgb8; jpeg compressed bgr8"
    assert np.abs(compressed_to_rgb(jpeg).astype(int) - colored).mean() < 6.0  # quality 80


def test_a_late_subscriber_gets_the_label_map(node, harness, model_path):
    wait_for(lambda: harness.node.count_publishers("/cam/panoptic/label_info"), "label_info")
    received = []
    latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.TRANSIENT_LOCAL)
    subscription = harness.node.create_subscription(LabelInfo, f"{PREFIX}/label_info", received.append,
                                                    latched)
    try:
        first = wait_for(lambda: received and received[-1], "the latched LabelInfo")
        labels = [(c.class_id, c.class_name) for c in first.class_map]
        assert labels == [(0, "unknown"), (1, "sky"), (2, "grass"), (3, "road"), (11, "disc"), (12, "box")]
        assert first.threshold == pytest.approx(0.4)
        assert harness.set_parameter("sspanoptic", "score_threshold", 0.55).successful
        changed = wait_for(lambda: received[-1].threshold == pytest.approx(0.55) and received[-1],
                           "a LabelInfo with the new threshold")
        assert [(c.class_id, c.class_name) for c in changed.class_map] == labels
    finally:
        harness.node.destroy_subscription(subscription)
        harness.set_parameter("sspanoptic", "score_threshold", 0.4)


def latest_status(harness, after: float) -> DiagnosticStatus | None:
    for msg, receipt in reversed(harness.received("/diagnostics")):
        if receipt <= after:
            return None
        for status in msg.status:
            if status.name.endswith(": /cam/image_raw"):
                return status
    return None


def stream(harness, rate: float, seconds: float) -> None:
    rgb = render_scene(5, 48, 64)[0]
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        harness.publish("cam/image_raw", image_msg(raw_pixels(rgb, "rgb8"), 64, "rgb8", harness.next_stamp()))
        time.sleep(1.0 / rate)


def level_after(harness, rate: float, seconds: float) -> tuple[bytes, str]:
    """Stream at ``rate`` (0: nothing) for ``seconds``; return the last status's level and message."""
    start = time.monotonic()
    if rate:
        stream(harness, rate, seconds)
    else:
        time.sleep(seconds)
    status = wait_for(lambda: latest_status(harness, start + seconds - 1.0), "a diagnostics status")
    return status.level, status.message


def test_diagnostics_warn_when_slow_go_stale_when_stopped_and_recover(node, harness):
    """expected_fps 4 with a 25 % tolerance, stale_timeout 2.5 s (the node fixture's parameters)."""
    wait_for(lambda: harness.node.count_subscribers("/cam/image_raw"), "the node's image subscription")
    level, message = level_after(harness, 10.0, 4.0)
    assert (level, message.endswith("FPS")) == (DiagnosticStatus.OK, True), message
    level, message = level_after(harness, 1.0, 5.0)
    assert level == DiagnosticStatus.WARN and "below the expected 4 FPS (tolerance 25%)" in message
    level, message = level_after(harness, 0.0, 4.0)
    assert level == DiagnosticStatus.STALE and "(stale_timeout 2.5 s)" in message, message
    level, message = level_after(harness, 10.0, 4.0)
    assert level == DiagnosticStatus.OK and message.endswith("FPS"), message


def test_the_node_serves_without_vision_msgs(model_path, harness, tmp_path):
    """A robot without vision_msgs: no detections nor label_info, one log line, the rest served."""
    hidden = tmp_path / "hide" / "vision_msgs"
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text("raise ImportError('vision_msgs is hidden by the test')\n")
    node = NodeProcess(
        tmp_path / "node.log",
        "-r", "__node:=no_vision",
        "-p", f"model_path:={model_path}",
        "-p", "backend:=torch",
        "-p", "input_topics:=['novision/image']",
        env={"PYTHONPATH": os.pathsep.join([str(hidden.parent), os.environ.get("PYTHONPATH", "")])},
    )
    try:
        harness.subscribe("novision/panoptic/panoptic", Image)
        rgb = render_scene(4, 48, 64)[0]

        def served():
            node.check_alive()
            harness.publish("novision/image", image_msg(raw_pixels(rgb, "rgb8"), 64, "rgb8",
                                                        harness.next_stamp()))
            time.sleep(0.5)
            return harness.received("novision/panoptic/panoptic")

        wait_for(served, "panoptic images from the node without vision_msgs")
        wait_for(lambda: "/novision/panoptic/segments" in dict(harness.node.get_topic_names_and_types()),
                 "the segments publisher in the graph")  # each publisher is discovered on its own
        topics = {name for name, _ in harness.node.get_topic_names_and_types()}
        assert "/novision/panoptic/segments" in topics
        assert not {"/novision/panoptic/detections", "/novision/panoptic/label_info"} & topics
        warnings = [line for line in node.log_text().splitlines() if "vision_msgs unavailable" in line]
        assert len(warnings) == 1 and "vision_msgs is hidden by the test" in warnings[0]
    finally:
        node.stop()
