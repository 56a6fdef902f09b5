# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Write camera streams into rosbag2 bags (sqlite3 or mcap) with the pure-Python ``rosbags``.

Frames come from a folder of images, a video file or the synthetic world's moving camera. Each
becomes a ``sensor_msgs/Image`` (rgb8, bgr8 or yuv422 = UYVY) or a JPEG
``sensor_msgs/CompressedImage`` stamped ``start + index / rate``; the bag's receive time equals
the header stamp. RGB-D frames (``synthetic_depth.RGBDFrame``) also give an aligned depth image
(16UC1 millimetres, as a RealSense's aligned_depth_to_color) on ``<camera>/depth`` and the
intrinsics on ``<camera>/camera_info``, with the colour image's stamp and frame_id: the inputs of
the node's 3D outputs. The bags play with ``ros2 bag play`` and (the images) with :mod:`.player`.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

from ..data.depth_files import depth_mm
from ..data.synthetic_depth import RGBDFrame, render_rgbd_sequence
from ..ros.topics import sibling_topic

ENCODINGS = ("rgb8", "bgr8", "yuv422", "compressed")
STORAGES = {"sqlite3": StoragePlugin.SQLITE3, "mcap": StoragePlugin.MCAP}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
IMAGE_TYPE = "sensor_msgs/msg/Image"
COMPRESSED_TYPE = "sensor_msgs/msg/CompressedImage"
CAMERA_INFO_TYPE = "sensor_msgs/msg/CameraInfo"
# What image_transport's compressed plugin writes for an rgb8 camera (data is always BGR JPEG).
JPEG_FORMAT = "rgb8; jpeg compressed bgr8"
TYPESTORE = get_typestore(Stores.ROS2_KILTED)
_RGB_CONVERSIONS = {"rgb8": None, "bgr8": cv2.COLOR_RGB2BGR, "yuv422": cv2.COLOR_RGB2YUV_UYVY}


def folder_frames(folder: str | Path) -> Iterator[np.ndarray]:
    """Yield the RGB images of a folder in file name order (png, jpg, bmp, tif, webp)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder not found: {folder}")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
    for file in files:
        bgr = cv2.imread(str(file), cv2.IMREAD_COLOR)
        if bgr is None:
            raise ValueError(f"cannot read image {file}")
        yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def synthetic_frames(
    num_frames: int, size: tuple[int, int] = (256, 384), seed: int = 0
) -> Iterator[np.ndarray]:
    """Yield the RGB frames of the synthetic world seen by a moving camera."""
    from ..data.synthetic import render_sequence

    for rgb, _, _ in render_sequence(num_frames, size, seed):
        yield rgb


def synthetic_rgbd_frames(
    num_frames: int, size: tuple[int, int] = (256, 384), seed: int = 0
) -> Iterator[RGBDFrame]:
    """Yield the RGB-D frames of the synthetic world seen by a moving camera."""
    return render_rgbd_sequence(num_frames, size, seed)


def image_topic(topic: str, encoding: str) -> str:
    """Return the bag topic of a camera topic: ``<topic>/compressed`` for JPEG, as image_transport."""
    return f"{topic}/compressed" if encoding == "compressed" else topic


def frame_stamp(start_ns: int, index: int, rate: float) -> int:
    """Return the stamp (ns) of frame ``index`` of a camera started at ``start_ns``, at ``rate`` Hz."""
    return start_ns + round(index * 1e9 / rate)


def bag_header(stamp_ns: int, frame_id: str) -> object:
    """Return a ``rosbags`` std_msgs/Header."""
    types = TYPESTORE.types
    stamp = types["builtin_interfaces/msg/Time"](sec=stamp_ns // 10**9, nanosec=stamp_ns % 10**9)
    return types["std_msgs/msg/Header"](stamp=stamp, frame_id=frame_id)


def encode_frame(
    rgb: np.ndarray, encoding: str, stamp_ns: int, frame_id: str, jpeg_quality: int = 90
) -> object:
    """Return a ``rosbags`` Image or CompressedImage message holding the RGB frame ``rgb``."""
    if encoding not in ENCODINGS:
        raise ValueError(f"unknown encoding {encoding!r}; expected one of {', '.join(ENCODINGS)}")
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"frames must be HxWx3 uint8 RGB arrays, got {rgb.dtype} {rgb.shape}")
    types = TYPESTORE.types
    header = bag_header(stamp_ns, frame_id)
    if encoding == "compressed":
        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
        if not ok:
            raise ValueError(f"JPEG encoding failed for a {rgb.shape} frame")
        return types[COMPRESSED_TYPE](header=header, format=JPEG_FORMAT, data=jpeg.ravel())
    if encoding == "yuv422" and rgb.shape[1] % 2:
        raise ValueError(f"yuv422 packs pixel pairs: the width must be even, got {rgb.shape[1]}")
    conversion = _RGB_CONVERSIONS[encoding]
    pixels = rgb if conversion is None else cv2.cvtColor(rgb, conversion)
    pixels = np.ascontiguousarray(pixels)
    height, width = rgb.shape[:2]
    return types[IMAGE_TYPE](
        header=header,
        height=height,
        width=width,
        encoding=encoding,
        is_bigendian=0,
        step=pixels.strides[0],
        data=pixels.reshape(-1),
    )


def encode_depth(depth: np.ndarray, stamp_ns: int, frame_id: str) -> object:
    """Return a ``rosbags`` 16UC1 Image of (H, W) ``depth`` in metres (millimetres, 0 = none)."""
    mm = depth_mm(depth).astype("<u2")
    return TYPESTORE.types[IMAGE_TYPE](
        header=bag_header(stamp_ns, frame_id), height=mm.shape[0], width=mm.shape[1],
        encoding="16UC1", is_bigendian=0, step=mm.strides[0], data=mm.reshape(-1).view(np.uint8),
    )


def encode_camera_info(
    k: tuple[float, float, float, float], height: int, width: int, stamp_ns: int, frame_id: str
) -> object:
    """Return a ``rosbags`` CameraInfo of an undistorted pinhole camera (fx, fy, cx, cy)."""
    fx, fy, cx, cy = k
    types = TYPESTORE.types
    return types[CAMERA_INFO_TYPE](
        header=bag_header(stamp_ns, frame_id), height=height, width=width,
        distortion_model="plumb_bob", d=np.zeros(5),
        k=np.array([fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0]),
        r=np.eye(3).reshape(-1), p=np.array([fx, 0.0, cx, 0.0, 0.0, fy, cy, 0.0, 0.0, 0.0, 1.0, 0.0]),
        binning_x=0, binning_y=0,
        roi=types["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0, width=0,
                                                     do_rectify=False),
    )


def write_bag(
    path: str | Path,
    frames: Iterable[np.ndarray | RGBDFrame],
    rate: float,
    encoding: str = "rgb8",
    topic: str = "/camera/image",
    frame_id: str = "camera",
    storage: str = "sqlite3",
    start_ns: int | None = None,
    jpeg_quality: int = 90,
) -> int:
    """Write ``frames`` (RGB uint8, all one size) into a new bag folder; return the frame count.

    Frame ``i`` is stamped ``start_ns + i / rate`` (``start_ns`` default: now). Compressed frames
    go to ``<topic>/compressed``; RGB-D frames also to ``<camera>/depth`` and
    ``<camera>/camera_info`` (``ros.topics.sibling_topic``, where the node looks). The bag is
    written next to ``path`` and moved into place only when complete, so an interrupted run
    never leaves a half-written bag behind.
    """
    path = Path(path)
    if storage not in STORAGES:
        raise ValueError(f"unknown storage {storage!r}; expected one of {', '.join(STORAGES)}")
    if encoding not in ENCODINGS:
        raise ValueError(f"unknown encoding {encoding!r}; expected one of {', '.join(ENCODINGS)}")
    if not rate > 0:
        raise ValueError(f"rate must be > 0 Hz, got {rate}")
    if not topic.startswith("/"):
        raise ValueError(f"topic must be an absolute name starting with '/', got {topic!r}")
    if path.exists():
        raise FileExistsError(f"{path} exists already; remove it or choose another path")
    start_ns = time.time_ns() if start_ns is None else start_ns
    # Written inside a scratch folder so that the storage file is named after the bag.
    scratch = path.with_name(f".{path.name}.partial")
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        count = _write_frames(scratch / path.name, frames, rate, encoding, topic, frame_id,
                              storage, start_ns, jpeg_quality)
        (scratch / path.name).rename(path)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return count


def _write_frames(
    path: Path,
    frames: Iterable[np.ndarray | RGBDFrame],
    rate: float,
    encoding: str,
    topic: str,
    frame_id: str,
    storage: str,
    start_ns: int,
    jpeg_quality: int,
) -> int:
    msgtype = COMPRESSED_TYPE if encoding == "compressed" else IMAGE_TYPE
    count, shape = 0, None
    with Writer(path, version=Writer.VERSION_LATEST, storage_plugin=STORAGES[storage]) as writer:
        connection = writer.add_connection(image_topic(topic, encoding), msgtype, typestore=TYPESTORE)
        depth_connections = None  # added with the first RGB-D frame
        for frame in frames:
            rgb = frame.rgb if isinstance(frame, RGBDFrame) else frame
            if shape is not None and rgb.shape != shape:
                raise ValueError(f"frame {count} has shape {rgb.shape}, the first one {shape}")
            shape = rgb.shape
            stamp = frame_stamp(start_ns, count, rate)
            msg = encode_frame(rgb, encoding, stamp, frame_id, jpeg_quality)
            writer.write(connection, stamp, TYPESTORE.serialize_cdr(msg, msgtype))
            if isinstance(frame, RGBDFrame):
                if depth_connections is None:
                    depth_connections = (
                        writer.add_connection(sibling_topic(topic, "depth"), IMAGE_TYPE, typestore=TYPESTORE),
                        writer.add_connection(sibling_topic(topic, "camera_info"), CAMERA_INFO_TYPE,
                                              typestore=TYPESTORE),
                    )
                depth = encode_depth(frame.depth, stamp, frame_id)
                info = encode_camera_info(frame.k, *rgb.shape[:2], stamp, frame_id)
                writer.write(depth_connections[0], stamp, TYPESTORE.serialize_cdr(depth, IMAGE_TYPE))
                writer.write(depth_connections[1], stamp, TYPESTORE.serialize_cdr(info, CAMERA_INFO_TYPE))
            count += 1
    if not count:
        raise ValueError("no frames to write")
    return count
