# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Conversions between ``sensor_msgs`` images and numpy arrays, without cv_bridge.

Decoding always yields RGB ``(H, W, 3) uint8``. Only ``rgb8`` is zero-copy: it comes back as a
read-only view of ``msg.data`` (rclpy stores ``data`` as ``array.array('B')``, which numpy can
view), also when rows are padded (``step`` > 3 * width). Every other encoding costs exactly one
conversion into a new array. Image sizes are checked against ``max_pixels`` before anything
proportional to the image size is allocated or decoded.
"""

from __future__ import annotations

import array as pyarray
import copy
import struct

import cv2
import numpy as np
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header


class ImageDecodeError(ValueError):
    """An image message that cannot be converted to RGB; the message names the problem."""


# encoding -> (bytes per pixel, cv2 conversion to RGB; None: the bytes already are RGB).
# ROS "yuv422" is UYVY and "yuv422_yuy2" is YUYV ("uyvy" / "yuyv" are their newer names).
# OpenCV names a Bayer pattern after the pixels (1, 1) and (1, 2), ROS after (0, 0) and
# (0, 1); so ROS bayer_rggb8 is OpenCV BayerBG, as in cv_bridge.
_DECODINGS = {
    "rgb8": (3, None),
    "bgr8": (3, cv2.COLOR_BGR2RGB),
    "rgba8": (4, cv2.COLOR_RGBA2RGB),
    "bgra8": (4, cv2.COLOR_BGRA2RGB),
    "mono8": (1, cv2.COLOR_GRAY2RGB),
    "yuv422": (2, cv2.COLOR_YUV2RGB_UYVY),
    "uyvy": (2, cv2.COLOR_YUV2RGB_UYVY),
    "yuv422_yuy2": (2, cv2.COLOR_YUV2RGB_YUYV),
    "yuyv": (2, cv2.COLOR_YUV2RGB_YUYV),
    "bayer_rggb8": (1, cv2.COLOR_BayerBG2RGB),
    "bayer_bggr8": (1, cv2.COLOR_BayerRG2RGB),
    "bayer_gbrg8": (1, cv2.COLOR_BayerGR2RGB),
    "bayer_grbg8": (1, cv2.COLOR_BayerGB2RGB),
}

# encoding -> (little-endian dtype of the array, channels).
_ENCODINGS = {
    "mono8": (np.dtype("u1"), 1),
    "mono16": (np.dtype("<u2"), 1),
    "32SC1": (np.dtype("<i4"), 1),
    "rgb8": (np.dtype("u1"), 3),
    "16UC1": (np.dtype("<u2"), 1),  # depth in millimetres
    "32FC1": (np.dtype("<f4"), 1),  # depth in metres
}

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers SOF0..SOF15, less DHT (C4), JPG (C8) and DAC (CC).
_JPEG_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _check_max_pixels(
    width: int, height: int, max_pixels: int | None, error: type[ValueError] = ImageDecodeError
) -> None:
    pixels = width * height
    if max_pixels is not None and pixels > max_pixels:
        raise error(f"image of {width}x{height} = {pixels} pixels exceeds max_image_pixels = {max_pixels}")


def image_rows(
    msg: Image,
    bytes_per_pixel: int,
    max_pixels: int | None = None,
    what: str = "image",
    error: type[ValueError] = ImageDecodeError,
) -> np.ndarray:
    """Return the ``(H, step) uint8`` rows of ``msg`` once its layout is checked.

    Before anything the size of the image is allocated: not empty, at most ``max_pixels``,
    ``step`` at least ``width * bytes_per_pixel`` and at least ``height * step`` bytes of data.
    Raises ``error`` naming the problem (``what`` names the image in it).
    """
    height, width, step = msg.height, msg.width, msg.step
    if height == 0 or width == 0:
        raise error(f"empty {what}: width {width}, height {height}")
    _check_max_pixels(width, height, max_pixels, error)
    row_bytes = width * bytes_per_pixel
    if step < row_bytes:
        raise error(
            f"step {step} is smaller than width * bytes per pixel = {width} * {bytes_per_pixel}"
            f" = {row_bytes} for {msg.encoding}"
        )
    if len(msg.data) < height * step:
        raise error(
            f"{what} data has {len(msg.data)} bytes, fewer than height * step = {height} * {step}"
            f" = {height * step}"
        )
    return np.frombuffer(msg.data, np.uint8, count=height * step).reshape(height, step)


def image_to_rgb(msg: Image, max_pixels: int | None = None) -> np.ndarray:
    """Return the RGB ``(H, W, 3) uint8`` pixels of a ``sensor_msgs/Image``.

    Supports rgb8 (returned as a read-only view of ``msg.data``), bgr8, rgba8, bgra8, mono8,
    yuv422 (UYVY), yuv422_yuy2 (YUYV) and the four 8-bit Bayer patterns (bilinear demosaicing).
    Raises ImageDecodeError naming the problem for anything it cannot convert.
    """
    if msg.encoding not in _DECODINGS:
        raise ImageDecodeError(
            f"unsupported image encoding {msg.encoding!r}; supported: {', '.join(_DECODINGS)}"
        )
    bytes_per_pixel, conversion = _DECODINGS[msg.encoding]
    rows = image_rows(msg, bytes_per_pixel, max_pixels)
    height, width = msg.height, msg.width
    if bytes_per_pixel == 2 and width % 2:
        raise ImageDecodeError(
            f"{msg.encoding} packs two pixels into four bytes, so the width must be even,"
            f" got {width}"
        )
    pixels = rows[:, :width * bytes_per_pixel].reshape(height, width, bytes_per_pixel)
    if conversion is None:
        pixels.flags.writeable = False  # a view of the message: never modify it in place
        return pixels
    return cv2.cvtColor(pixels, conversion)


def _compressed_size(data: memoryview, fmt: str) -> tuple[int, int]:
    """Return (width, height) from a PNG IHDR chunk or a JPEG start-of-frame segment."""
    if data[:8] == _PNG_SIGNATURE:
        if len(data) < 24 or data[12:16] != b"IHDR":
            raise ImageDecodeError(
                f"PNG data of {len(data)} bytes (format {fmt!r}) is truncated or corrupt:"
                " no IHDR header"
            )
        return struct.unpack_from(">II", data, 16)
    if data[:2] == b"\xff\xd8":
        pos = 2
        while pos + 9 <= len(data) and data[pos] == 0xFF:
            marker = data[pos + 1]
            if marker in _JPEG_SOF_MARKERS:
                height, width = struct.unpack_from(">HH", data, pos + 5)
                return width, height
            if marker == 0xFF:  # fill byte before a marker
                pos += 1
            else:
                pos += 2 + struct.unpack_from(">H", data, pos + 2)[0]
        raise ImageDecodeError(
            f"JPEG data of {len(data)} bytes (format {fmt!r}) is truncated or corrupt:"
            " no start-of-frame header"
        )
    raise ImageDecodeError(
        f"compressed data of {len(data)} bytes (format {fmt!r}) is neither PNG nor JPEG;"
        " supported: jpeg, png"
    )


def compressed_to_rgb(msg: CompressedImage, max_pixels: int | None = None) -> np.ndarray:
    """Return the RGB ``(H, W, 3) uint8`` pixels of a JPEG or PNG ``sensor_msgs/CompressedImage``.

    The codec is recognised from the data itself, so every image_transport ``format`` string
    ("jpeg", "png", "rgb8; jpeg compressed bgr8", ...) works. The width and height are read
    from the PNG or JPEG header and checked against ``max_pixels`` before decoding.
    """
    data = memoryview(msg.data).cast("B")
    width, height = _compressed_size(data, msg.format)
    _check_max_pixels(width, height, max_pixels)
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ImageDecodeError(
            f"cannot decode the {len(data)} bytes of compressed data (format {msg.format!r}):"
            " corrupt or truncated"
        )
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB, dst=bgr)


def message_to_rgb(msg: Image | CompressedImage, max_pixels: int | None = None) -> np.ndarray:
    """Return the RGB ``(H, W, 3) uint8`` pixels of an Image or a CompressedImage message.

    Dispatches to :func:`compressed_to_rgb` or :func:`image_to_rgb` (see them for what each
    supports and raises).
    """
    if isinstance(msg, CompressedImage):
        return compressed_to_rgb(msg, max_pixels)
    return image_to_rgb(msg, max_pixels)


def stamp_ns(stamp) -> int:
    """Return a ``builtin_interfaces/Time`` (a header's stamp) as integer nanoseconds."""
    return stamp.sec * 10**9 + stamp.nanosec


def numpy_to_image(array: np.ndarray, encoding: str, header: Header) -> Image:
    """Return a ``sensor_msgs/Image`` holding ``array`` with a copy of ``header``.

    Encodings: mono8 (uint8 HxW), mono16 (uint16 HxW), 32SC1 (int32 HxW), rgb8 (uint8 HxWx3),
    and the depth encodings 16UC1 (uint16 HxW) and 32FC1 (float32 HxW).
    The data is always written little-endian (``is_bigendian`` = 0), whatever the host.
    """
    if encoding not in _ENCODINGS:
        raise ValueError(f"cannot encode {encoding!r}; supported: {', '.join(_ENCODINGS)}")
    dtype, channels = _ENCODINGS[encoding]
    shape = "HxW" if channels == 1 else f"HxWx{channels}"
    array = np.asarray(array)
    if array.dtype.kind != dtype.kind or array.dtype.itemsize != dtype.itemsize:
        raise ValueError(f"{encoding} needs an array of {dtype.name}, got {array.dtype}")
    expected_ndim = 2 if channels == 1 else 3
    if array.ndim != expected_ndim or (channels > 1 and array.shape[2] != channels):
        raise ValueError(f"{encoding} needs an {shape} array, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"cannot encode an empty {encoding} image of shape {array.shape}")
    # Converts big-endian input (or host) to little-endian; no copy when nothing changes.
    data = np.ascontiguousarray(array, dtype=dtype)
    # Measured for a 1920x1080 rgb8 frame on a 2-core AMD EPYC (rclpy, ROS 2 Kilted):
    # array('B').frombytes(ndarray) 0.5 ms (one copy), array('B', ndarray.tobytes()) 6.3 ms,
    # msg.data = bytes 0.6 ms but 540 ms when ROS_PYTHON_CHECK_FIELDS=1 (checks every byte),
    # Image(data=...) copies once more. An array.array('B') is stored as is by the setter.
    buffer = pyarray.array("B")
    buffer.frombytes(data.view(np.uint8))
    msg = Image(
        header=copy.deepcopy(header),
        height=data.shape[0],
        width=data.shape[1],
        encoding=encoding,
        is_bigendian=0,
        step=data.strides[0],
    )
    msg.data = buffer
    return msg



def compress_image(msg: Image, jpeg_quality: int = 90) -> CompressedImage:
    """Return ``msg`` as a ``sensor_msgs/CompressedImage`` with a copy of its header.

    rgb8 becomes JPEG of ``jpeg_quality`` (1..100); mono8 and mono16 become lossless PNG. The
    ``format`` is the string compressed_image_transport writes, so that its subscribers and
    republishers decode it: "rgb8; jpeg compressed bgr8", "mono16; png compressed ".
    """
    if msg.encoding not in ("rgb8", "mono8", "mono16"):
        raise ValueError(f"cannot compress {msg.encoding!r}; supported: rgb8 (JPEG), mono8, mono16 (PNG)")
    dtype, channels = _ENCODINGS[msg.encoding]
    row_bytes = msg.width * channels * dtype.itemsize
    rows = np.frombuffer(msg.data, np.uint8).reshape(msg.height, msg.step)[:, :row_bytes]
    pixels = rows.view(dtype).reshape(msg.height, msg.width, channels)
    if msg.encoding == "rgb8":
        if not 1 <= jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality must be in 1..100, got {jpeg_quality}")
        extension, fmt = ".jpg", "rgb8; jpeg compressed bgr8"
        params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)]
        pixels = cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)
    else:
        extension, fmt = ".png", f"{msg.encoding}; png compressed "
        params = [cv2.IMWRITE_PNG_COMPRESSION, 1]
        pixels = pixels[:, :, 0].astype(dtype.newbyteorder("="))
    ok, data = cv2.imencode(extension, pixels, params)
    if not ok:
        raise ValueError(f"cv2 could not encode a {msg.encoding} image of {msg.width} x {msg.height}")
    compressed = CompressedImage(header=copy.deepcopy(msg.header), format=fmt)
    compressed.data = pyarray.array("B", data.tobytes())
    return compressed
