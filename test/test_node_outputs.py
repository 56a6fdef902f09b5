# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The node's message building: PanopticResult -> images and JSON, statistics -> diagnostics."""

import json

import numpy as np
import pytest
import torch
from builtin_interfaces.msg import Time
from conftest import TINY_CATEGORIES
from diagnostic_msgs.msg import DiagnosticStatus
from std_msgs.msg import Header

from sspanoptic_ros.head.result import PanopticResult, Segment
from sspanoptic_ros.ros.diagnostics import HealthLimits, InferenceStats, PeriodReport, camera_status
from sspanoptic_ros.ros.latest_frame import SlotCounts
from sspanoptic_ros.ros.outputs import colored_image, id_image, segments_message
from sspanoptic_ros.ros.topics import output_prefix, sibling_topic
from sspanoptic_ros.ros.vision import detections_message, label_info_message
from sspanoptic_ros.visualization import color_lut

pytestmark = pytest.mark.ros  # runs on Kilted and Jazzy (setup.cfg)

HEADER = Header(stamp=Time(sec=12, nanosec=345), frame_id="cam")
NAMES = {c.id: c.name for c in TINY_CATEGORIES}


@pytest.fixture
def result() -> PanopticResult:
    """Return a 2x3 result: sky (id 1), a disc (11), a box (12) and one unknown pixel."""
    category = torch.tensor([[1, 11, 11], [12, 0, 1]], dtype=torch.int32)
    instance = torch.tensor([[0, 1, 1], [2, 0, 0]], dtype=torch.int32)
    segments = [
        Segment(11001, 11, True, 0.875, (1, 0, 2, 1), 2),
        Segment(12002, 12, True, 0.5, (0, 1, 1, 1), 1),
        Segment(1000, 1, False, None, (0, 0, 3, 2), 2),
    ]
    return PanopticResult(category, instance, category * 1000 + instance, segments)


def pixels(msg, dtype) -> np.ndarray:
    return np.frombuffer(bytes(msg.data), dtype).reshape(msg.height, -1)


def test_id_images_hold_the_maps_with_the_input_header(result):
    semantic = id_image(result, "semantic", HEADER)
    instance = id_image(result, "instance", HEADER)
    panoptic = id_image(result, "panoptic", HEADER)
    assert [m.encoding for m in (semantic, instance, panoptic)] == ["mono16", "mono16", "32SC1"]
    for msg in (semantic, instance, panoptic):
        assert msg.header == HEADER and msg.header is not HEADER
        assert (msg.height, msg.width, msg.is_bigendian) == (2, 3, 0)
    assert (semantic.step, panoptic.step) == (6, 12)
    np.testing.assert_array_equal(pixels(semantic, "<u2"), [[1, 11, 11], [12, 0, 1]])
    np.testing.assert_array_equal(pixels(instance, "<u2"), [[0, 1, 1], [2, 0, 0]])
    np.testing.assert_array_equal(pixels(panoptic, "<i4"), [[1000, 11001, 11001], [12002, 0, 1000]])


def test_id_image_refuses_ids_mono16_cannot_hold(result):
    big = PanopticResult(result.category + 70000, result.instance, result.panoptic, [])
    with pytest.raises(ValueError, match="outside the mono16 range"):
        id_image(big, "semantic", HEADER)
    with pytest.raises(ValueError, match="unknown id image 'depth'"):
        id_image(result, "depth", HEADER)


def test_colored_image_colours_and_shades_instances(result):
    msg = colored_image(result, color_lut(TINY_CATEGORIES), HEADER, rgb=None, alpha=0.5)
    assert (msg.encoding, msg.height, msg.width, msg.header) == ("rgb8", 2, 3, HEADER)
    # sky plain; disc instance 1 shaded 0.6; box instance 2 shaded 0.85; unknown black.
    expected = [
        [(70, 130, 180), (132, 12, 36), (132, 12, 36)],
        [(0, 0, 121), (0, 0, 0), (70, 130, 180)],
    ]
    np.testing.assert_array_equal(pixels(msg, np.uint8).reshape(2, 3, 3), expected)


def test_colored_image_blends_over_the_input(result):
    grey = np.full((2, 3, 3), 100, np.uint8)
    msg = colored_image(result, color_lut(TINY_CATEGORIES), HEADER, rgb=grey, alpha=0.25)
    picture = pixels(msg, np.uint8).reshape(2, 3, 3)
    # 0.25 * colour + 0.75 * 100: sky (70, 130, 180) -> (92.5, 107.5, 120) rounded to even.
    np.testing.assert_array_equal(picture[0, 0], [92, 108, 120])
    np.testing.assert_array_equal(picture[1, 1], [75, 75, 75])


def test_segments_message_is_json_with_header_and_segments(result):
    document = json.loads(segments_message(result, HEADER, NAMES).data)
    assert document == {
        "header": {"stamp": {"sec": 12, "nanosec": 345}, "frame_id": "cam"},
        "segments": [
            {"id": 11001, "category_id": 11, "name": "disc", "isthing": True, "score": 0.875,
             "track_id": None, "bbox": [1, 0, 2, 1], "area": 2},
            {"id": 12002, "category_id": 12, "name": "box", "isthing": True, "score": 0.5,
             "track_id": None, "bbox": [0, 1, 1, 1], "area": 1},
            {"id": 1000, "category_id": 1, "name": "sky", "isthing": False, "score": None,
             "track_id": None, "bbox": [0, 0, 3, 2], "area": 2},
        ],
    }
    tracked = json.loads(segments_message(result, HEADER, NAMES, tracked=True).data)["segments"]
    assert [s["track_id"] for s in tracked] == [1, 2, None]


@pytest.mark.parametrize(
    "topic, prefix",
    [("image", "panoptic"), ("cam1/image", "cam1/panoptic"), ("/robot/front/image_raw",
     "/robot/front/panoptic"), ("/image", "/panoptic"), ("~/image", "~/panoptic")],
)
def test_output_namespace_replaces_the_last_topic_name_part(topic, prefix):
    assert output_prefix(topic) == prefix


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_inference_stats_report_per_period_and_totals():
    clock = FakeClock()
    stats = InferenceStats(clock)
    stats.add_processed(0.1)
    stats.add_processed(0.3)
    stats.add_failed()
    clock.now = 2.0
    first = stats.report()
    assert first.fps == pytest.approx(1.0)
    assert first.latency_mean == pytest.approx(0.2) and first.latency_max == pytest.approx(0.3)
    assert (first.processed, first.failed, first.failed_in_period) == (2, 1, 1)
    clock.now = 3.0
    second = stats.report()
    assert (second.fps, second.latency_mean, second.latency_max) == (0.0, 0.0, 0.0)
    assert (second.processed, second.failed, second.failed_in_period) == (2, 1, 0)


def test_camera_status_lists_every_statistic():
    clock = FakeClock()
    stats = InferenceStats(clock)
    for latency in (0.010, 0.030):
        stats.add_processed(latency)
    clock.now = 0.5
    info = {"backend": "torch", "device": "cpu", "model": "tiny"}
    status = camera_status("node: /image", stats.report(), SlotCounts(5, 3), info, image_age=0.2)
    assert (status.name, status.level, status.message) == ("node: /image", DiagnosticStatus.OK,
                                                           "4.0 FPS")
    assert status.hardware_id == "cpu"
    assert {kv.key: kv.value for kv in status.values} == {
        "fps": "4.00", "expected fps": "no check", "latency mean [ms]": "20.0",
        "latency p50 [ms]": "10.0", "latency p99 [ms]": "30.0", "latency max [ms]": "30.0",
        "seconds since last image": "0.2", "frames received": "5", "frames processed": "2",
        "frames dropped": "3", "frames failed": "0", "camera_info": "received",
        "backend": "torch", "device": "cpu", "model": "tiny",
    }
    stats.add_failed()
    stats.add_processed(0.02)
    warn = camera_status("node: /image", stats.report(), SlotCounts(6, 3), info)
    assert warn.level == DiagnosticStatus.WARN and warn.message.startswith("1 frames failed")


def test_latency_percentiles_are_nearest_rank():
    clock = FakeClock()
    stats = InferenceStats(clock)
    for latency in range(1, 101):  # 1..100 ms, shuffled order does not matter
        stats.add_processed((latency * 37 % 100 + 1) / 1000)
    clock.now = 1.0
    report = stats.report()
    assert (report.latency_p50, report.latency_p99) == (pytest.approx(0.050), pytest.approx(0.099))


def status_of(fps: float, processed: int, failed: int, received: int, image_age: float,
              camera_info: str = "") -> DiagnosticStatus:
    report = PeriodReport(fps, 0.0, 0.0, 0.0, 0.0, processed, failed, processed, failed)
    limits = HealthLimits(expected_fps=10.0, fps_tolerance=0.2, stale_timeout=2.0)
    return camera_status("n: /image", report, SlotCounts(received, 0), {}, limits, image_age, camera_info)


@pytest.mark.parametrize(
    "args, level, message",
    [
        ((10.0, 10, 0, 10, 0.1), DiagnosticStatus.OK, "10.0 FPS"),
        ((8.0, 8, 0, 8, 0.1), DiagnosticStatus.OK, "8.0 FPS"),  # within the 20 % tolerance
        ((7.9, 8, 0, 8, 0.1), DiagnosticStatus.WARN, "7.9 FPS, below the expected 10 FPS (tolerance 20%)"),
        ((9.0, 9, 1, 10, 0.1), DiagnosticStatus.WARN, "1 frames failed in the last period"),
        ((0.0, 0, 5, 5, 0.1), DiagnosticStatus.ERROR,
         "inference failing: all 5 frames of the last period failed"),
        ((0.0, 0, 0, 12, 2.5), DiagnosticStatus.STALE, "no image for 2.5 s (stale_timeout 2 s)"),
        ((0.0, 0, 0, 0, 2.5), DiagnosticStatus.STALE, "no image yet for 2.5 s (stale_timeout 2 s)"),
        ((0.0, 0, 0, 0, 1.0), DiagnosticStatus.OK, "waiting for images"),
    ],
)
def test_camera_status_levels_say_why(args, level, message):
    status = status_of(*args)
    assert (status.level, status.message) == (level, message)


def test_camera_status_says_when_no_camera_info_came():
    status = status_of(10.0, 10, 0, 10, 0.1, camera_info="/cam/camera_info")
    assert status.message == "10.0 FPS; no camera_info on /cam/camera_info"
    assert {kv.key: kv.value for kv in status.values}["camera_info"] == "none received on /cam/camera_info"


def test_detections_are_the_thing_segments(result):
    message = detections_message(result, HEADER)
    assert message.header == HEADER
    boxes = [(d.id, d.bbox.center.position.x, d.bbox.center.position.y, d.bbox.size_x, d.bbox.size_y)
             for d in message.detections]
    # disc: columns 1..2 of row 0 -> centre (2.0, 0.5), size 2 x 1; box: pixel (0, 1).
    assert boxes == [("11001", 2.0, 0.5, 2.0, 1.0), ("12002", 0.5, 1.5, 1.0, 1.0)]
    hypotheses = [d.results[0].hypothesis for d in message.detections]
    assert [(h.class_id, h.score) for h in hypotheses] == [("11", 0.875), ("12", 0.5)]
    assert all(d.header == HEADER and len(d.results) == 1 for d in message.detections)


def test_label_info_maps_every_label_with_the_threshold():
    message = label_info_message(TINY_CATEGORIES, 0.25, HEADER)
    assert [(c.class_id, c.class_name) for c in message.class_map] == [
        (0, "unknown"), (1, "sky"), (2, "grass"), (3, "road"), (11, "disc"), (12, "box")]
    assert message.threshold == 0.25 and message.header == HEADER


def test_camera_info_topic_is_the_image_sibling():
    assert sibling_topic("a/b/image_raw", "camera_info") == "a/b/camera_info"
    assert sibling_topic("/image", "camera_info") == "/camera_info"
    assert sibling_topic("image", "camera_info") == "camera_info"
