# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""3D outputs of the node over real ROS 2, checked against the depth sent and the ground truth.

RGB-D frames of the synthetic world go in; points, 3D detections and markers come out.

One node process (the bundled demo model, trained on the synthetic world) serves camera
``rgbd/image`` with depth ``rgbd/depth`` and camera ``nocam/image`` with depth ``nocam/depth``
but no camera_info. This process publishes the inputs and records the outputs.
"""

import time

import numpy as np
import pytest
from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray
from ros_helpers import (
    TIMEOUT,
    Harness,
    NodeProcess,
    camera_info,
    depth_message,
    image_msg,
    pixels,
    raw_pixels,
    wait_for,
)
from sensor_msgs.msg import Image, PointCloud2
from sensor_msgs_py import point_cloud2
from vision_msgs.msg import Detection3DArray
from visualization_msgs.msg import Marker, MarkerArray

from sspanoptic_ros.data.depth_files import depth_mm
from sspanoptic_ros.data.synthetic import SYNTHETIC_CATEGORIES
from sspanoptic_ros.data.synthetic_depth import render_rgbd
from sspanoptic_ros.visualization import color_lut, colorize_panoptic

pytestmark = pytest.mark.ros  # runs on Kilted and Jazzy (setup.cfg)

SIZE = (256, 384)  # the demo model's training size
OUTPUTS_3D = {"points": PointCloud2, "detections_3d": Detection3DArray, "markers": MarkerArray}
DEPTH_RANGE = (0.1, 20.0)  # the node's default depth_min, depth_max


@pytest.fixture(scope="module")
def harness(ros_context):
    harness = Harness(ros_context, reliable_topics=(
        "rgbd/image", "rgbd/depth", "rgbd/camera_info", "nocam/image", "nocam/depth"))
    harness.subscribe("/diagnostics", DiagnosticArray)
    for camera in ("rgbd", "nocam"):
        harness.subscribe(f"{camera}/panoptic/panoptic", Image)
        for name, msg_type in OUTPUTS_3D.items():
            harness.subscribe(f"{camera}/panoptic/{name}", msg_type)
    yield harness
    harness.close()


@pytest.fixture(scope="module")
def node(harness, tmp_path_factory):
    node = NodeProcess(
        tmp_path_factory.mktemp("node_3d") / "node.log",
        "-p", "backend:=torch", "-p", "device:=cpu",
        "-p", "input_topics:=['rgbd/image', 'nocam/image']",
        "-p", "depth_topics:=['rgbd/depth', 'nocam/depth']",
        "-p", "input_reliability:=reliable",
    )
    yield node
    node.stop()


@pytest.fixture(scope="module")
def frame():
    return render_rgbd(4, *SIZE)


def with_stamp(harness, topic: str, stamp: Time):
    for msg, _ in harness.received(topic):
        header = msg.markers[0].header if isinstance(msg, MarkerArray) else msg.header
        if header.stamp == stamp:
            return msg
    return None


def send(harness, node, camera: str, rgb: np.ndarray, depth: Image | None, stamp: Time,
         expect: tuple[str, ...] = ("panoptic",), resend: bool = False) -> dict:
    """Publish depth (stamped as given) and the image at ``stamp``; return the outputs ``expect``s.

    With ``resend``, the frame goes out again each second until they come (discovery).
    """
    image = image_msg(raw_pixels(rgb, "rgb8"), rgb.shape[1], "rgb8", stamp)
    image.header.frame_id = "camera_optical"
    deadline = time.monotonic() + TIMEOUT
    while True:
        if depth is not None:
            harness.publish(f"{camera}/depth", depth)
        harness.publish(f"{camera}/image", image)
        retry = time.monotonic() + (1.0 if resend else TIMEOUT)
        while time.monotonic() < min(retry, deadline):
            found = {n: with_stamp(harness, f"{camera}/panoptic/{n}", stamp) for n in expect}
            if all(found.values()):
                return found
            time.sleep(0.02)
        node.check_alive()
        assert time.monotonic() < deadline, f"no {expect} on {camera}/panoptic for stamp {stamp}"


def depth_counts(harness, topic: str, after: float) -> dict:
    values = wait_for(lambda: harness.diagnostics(topic, after), f"diagnostics of {topic}")
    return {k: int(values[f"depth frames {k}"]) for k in ("paired", "unpaired", "refused")}


def ready(harness, node, frame) -> None:
    """Send camera_info and one RGB-D frame until its 3D outputs come back."""
    harness.publish("rgbd/camera_info", camera_info(frame.k, SIZE, harness.next_stamp()))
    stamp = harness.next_stamp()
    send(harness, node, "rgbd", frame.rgb, depth_message(frame.depth, "32FC1", stamp), stamp,
         tuple(OUTPUTS_3D), resend=True)


@pytest.mark.parametrize("encoding", ["32FC1", "16UC1"])
def test_every_point_projects_onto_its_pixel_depth_and_panoptic_label(harness, node, frame, encoding):
    ready(harness, node, frame)
    stamp = harness.next_stamp()
    depth = depth_message(frame.depth, encoding, stamp)
    out = send(harness, node, "rgbd", frame.rgb, depth, stamp, ("panoptic", "points"))
    cloud, panoptic = out["points"], pixels(out["panoptic"], "<i4")
    assert cloud.header.frame_id == "camera_optical"
    assert [f.name for f in cloud.fields] == ["x", "y", "z", "rgb", "label"]
    points = point_cloud2.read_points(cloud, field_names=("x", "y", "z", "label"))
    metres = depth_mm(frame.depth) / 1000.0 if encoding == "16UC1" else frame.depth
    valid = (metres >= DEPTH_RANGE[0]) & (metres <= DEPTH_RANGE[1])
    assert len(points) == np.count_nonzero(valid) > 0.5 * metres.size
    fx, fy, cx, cy = frame.k
    x, y, z = (points[a].astype(np.float64) for a in "xyz")
    u, v = np.rint(fx * x / z + cx).astype(int), np.rint(fy * y / z + cy).astype(int)
    assert (u >= 0).all() and (u < SIZE[1]).all() and (v >= 0).all() and (v < SIZE[0]).all()
    np.testing.assert_allclose(z, metres[v, u], atol=1e-4)
    np.testing.assert_allclose(x, (u - cx) * metres[v, u] / fx, atol=1e-4)
    np.testing.assert_allclose(y, (v - cy) * metres[v, u] / fy, atol=1e-4)
    assert len(set(zip(u.tolist(), v.tolist()))) == len(points)  # one point per pixel
    np.testing.assert_array_equal(points["label"], panoptic[v, u])


def test_things_at_known_distances_get_3d_detections_and_markers(harness, node, frame):
    ready(harness, node, frame)
    stamp = harness.next_stamp()
    out = send(harness, node, "rgbd", frame.rgb, depth_message(frame.depth, "32FC1", stamp), stamp,
               ("panoptic", *OUTPUTS_3D))
    panoptic = pixels(out["panoptic"], "<i4")
    detections = out["detections_3d"].detections
    assert detections and all(d.header == out["panoptic"].header for d in detections)
    matched = 0
    for thing_id, centre in frame.centres.items():
        truth = frame.ids == thing_id
        ious = [np.count_nonzero((panoptic == int(d.id)) & truth)
                / np.count_nonzero((panoptic == int(d.id)) | truth) for d in detections]
        if max(ious) < 0.9:  # a thing the model segments well enough to judge its 3D centre
            continue
        position = detections[int(np.argmax(ious))].bbox.center.position
        assert np.linalg.norm(np.subtract((position.x, position.y, position.z), centre)) < 0.02
        matched += 1
    assert matched >= 2, "the demo model no longer segments the things of this scene well"

    names = {c.id: c.name for c in SYNTHETIC_CATEGORIES}
    markers = out["markers"].markers
    assert markers[0].action == Marker.DELETEALL and len(markers) == 1 + 2 * len(detections)
    for detection, cube, text in zip(detections, markers[1::2], markers[2::2]):
        assert (cube.type, text.type) == (Marker.CUBE, Marker.TEXT_VIEW_FACING)
        assert cube.pose.position == detection.bbox.center.position
        assert (cube.scale.x, cube.scale.y, cube.scale.z) == pytest.approx(
            (detection.bbox.size.x, detection.bbox.size.y, detection.bbox.size.z), abs=1e-3)
        class_id = int(detection.results[0].hypothesis.class_id)
        assert text.text == f"{names[class_id]} {detection.id}"
        assert int(detection.id) // 1000 == class_id
        colour = colorize_panoptic(np.array([[class_id]]), np.array([[int(detection.id) % 1000]]),
                                   color_lut(SYNTHETIC_CATEGORIES))[0, 0] / 255
        for marker in (cube, text):
            assert (marker.color.r, marker.color.g, marker.color.b) == pytest.approx(colour)


def test_depth_outside_the_slop_gives_no_3d_output_and_is_counted(harness, node, frame):
    ready(harness, node, frame)
    before = depth_counts(harness, "/rgbd/image", time.time())
    late = harness.next_stamp()
    stamp = harness.next_stamp()
    depth = depth_message(frame.depth, "32FC1", Time(sec=late.sec, nanosec=late.nanosec))
    depth.header.stamp.sec -= 1  # one second before its image: far outside depth_slop 0.02
    send(harness, node, "rgbd", frame.rgb, depth, stamp)
    good = harness.next_stamp()
    send(harness, node, "rgbd", frame.rgb, depth_message(frame.depth, "32FC1", good), good,
         tuple(OUTPUTS_3D))  # one worker: the first frame's 3D outputs would have come first
    assert all(with_stamp(harness, f"rgbd/panoptic/{n}", stamp) is None for n in OUTPUTS_3D)
    wait_for(lambda: depth_counts(harness, "/rgbd/image", time.time())["unpaired"]
             >= before["unpaired"] + 1, "the unpaired image counted")
    node.check_alive()


def bad_depths(stamp: Time, frame) -> dict[str, Image]:
    height, width = SIZE
    good = depth_message(frame.depth, "32FC1", stamp)

    def changed(**fields) -> Image:
        msg = depth_message(frame.depth, "32FC1", stamp)
        for key, value in fields.items():
            setattr(msg, key, value)
        return msg

    nan = np.full(SIZE, np.nan, np.float32)
    nan[::2] = np.inf
    return {
        "rgb8": changed(encoding="rgb8"),
        "mono16": changed(encoding="mono16"),
        "unregistered size": depth_message(frame.depth[:, :300], "32FC1", stamp),
        "step lies": changed(step=good.step + 8),
        "short data": changed(data=bytes(good.data)[: len(good.data) // 2]),
        "huge claimed size": changed(height=100000, width=100000, step=400000),
        "NaN and inf only": depth_message(nan, "32FC1", stamp),
        "empty": changed(height=0, width=0, step=0, data=b""),
    }


def test_bad_depth_never_stops_the_2d_outputs_and_is_counted(harness, node, frame):
    ready(harness, node, frame)
    before = depth_counts(harness, "/rgbd/image", time.time())
    stamps = [harness.next_stamp()]  # without camera_info: refused as well
    send(harness, node, "nocam", frame.rgb, depth_message(frame.depth, "32FC1", stamps[0]), stamps[0],
         resend=True)
    cases = bad_depths(Time(), frame)
    for case in cases:  # each frame's 2D outputs come (send waits for them)
        stamps.append(harness.next_stamp())
        send(harness, node, "rgbd", frame.rgb, bad_depths(stamps[-1], frame)[case], stamps[-1])
    good = harness.next_stamp()
    send(harness, node, "rgbd", frame.rgb, depth_message(frame.depth, "32FC1", good), good,
         tuple(OUTPUTS_3D))  # one worker: 3D outputs of the bad frames would have come first
    for camera in ("rgbd", "nocam"):
        for name in OUTPUTS_3D:
            assert not any(with_stamp(harness, f"{camera}/panoptic/{name}", s) for s in stamps)
    after = wait_for(lambda: (c := depth_counts(harness, "/rgbd/image", time.time()))["refused"]
                     >= before["refused"] + len(cases) and c, "the refused depth frames counted")
    assert after["refused"] - before["refused"] == len(cases), (after, before)
    assert after["paired"] - before["paired"] == len(cases) + 1  # paired by stamp, then refused
    assert depth_counts(harness, "/nocam/image", time.time())["refused"] >= 1
    log = node.log_text()
    assert "Traceback" not in log
    refusals = [line for line in log.splitlines() if "no 3D outputs: depth on" in line]
    assert refusals and "refused: no camera_info received yet" in refusals[0]  # logs throttled
    node.check_alive()
