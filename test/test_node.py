# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The panoptic node over real ROS 2 (rclpy + Fast DDS), talking to a test-side node.

One node process (``python -m sspanoptic_ros.ros.panoptic_node``, parameters from config/sspanoptic.yaml)
serves the module: raw images from two cameras, "image" and "cam2/image". Compressed images,
model faults and lifecycle transitions use nodes created in this process (cheaper than more
processes). Outputs are compared with ``Engine.infer`` run here on the same decoded image and
model file (torch backend on the CPU).
"""

import json
import time

import numpy as np
import pytest
import torch
from conftest import REPO, save_detecting_tiny_model, tiny_config
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.srv import GetParameters
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.parameter import Parameter
from ros_helpers import (
    TIMEOUT,
    Harness,
    NodeProcess,
    check_outputs,
    compressed_msg,
    handled,
    image_msg,
    in_process_node,
    lifecycle_state,
    photo,
    pixels,
    raw_pixels,
    settled_counts,
    stamp_of,
    wait_for,
)
from sensor_msgs.msg import Image

from sspanoptic_ros.data.synthetic import render_scene
from sspanoptic_ros.engine import DecodeParams, Engine, create_engine
from sspanoptic_ros.engine.backends import OnnxRuntimeBackend
from sspanoptic_ros.formats.onnx_file import export_onnx
from sspanoptic_ros.model import build_model, load_checkpoint, save_checkpoint
from sspanoptic_ros.ros.image_codec import compressed_to_rgb, image_to_rgb

pytestmark = pytest.mark.ros  # runs on Kilted and Jazzy (setup.cfg)

# --- fixtures -----------------------------------------------------------------------------


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
    save_detecting_tiny_model(directory / "tiny.pt")
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
        "-p", "track_instances:=false",  # outputs are compared with Engine.infer per frame
    )
    yield node
    node.stop()


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
        counts = settled_counts(harness, "/cam2/image")
        harness.publish("cam2/image", bad)
        handled(harness, "/cam2/image", counts)  # taken by the worker before the good one replaces it
        serve_good()

    after = settled_counts(harness, "/cam2/image")
    delta = {k: after[k] - before[k] for k in after}
    assert delta["processed"] == 4 and delta["failed"] + delta["dropped"] == 4, delta
    assert delta["failed"] >= 1
    errors = [line for line in raw_node.log_text().splitlines() if "[ERROR]" in line]
    assert errors and all("image on /cam2/image skipped" in line for line in errors)
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

    def sent_latencies():
        return [
            receipt - (msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9)
            for msg, receipt in harness.received("panoptic/semantic")
            if stamp_of(msg) in stamps
        ]

    wait_for(lambda: len(sent_latencies()) >= 3, "the outputs of 3 frames")  # a busy machine is slower
    latencies = sent_latencies()
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
    counts = settled_counts(harness, "/compressed_cam/image/compressed")
    harness.publish("compressed_cam/image/compressed", corrupt)
    handled(harness, "/compressed_cam/image/compressed", counts)  # before the good one replaces it
    sent = compressed_msg(photo(64, 64), "png", harness.next_stamp())
    outputs = harness.exchange("compressed_cam/image/compressed", sent, "compressed_cam/panoptic")
    check_outputs(outputs, sent, compressed_to_rgb(sent), torch_engine)
    errors = [line for line in capfd.readouterr().err.splitlines() if "[ERROR]" in line]
    assert len(errors) == 1, errors
    assert "image on /compressed_cam/image skipped: JPEG data of 40 bytes" in errors[0]


# --- model faults and the lifecycle -------------------------------------------------------


def test_missing_model_exits_with_one_clear_error(tmp_path):
    node = NodeProcess(tmp_path / "node.log", "-p", f"model_path:={tmp_path / 'missing.pt'}")
    try:
        assert node.wait(timeout=TIMEOUT) == 1
    finally:
        node.stop()
    lines = node.log_text().strip().splitlines()
    assert len(lines) == 1, lines
    assert "[ERROR]" in lines[0] and "cannot load model" in lines[0]
    assert f"model file not found: {tmp_path / 'missing.pt'}" in lines[0]


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


def test_a_model_with_nms_inside_keeps_its_nms_settings(model_dir, harness, ros_context):
    """A graph ending in EfficientNMS (run here by ONNX Runtime) fixes nms_threshold and max_detections."""
    model, _ = load_checkpoint(model_dir / "tiny.pt")
    path = export_onnx(model, model_dir / "tiny_nms.onnx", nms=DecodeParams(max_detections=20))
    harness.subscribe_outputs("nms_cam/panoptic")
    node = in_process_node(ros_context, "nms_test", model_path=str(path), backend="onnxruntime",
                           max_detections=20, input_topics=["nms_cam/image"])
    harness.executor.add_node(node)
    try:
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        refused = harness.set_parameter("nms_test", "nms_threshold", 0.3)
        assert not refused.successful and "EfficientNMS" in refused.reason
        assert harness.set_parameter("nms_test", "score_threshold", 0.5).successful
        rgb = render_scene(2, 32, 48)[0]
        sent = image_msg(raw_pixels(rgb, "rgb8"), 48, "rgb8", harness.next_stamp())
        outputs = harness.exchange("nms_cam/image", sent, "nms_cam/panoptic")
        engine = Engine(OnnxRuntimeBackend(path), model.config)
        engine.update(score_threshold=0.5)
        check_outputs(outputs, sent, rgb, engine)
    finally:
        harness.executor.remove_node(node)
        node.close()
        node.destroy_node()


def test_a_model_without_centres_shows_the_policy_it_runs(model_dir, harness, ros_context):
    """A model without a centre branch runs highest_confidence, and the parameter says so.

    closest_center is the default; asking for it again at run time is refused with the reason.
    """
    torch.manual_seed(0)
    path = save_checkpoint(model_dir / "nocenter.pt", build_model(tiny_config(use_centers=False)))
    node = in_process_node(ros_context, "nocenter_test", model_path=str(path), backend="torch",
                           input_topics=["nocenter_cam/image"])
    harness.executor.add_node(node)

    def policy() -> str:
        request = GetParameters.Request(names=["overlap_policy"])
        return harness.call(GetParameters, "/nocenter_test/get_parameters", request).values[0].string_value

    try:
        assert policy() == "closest_center"  # as declared, before configuring
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert policy() == "highest_confidence"
        assert node._engine.params.overlap_policy == "highest_confidence"
        refused = harness.set_parameter("nocenter_test", "overlap_policy", "closest_center")
        assert not refused.successful
        assert "no centre branch" in refused.reason and "highest_confidence" in refused.reason
        assert policy() == "highest_confidence"
        assert harness.set_parameter("nocenter_test", "overlap_policy", "smallest_first").successful
        assert policy() == "smallest_first" == node._engine.params.overlap_policy
    finally:
        harness.executor.remove_node(node)
        node.close()
        node.destroy_node()


@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
def test_a_model_detecting_on_p2_serves_the_engine_result(backend, model_dir, harness, ros_context):
    """detector_levels p2..p7 (the paper's text) runs in the node like p3..p7."""
    torch.manual_seed(0)
    model = build_model(tiny_config(detector_levels=("p2", "p3", "p4", "p5", "p6", "p7")))
    torch.nn.init.constant_(model.detector.classification_head.cls_logits.bias, 0.0)
    path = save_checkpoint(model_dir / "tiny_p2.pt", model)
    name, prefix = f"p2_{backend}", f"p2_{backend}/panoptic"
    harness.subscribe_outputs(prefix)
    node = in_process_node(ros_context, name, model_path=str(path), backend=backend,
                           input_topics=[f"p2_{backend}/image"])
    harness.executor.add_node(node)
    try:
        assert node.start()
        rgb = render_scene(3, 48, 64)[0]
        sent = image_msg(raw_pixels(rgb, "rgb8"), 64, "rgb8", harness.next_stamp())
        outputs = harness.exchange(f"p2_{backend}/image", sent, prefix)
        check_outputs(outputs, sent, rgb, create_engine(path, backend, "cpu"))  # same backend: no float ties
    finally:
        harness.executor.remove_node(node)
        node.close()
        node.destroy_node()


def test_a_refused_request_changes_no_tracker_setting(model_dir, ros_context):
    """A request refused for its engine value (nms_threshold 0) leaves the trackers as they were."""
    node = in_process_node(ros_context, "tracker_params_test", model_path=str(model_dir / "tiny.pt"),
                           backend="torch", input_topics=["tracker_params_cam/image"])
    try:
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        before = node._cameras[0].tracker.params
        result = node.set_parameters_atomically([Parameter("track_max_age", value=5),
                                                 Parameter("nms_threshold", value=0.0)])  # in range, refused
        assert not result.successful
        assert node._cameras[0].tracker.params == before and node.get_parameter("track_max_age").value == 30
        assert node.set_parameters_atomically([Parameter("track_max_age", value=5)]).successful
        assert node._cameras[0].tracker.params.max_age == 5
    finally:
        node.close()
        node.destroy_node()
