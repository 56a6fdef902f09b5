# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Camera bags: written with rosbags, read back with rosbags, decoded with the node's codec."""

from collections import defaultdict

import cv2
import numpy as np
import pytest
from rclpy.serialization import deserialize_message
from rosbags.rosbag2 import Reader
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from sspanoptic_ros.bench.bag_cli import main
from sspanoptic_ros.bench.bag_writer import (
    ENCODINGS,
    TYPESTORE,
    folder_frames,
    synthetic_frames,
    synthetic_rgbd_frames,
    write_bag,
)
from sspanoptic_ros.bench.player import load_bag
from sspanoptic_ros.data.video import video_frames, video_rate
from sspanoptic_ros.ros.depth_input import depth_to_metres
from sspanoptic_ros.ros.image_codec import compressed_to_rgb, image_to_rgb

pytestmark = pytest.mark.ros  # runs on Kilted and Jazzy (setup.cfg)

START_NS = 1_700_000_000_123_456_789
# Frame i at 30 Hz: START_NS + round(i * 1e9 / 30).
STAMPS_30HZ = [START_NS, START_NS + 33_333_333, START_NS + 66_666_667]
# Largest error per channel allowed after the lossy encodings: UYVY rounds Y, U and V to
# integers and shares U and V between two pixels (neighbours differ by 4 in red here); JPEG at
# quality 90 on a smooth image.
YUV_MAX_ERROR = 4
JPEG_MEAN_ERROR, JPEG_MAX_ERROR = 2.0, 12


def smooth_frame(i: int, height: int = 32, width: int = 48) -> np.ndarray:
    """Return a smooth RGB test frame: red ramps along x, green along y, blue is 100 + 30 i."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 4 + 10 * i, y * 6, np.full_like(x, 100 + 30 * i)], -1).astype(np.uint8)


def read_back(path):
    """Return (topic, msgtype, [(bag time, raw CDR bytes)]) of a bag's only connection."""
    with Reader(path) as reader:
        (connection,) = reader.connections
        messages = [(t, bytes(raw)) for _, t, raw in reader.messages()]
    return connection.topic, connection.msgtype, messages


def assert_decodes_to(raw: bytes, encoding: str, frame: np.ndarray) -> None:
    if encoding == "compressed":
        rgb = compressed_to_rgb(deserialize_message(raw, CompressedImage))
        error = np.abs(rgb.astype(int) - frame)
        assert error.mean() <= JPEG_MEAN_ERROR and error.max() <= JPEG_MAX_ERROR
        return
    msg = deserialize_message(raw, Image)
    assert (msg.encoding, msg.height, msg.width) == (encoding, *frame.shape[:2])
    rgb = image_to_rgb(msg)
    if encoding == "yuv422":
        assert np.abs(rgb.astype(int) - frame).max() <= YUV_MAX_ERROR
    else:
        np.testing.assert_array_equal(rgb, frame)


@pytest.mark.parametrize("storage", ["sqlite3", "mcap"])
@pytest.mark.parametrize("encoding", ENCODINGS)
def test_round_trip(tmp_path, storage, encoding):
    frames = [smooth_frame(i) for i in range(3)]
    path = tmp_path / "bag"
    count = write_bag(path, iter(frames), 30.0, encoding, "/cam/image", "cam_optical", storage, START_NS)
    assert count == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bag"]  # no scratch folder left
    topic, msgtype, messages = read_back(path)
    if encoding == "compressed":
        assert (topic, msgtype) == ("/cam/image/compressed", "sensor_msgs/msg/CompressedImage")
    else:
        assert (topic, msgtype) == ("/cam/image", "sensor_msgs/msg/Image")
    assert [t for t, _ in messages] == STAMPS_30HZ  # bag time = header stamp
    for (t, raw), frame in zip(messages, frames):
        header = TYPESTORE.deserialize_cdr(raw, msgtype).header
        assert (header.stamp.sec * 10**9 + header.stamp.nanosec, header.frame_id) == (t, "cam_optical")
        assert_decodes_to(raw, encoding, frame)


def test_load_bag_holds_every_frame_as_rclpy_messages(tmp_path):
    frames = [smooth_frame(i) for i in range(3)]
    write_bag(tmp_path / "bag", frames, 30.0, "bgr8", "/cam/image", start_ns=START_NS, storage="mcap")
    loaded = load_bag(tmp_path / "bag")
    assert (loaded.topic, loaded.msg_type, loaded.compressed) == ("/cam/image", Image, False)
    assert loaded.stamps_ns == STAMPS_30HZ
    for msg, frame in zip(loaded.messages, frames):
        np.testing.assert_array_equal(image_to_rgb(msg), frame)
    with pytest.raises(ValueError, match="no Image or CompressedImage topic '/other'"):
        load_bag(tmp_path / "bag", "/other")


def test_bad_input_is_refused_and_leaves_nothing_behind(tmp_path):
    frame = smooth_frame(0)
    with pytest.raises(ValueError, match="width must be even"):
        write_bag(tmp_path / "odd", [frame[:, :47]], 10.0, "yuv422")
    with pytest.raises(ValueError, match=r"frame 1 has shape \(16, 48, 3\)"):
        write_bag(tmp_path / "sizes", [frame, frame[:16]], 10.0)
    with pytest.raises(ValueError, match="no frames"):
        write_bag(tmp_path / "empty", [], 10.0)
    with pytest.raises(ValueError, match="unknown encoding 'rgba8'"):
        write_bag(tmp_path / "enc", [frame], 10.0, "rgba8")
    with pytest.raises(ValueError, match="unknown storage 'rosbag1'"):
        write_bag(tmp_path / "storage", [frame], 10.0, storage="rosbag1")
    with pytest.raises(ValueError, match="absolute name"):
        write_bag(tmp_path / "topic", [frame], 10.0, topic="camera/image")
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        write_bag(tmp_path / "gray", [frame[..., 0]], 10.0)
    assert list(tmp_path.iterdir()) == []
    write_bag(tmp_path / "bag", [frame], 10.0)
    with pytest.raises(FileExistsError, match="exists already"):
        write_bag(tmp_path / "bag", [frame], 10.0)


def test_folder_frames_in_name_order(tmp_path):
    frames = [smooth_frame(i) for i in range(3)]
    for name, frame in zip(["b.png", "c.png", "a.png"], frames):
        cv2.imwrite(str(tmp_path / name), frame[..., ::-1])
    (tmp_path / "notes.txt").write_text("not an image")
    read = list(folder_frames(tmp_path))
    for got, want in zip(read, [frames[2], frames[0], frames[1]]):
        np.testing.assert_array_equal(got, want)
    assert len(read) == 3
    with pytest.raises(FileNotFoundError, match="image folder not found"):
        next(folder_frames(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no images"):
        next(folder_frames(tmp_path / "empty"))


def test_video_frames_and_rate(tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 12.0, (48, 32))
    frames = [smooth_frame(i) for i in range(4)]
    for frame in frames:
        writer.write(frame[..., ::-1].copy())
    writer.release()
    assert video_rate(path) == pytest.approx(12.0)
    read = list(video_frames(path))
    assert len(read) == 4
    for got, want in zip(read, frames):
        assert got.shape == want.shape
        assert np.abs(got.astype(int) - want).mean() <= JPEG_MEAN_ERROR + 1  # MJPG: JPEG frames
    with pytest.raises(FileNotFoundError, match="video file not found"):
        video_rate(tmp_path / "missing.mp4")


def test_create_command_synthetic_compressed_mcap(tmp_path):
    path = tmp_path / "synthetic"
    main(["create", str(path), "--synthetic", "3", "--size", "32", "48", "--encoding", "compressed",
          "--storage", "mcap", "--rate", "4", "--start", "100.5", "--topic", "/front/image"])
    loaded = load_bag(path)
    assert (loaded.topic, loaded.msg_type) == ("/front/image/compressed", CompressedImage)
    assert loaded.stamps_ns == [100_500_000_000, 100_750_000_000, 101_000_000_000]
    for msg, frame in zip(loaded.messages, synthetic_frames(3, (32, 48), 0)):
        assert msg.header.frame_id == "camera"
        # Textured synthetic frames lose more to JPEG than the smooth ones.
        assert np.abs(compressed_to_rgb(msg).astype(int) - frame).mean() <= 3 * JPEG_MEAN_ERROR


def test_create_command_with_photos_of_two_sizes_resizes_or_says_how(coco_sample, tmp_path, capsys):
    photos = coco_sample / "images"  # 427 x 640 and 360 x 640
    with pytest.raises(SystemExit) as exit_info:
        main(["create", str(tmp_path / "mixed"), "--images", str(photos)])
    error = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and len(error.splitlines()) == 1, error
    assert error == ("sspanoptic-bench bag create: frame 1 has shape (360, 640, 3), the first one "
                     "(427, 640, 3); a bag holds frames of one size: give --size H W to resize them")
    main(["create", str(tmp_path / "resized"), "--images", str(photos), "--size", "240", "320"])
    loaded = load_bag(tmp_path / "resized")
    assert [(m.height, m.width) for m in loaded.messages] == [(240, 320), (240, 320)]


def test_create_command_synthetic_rgbd_writes_depth_and_camera_info_with_the_image_stamps(
    tmp_path, capsys
):
    path = tmp_path / "rgbd"
    main(["create", str(path), "--synthetic", "3", "--size", "48", "64", "--depth", "--rate", "5",
          "--start", "100", "--topic", "/front/color/image_raw"])
    assert "with depth and camera_info" in capsys.readouterr().out
    types = {"/front/color/image_raw": Image, "/front/color/depth": Image,
             "/front/color/camera_info": CameraInfo}
    with Reader(path) as reader:
        assert {c.topic for c in reader.connections} == set(types)
        messages = defaultdict(list)
        for connection, _, raw in reader.messages():
            messages[connection.topic].append(deserialize_message(bytes(raw), types[connection.topic]))
    frames = list(synthetic_rgbd_frames(3, (48, 64), 0))
    for i, frame in enumerate(frames):
        image, depth, info = (messages[topic][i] for topic in types)
        assert image.header == depth.header == info.header
        assert image.header.stamp.sec * 10**9 + image.header.stamp.nanosec == 100 * 10**9 + i * 200_000_000
        np.testing.assert_array_equal(image_to_rgb(image), frame.rgb)
        assert depth.encoding == "16UC1"
        metres = depth_to_metres(depth)
        np.testing.assert_allclose(metres, frame.depth, atol=5e-4)  # millimetres
        assert ((metres == 0) == (frame.depth == 0)).all()  # no return stays no return
        fx, fy, cx, cy = frame.k
        assert (info.height, info.width) == (48, 64)
        assert list(info.k) == [fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0]
    assert load_bag(path).topic == "/front/color/image_raw"  # the camera, not its depth
    with pytest.raises(SystemExit) as exit_info:
        main(["create", str(tmp_path / "photos"), "--images", str(tmp_path), "--depth"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip() == (
        "sspanoptic-bench bag create: --depth needs --synthetic: only the synthetic world has depth")
