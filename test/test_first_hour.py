# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The mistakes of a robot user's first hour, each answered by one line that says what to do.

The node runs in its own process over real Fast DDS; this test process publishes as a camera
driver does. The launch-file cases (remapped cameras, start-up errors) are in
test_ros_toolchain.py, which runs the colcon-built install.
"""

import signal
import time

import numpy as np
import pytest
from conftest import REPO
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.topic_endpoint_info import TopicEndpointInfo
from ros_helpers import Harness, NodeProcess, image_msg, raw_pixels, wait_for
from sensor_msgs.msg import Image

from sspanoptic_ros.ros.silence import silence_reason
from sspanoptic_ros.ros.topics import stream_qos

pytestmark = pytest.mark.ros  # runs on Kilted and Jazzy (setup.cfg)


@pytest.fixture(scope="module")
def harness(ros_context):
    harness = Harness(ros_context)
    harness.subscribe("/diagnostics", DiagnosticArray)
    yield harness
    harness.close()


def test_a_silent_camera_is_explained_in_the_log_and_in_diagnostics(harness, tmp_path):
    """A wrong topic (the driver publishes elsewhere) and a QoS the node cannot match."""
    node = NodeProcess(
        tmp_path / "node.log",
        "-p", "backend:=torch", "-p", "device:=cpu",
        "-p", "input_topics:=['wrong/image', 'qos/image']",
        "-p", "input_reliability:=reliable",
        "-p", "stale_timeout:=1.0",
    )
    try:
        wait_for(lambda: harness.node.count_subscribers("/qos/image"), "the node's subscriptions")
        frame = image_msg(raw_pixels(np.zeros((4, 6, 3), np.uint8), "rgb8"), 6, "rgb8", harness.next_stamp())
        best_effort = QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT)
        for topic in ("/camera/color/image_raw", "/qos/image"):  # as camera drivers publish
            harness.node.create_publisher(Image, topic, best_effort).publish(frame)
        wrong = ("no publisher on /wrong/image; image topics with publishers: "
                 "/camera/color/image_raw, /qos/image")
        qos = ("the publishers of /qos/image offer best_effort, which this node's reliable "
               "subscription cannot match: set input_reliability:=best_effort")

        def logged():
            node.check_alive()
            text = node.log_text()
            return wrong in text and qos in text

        wait_for(logged, "the two warnings")
        assert node.log_text().count(wrong) == 1  # throttled: once while the reason stays
        lines = [line for line in node.log_text().splitlines() if qos in line]
        assert len(lines) == 1 and "WARN" in lines[0], lines

        def stale_messages():
            latest = harness.received("/diagnostics")
            statuses = {s.name: s for s in latest[-1][0].status} if latest else {}
            return [s.message for s in statuses.values() if s.level == DiagnosticStatus.STALE]

        wait_for(lambda: len(stale_messages()) == 2, "two STALE statuses")
        messages = stale_messages()
        assert any(m.endswith(wrong) for m in messages) and any(m.endswith(qos) for m in messages), messages
    finally:
        node.stop()


def test_publishers_that_match_but_deliver_nothing_point_at_large_best_effort_frames():
    def publisher(reliability):
        return TopicEndpointInfo(qos_profile=QoSProfile(depth=1, reliability=reliability))

    subscription = stream_qos("best_effort", 1)
    reason = silence_reason("/cam/image_raw", [publisher(ReliabilityPolicy.BEST_EFFORT)], subscription, [])
    assert reason == (
        "1 publisher(s) on /cam/image_raw match but deliver nothing: Fast DDS drops best-effort frames "
        "over 512 KiB between processes (640 x 480 rgb8 is 900 KiB); set FASTDDS_BUILTIN_TRANSPORTS="
        "LARGE_DATA for the camera driver and this node, or a reliable publisher and "
        "input_reliability:=reliable"
    )
    reason = silence_reason("/cam/image_raw", [publisher(ReliabilityPolicy.RELIABLE)], subscription, [])
    assert reason.endswith("set input_reliability:=reliable (the publisher offers it)")
    assert silence_reason("/a", [], subscription, []) == "no publisher on /a; no image topic has one"


def test_the_frame_that_failed_names_the_resolved_topic(harness, tmp_path):
    """Log lines name the topic as ROS resolved it (here remapped), not the node's internal name."""
    node = NodeProcess(tmp_path / "node.log", "-p", "backend:=torch", "-p", "device:=cpu",
                       "-r", "image:=/cam/image_raw", "-p", "max_image_pixels:=10")
    try:
        wait_for(lambda: harness.node.count_subscribers("/cam/image_raw"), "the node's subscription")
        frame = image_msg(raw_pixels(np.zeros((4, 6, 3), np.uint8), "rgb8"), 6, "rgb8", harness.next_stamp())
        deadline = time.monotonic() + 60
        while "skipped" not in node.log_text():
            node.check_alive()
            assert time.monotonic() < deadline, node.log_tail()
            harness.publish("/cam/image_raw", frame)
            time.sleep(0.5)
        line = next(line for line in node.log_text().splitlines() if "skipped" in line)
        assert "image on /cam/image_raw skipped: " in line and "exceeds max_image_pixels = 10" in line, line
        assert "active: /cam/image_raw" in node.log_text()
    finally:
        node.stop()


@pytest.mark.parametrize("delay", [0.2, 1.0, 3.0])
def test_a_signal_during_start_up_ends_the_node_quietly(delay, tmp_path):
    """Importing rclpy and torch, loading the model, configuring: a SIGINT at any moment exits 0."""
    node = NodeProcess(tmp_path / "node.log", "-p", "backend:=torch", "-p", "device:=cpu")
    try:
        time.sleep(delay)
        node.send_signal(signal.SIGINT)
        code = node.wait(60)
    finally:
        node.kill()
        node.wait()
    text = node.log_text()
    assert code == 0 and "Traceback" not in text and "KeyboardInterrupt" not in text, (code, text)


def test_eval_refuses_a_dataset_of_other_categories_naming_both_lists(coco_sample, capsys):
    """The demo model knows the synthetic world; its ids 1, 2, 3, 11, 13, 14 are COCO ids too."""
    from sspanoptic_ros.evaluation.eval_cli import main

    json_path = coco_sample / "panoptic_examples.json"
    with pytest.raises(SystemExit) as exit_info:
        main(["--model", str(REPO / "models" / "demo_synthetic.pt"), "--backend", "torch",
              "--images", str(coco_sample / "images"), "--json", str(json_path),
              "--panoptic", str(coco_sample / "panoptic")])
    error = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert error.endswith(
        f"sspanoptic-eval: error: the categories of {json_path} (133 categories: 1 'person', "
        "2 'bicycle', 3 'car', 4 'motorcycle', 5 'airplane', 6 'bus', 7 'train', 8 'truck', ... "
        "(125 more)) are not the model's (7 categories: 1 'disc', 2 'box', 3 'triangle', 11 'sky', "
        "12 'wall', 13 'grass', 14 'road')\n"), error
