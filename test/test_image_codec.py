# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Image message conversions (sspanoptic_ros.ros.image_codec) and panoptic colourisation."""

import array
import struct

import cv2
import numpy as np
import pytest
from builtin_interfaces.msg import Time
from conftest import TINY_CATEGORIES
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

from sspanoptic_ros.categories import load_categories
from sspanoptic_ros.ros.image_codec import (
    ImageDecodeError,
    compress_image,
    compressed_to_rgb,
    image_to_rgb,
    message_to_rgb,
    numpy_to_image,
)
from sspanoptic_ros.visualization import INSTANCE_SHADES, color_lut, colorize_panoptic

pytestmark = pytest.mark.ros  # runs on Kilted and Jazzy (setup.cfg)


def synthetic_rgb() -> np.ndarray:
    """Return a 6x8 RGB image of fixed pseudo-random colours."""
    return np.random.default_rng(0).integers(0, 256, (6, 8, 3), dtype=np.uint8)


@pytest.fixture
def photo(coco_sample) -> np.ndarray:
    """Return the real 427x640 COCO photo, RGB."""
    bgr = cv2.imread(str(coco_sample / "images" / "000000142238.jpg"))
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@pytest.fixture(params=["synthetic", "photo"])
def rgb(request) -> np.ndarray:
    """Return a known RGB image: small synthetic, or the real COCO photo."""
    if request.param == "synthetic":
        return synthetic_rgb()
    return request.getfixturevalue("photo")


def make_image(pixels: np.ndarray, encoding: str, padding: int = 0) -> Image:
    """Build an Image whose rows are ``pixels`` rows followed by ``padding`` bytes of 0xAB."""
    height, width = pixels.shape[:2]
    rows = pixels.reshape(height, -1)
    padded = np.concatenate([rows, np.full((height, padding), 0xAB, np.uint8)], axis=1)
    msg = Image(height=height, width=width, encoding=encoding, step=padded.shape[1])
    msg.data = array.array("B", padded.tobytes())
    return msg


def with_alpha(pixels: np.ndarray) -> np.ndarray:
    alpha = (np.arange(pixels[..., 0].size) % 251).astype(np.uint8).reshape(pixels.shape[:2])
    return np.dstack([pixels, alpha])


RGB_FAMILY = {
    "rgb8": lambda rgb: rgb,
    "bgr8": lambda rgb: rgb[..., ::-1],
    "rgba8": with_alpha,
    "bgra8": lambda rgb: with_alpha(rgb[..., ::-1]),
}


# --- raw images -> RGB --------------------------------------------------------------------


@pytest.mark.parametrize("encoding", RGB_FAMILY)
def test_rgb_family_decodes_exactly(rgb, encoding):
    decoded = image_to_rgb(make_image(RGB_FAMILY[encoding](rgb), encoding))
    assert decoded.shape == rgb.shape and decoded.dtype == np.uint8
    np.testing.assert_array_equal(decoded, rgb)


def test_mono8_is_replicated_to_three_channels(rgb):
    gray = rgb[..., 1]
    decoded = image_to_rgb(make_image(gray, "mono8"))
    np.testing.assert_array_equal(decoded, np.dstack([gray, gray, gray]))


def test_rgb8_is_a_read_only_view_of_the_message_data():
    msg = make_image(synthetic_rgb(), "rgb8", padding=5)
    assert type(msg.data) is array.array and msg.data.typecode == "B"  # what rclpy stores
    decoded = image_to_rgb(msg)
    assert np.shares_memory(decoded, np.frombuffer(msg.data, np.uint8))
    assert not decoded.flags.writeable
    np.testing.assert_array_equal(decoded, synthetic_rgb())


def test_converted_encodings_return_new_writable_arrays():
    msg = make_image(synthetic_rgb()[..., ::-1], "bgr8")
    decoded = image_to_rgb(msg)
    assert not np.shares_memory(decoded, np.frombuffer(msg.data, np.uint8))
    assert decoded.flags.writeable


def rgb_to_ycbcr(rgb: np.ndarray) -> np.ndarray:
    """BT.601 limited-range Y, Cb, Cr (what OpenCV's YUV 4:2:2 decoders invert), rounded."""
    r, g, b = np.moveaxis(rgb.astype(np.float64) / 255.0, -1, 0)
    y = 16 + 65.481 * r + 128.553 * g + 24.966 * b
    cb = 128 - 37.797 * r - 74.203 * g + 112.0 * b
    cr = 128 + 112.0 * r - 93.786 * g - 18.214 * b
    return np.rint(np.stack([y, cb, cr], -1)).astype(np.uint8)


def pack_yuv422(rgb: np.ndarray, order: str) -> np.ndarray:
    """Pack an RGB image whose pixel pairs (2k, 2k+1) are equal as UYVY or YUYV bytes."""
    ycc = rgb_to_ycbcr(rgb)
    y0, y1 = ycc[:, 0::2, 0], ycc[:, 1::2, 0]
    u, v = ycc[:, 0::2, 1], ycc[:, 0::2, 2]
    quads = [u, y0, v, y1] if order == "uyvy" else [y0, u, y1, v]
    return np.stack(quads, -1).reshape(rgb.shape[0], rgb.shape[1], 2)


# Rounding Y, Cb, Cr to integers moves each by <= 0.5; the inverse BT.601 matrix turns that into
# at most 0.5 * (1.164 + 2.018) = 1.59 on blue (the worst channel), plus 0.5 for rounding RGB.
YUV_TOLERANCE = int(0.5 * (1.164 + 2.018) + 0.5)  # = 2 levels


@pytest.mark.parametrize(
    ("encoding", "order"),
    [("yuv422", "uyvy"), ("uyvy", "uyvy"), ("yuv422_yuy2", "yuyv"), ("yuyv", "yuyv")],
)
def test_yuv422_decodes_within_the_rounding_tolerance(rgb, encoding, order):
    pairs = np.repeat(rgb[:, 0::2], 2, axis=1)  # 4:2:2 keeps one chroma sample per pixel pair
    decoded = image_to_rgb(make_image(pack_yuv422(pairs, order), encoding))
    error = np.abs(decoded.astype(int) - pairs)
    assert error.max() <= YUV_TOLERANCE


def test_yuv422_byte_order_matters(rgb):
    pairs = np.repeat(rgb[:, 0::2], 2, axis=1)
    decoded = image_to_rgb(make_image(pack_yuv422(pairs, "uyvy"), "yuv422_yuy2"))
    assert np.abs(decoded.astype(int) - pairs).max() > 20


# ROS Bayer name -> RGB channel sampled at (row % 2, column % 2).
BAYER_CHANNELS = {
    "bayer_rggb8": ((0, 1), (1, 2)),
    "bayer_bggr8": ((2, 1), (1, 0)),
    "bayer_gbrg8": ((1, 2), (0, 1)),
    "bayer_grbg8": ((1, 0), (2, 1)),
}


def mosaic(rgb: np.ndarray, encoding: str) -> tuple[np.ndarray, np.ndarray]:
    """Return the Bayer mosaic of ``rgb`` and the channel each mosaic pixel samples."""
    rows, cols = np.indices(rgb.shape[:2])
    channel = np.array(BAYER_CHANNELS[encoding])[rows % 2, cols % 2]
    return np.take_along_axis(rgb, channel[..., None], 2)[..., 0], channel


@pytest.mark.parametrize("encoding", BAYER_CHANNELS)
def test_bayer_keeps_the_sampled_values(rgb, encoding):
    raw, channel = mosaic(rgb, encoding)
    decoded = image_to_rgb(make_image(raw, encoding))
    kept = np.take_along_axis(decoded, channel[..., None], 2)[..., 0]
    # OpenCV fills the one-pixel border by copying its neighbours; the interior is exact.
    np.testing.assert_array_equal(kept[1:-1, 1:-1], raw[1:-1, 1:-1])


@pytest.mark.parametrize("encoding", BAYER_CHANNELS)
def test_bayer_photo_is_close_overall(photo, encoding):
    decoded = image_to_rgb(make_image(mosaic(photo, encoding)[0], encoding))
    # Two thirds of the values are interpolated, which blurs the photo's fine texture; the mean
    # error stays far below that of a wrongly mapped pattern (about 39 on this photo).
    assert np.abs(decoded.astype(int) - photo)[1:-1, 1:-1].mean() < 16


@pytest.mark.parametrize("encoding", BAYER_CHANNELS)
def test_bayer_reconstructs_a_linear_gradient_exactly(encoding):
    # Bilinear demosaicing averages symmetric neighbours, which is exact on linear ramps.
    rows, cols = np.indices((8, 10))
    ramps = [10 + 8 * cols + 2 * rows, 20 + 3 * cols + 5 * rows, 200 - 4 * cols - 3 * rows]
    rgb = np.dstack(ramps).astype(np.uint8)
    decoded = image_to_rgb(make_image(mosaic(rgb, encoding)[0], encoding))
    np.testing.assert_array_equal(decoded[1:-1, 1:-1], rgb[1:-1, 1:-1])


def packed(rgb: np.ndarray, encoding: str) -> np.ndarray:
    """Return the raw pixels of ``rgb`` in any supported encoding."""
    if encoding in RGB_FAMILY:
        return RGB_FAMILY[encoding](rgb)
    if encoding in BAYER_CHANNELS:
        return mosaic(rgb, encoding)[0]
    if encoding == "mono8":
        return rgb[..., 0]
    return pack_yuv422(np.repeat(rgb[:, 0::2], 2, axis=1), encoding)


@pytest.mark.parametrize("encoding", [*RGB_FAMILY, "mono8", "uyvy", "yuyv", *BAYER_CHANNELS])
@pytest.mark.parametrize("padding", [1, 6])
def test_row_padding_is_skipped(encoding, padding):
    pixels = packed(synthetic_rgb(), encoding)
    expected = image_to_rgb(make_image(pixels, encoding))
    padded = make_image(pixels, encoding, padding)
    assert padded.step == padded.width * (pixels.size // (6 * 8)) + padding
    np.testing.assert_array_equal(image_to_rgb(padded), expected)


def test_data_longer_than_height_times_step_is_accepted():
    msg = make_image(synthetic_rgb(), "rgb8")
    msg.data.extend(b"\x00\x00\x00")
    np.testing.assert_array_equal(image_to_rgb(msg), synthetic_rgb())


def bad_image(**fields) -> Image:
    """Return a valid 6x8 rgb8 image with some fields overwritten."""
    msg = make_image(synthetic_rgb(), "rgb8")
    for name, value in fields.items():
        setattr(msg, name, value)
    return msg


@pytest.mark.parametrize(
    ("msg", "words"),
    [
        (bad_image(encoding="rgb16"), ["unsupported", "'rgb16'", "bgr8", "bayer_grbg8"]),
        (bad_image(encoding=""), ["unsupported", "''"]),
        (bad_image(width=0), ["empty", "width 0"]),
        (bad_image(height=0, data=array.array("B")), ["empty", "height 0"]),
        (bad_image(step=23), ["step 23", "smaller", "8 * 3 = 24"]),
        (bad_image(data=array.array("B", bytes(100))), ["100 bytes", "6 * 24 = 144"]),
        (make_image(np.zeros((2, 3, 2), np.uint8), "yuv422"), ["yuv422", "even", "got 3"]),
    ],
    ids=["encoding", "empty-encoding", "width", "height", "step", "data", "odd-yuv"],
)
def test_bad_images_are_refused_with_a_clear_message(msg, words):
    with pytest.raises(ImageDecodeError) as info:
        image_to_rgb(msg)
    assert isinstance(info.value, ValueError)
    for word in words:
        assert word in str(info.value)


def test_max_pixels_is_checked_before_the_data():
    # 10^10 pixels and no data: the size is refused first, nothing of that size is allocated.
    huge = Image(height=100000, width=100000, encoding="rgb8", step=300000)
    with pytest.raises(ImageDecodeError, match="10000000000 pixels exceeds max_image_pixels = 2000000"):
        image_to_rgb(huge, max_pixels=2_000_000)
    assert image_to_rgb(bad_image(), max_pixels=48).shape == (6, 8, 3)
    with pytest.raises(ImageDecodeError, match="48 pixels exceeds max_image_pixels = 47"):
        image_to_rgb(bad_image(), max_pixels=47)


# --- compressed images -> RGB ---------------------------------------------------------------


def compressed(rgb: np.ndarray, ext: str, fmt: str, params: tuple = ()) -> CompressedImage:
    ok, data = cv2.imencode(ext, np.ascontiguousarray(rgb[..., ::-1]), params)
    assert ok
    msg = CompressedImage(format=fmt)
    msg.data = array.array("B", data.tobytes())
    return msg


LOSSLESS_CHROMA = (cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444)


@pytest.mark.parametrize("fmt", ["png", "bgr8; png compressed bgr8"])
def test_png_round_trip_is_exact(rgb, fmt):
    decoded = compressed_to_rgb(compressed(rgb, ".png", fmt))
    np.testing.assert_array_equal(decoded, rgb)


def test_grey_png_decodes_to_three_equal_channels():
    gray = synthetic_rgb()[..., 0]
    ok, data = cv2.imencode(".png", gray)
    msg = CompressedImage(format="mono8; png compressed mono8")
    msg.data = array.array("B", data.tobytes())
    np.testing.assert_array_equal(compressed_to_rgb(msg), np.dstack([gray, gray, gray]))


@pytest.mark.parametrize("fmt", ["jpeg", "rgb8; jpeg compressed bgr8"])
def test_jpeg_of_a_flat_colour_keeps_the_colour(fmt):
    # A flat 16x16 patch has no detail for JPEG to lose: only chroma rounding remains.
    flat = np.full((16, 16, 3), (200, 30, 90), np.uint8)
    decoded = compressed_to_rgb(compressed(flat, ".jpg", fmt))
    assert decoded.shape == (16, 16, 3)
    assert np.abs(decoded.astype(int) - flat).max() <= 3


def test_jpeg_photo_decodes_close_to_the_original(photo):
    # Quality 100 without chroma subsampling leaves only rounding errors of a level or two;
    # red and blue swapped would be off by about 35 on average.
    best = (cv2.IMWRITE_JPEG_QUALITY, 100, *LOSSLESS_CHROMA)
    decoded = compressed_to_rgb(compressed(photo, ".jpg", "jpeg", best))
    assert decoded.shape == photo.shape
    assert np.abs(decoded.astype(int) - photo).mean() < 1


@pytest.mark.parametrize("ext", [".png", ".jpg"])
def test_compressed_size_is_read_from_the_header(rgb, ext):
    msg = compressed(rgb, ext, ext[1:])
    pixels = rgb.shape[0] * rgb.shape[1]
    assert compressed_to_rgb(msg, max_pixels=pixels).shape == rgb.shape
    with pytest.raises(ImageDecodeError, match=f"{pixels} pixels exceeds max_image_pixels"):
        compressed_to_rgb(msg, max_pixels=pixels - 1)


def png_header(width: int, height: int) -> bytes:
    """Return a PNG signature and IHDR chunk (8-bit RGB), with no image data after it."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + bytes(4)


def test_huge_png_header_is_refused_before_decoding():
    msg = CompressedImage(format="png")
    msg.data = array.array("B", png_header(100000, 100000))
    with pytest.raises(ImageDecodeError, match="100000x100000 = 10000000000 pixels exceeds"):
        compressed_to_rgb(msg, max_pixels=4096 * 4096)
    # Without the limit the same bytes reach the decoder, which finds no image data.
    with pytest.raises(ImageDecodeError, match="corrupt or truncated"):
        compressed_to_rgb(msg)


def test_huge_jpeg_header_is_refused_before_decoding():
    msg = compressed(synthetic_rgb(), ".jpg", "jpeg")
    data = bytes(msg.data)
    sof = data.index(b"\xff\xc0")  # cv2 writes baseline JPEG: SOF0
    patched = data[: sof + 5] + struct.pack(">HH", 60000, 50000) + data[sof + 9 :]
    msg.data = array.array("B", patched)
    with pytest.raises(ImageDecodeError, match="50000x60000 = 3000000000 pixels exceeds"):
        compressed_to_rgb(msg, max_pixels=10**6)


@pytest.mark.parametrize(
    ("fmt", "keep", "words"),
    [
        ("jpeg", None, ["corrupt or truncated", "'jpeg'"]),
        ("png", None, ["corrupt or truncated", "'png'"]),
        ("jpeg", 100, ["100 bytes", "'jpeg'", "no start-of-frame"]),  # SOF0 is after byte 150
        ("png", 20, ["20 bytes", "'png'", "no IHDR"]),
        ("png", 0, ["0 bytes", "neither PNG nor JPEG"]),
    ],
    ids=["jpeg-half", "png-half", "jpeg-header", "png-header", "empty"],
)
def test_truncated_compressed_data_is_refused(rgb, fmt, keep, words):
    msg = compressed(rgb, f".{fmt}", fmt)
    msg.data = msg.data[: len(msg.data) // 2 if keep is None else keep]
    with pytest.raises(ImageDecodeError) as info:
        compressed_to_rgb(msg)
    for word in words:
        assert word in str(info.value)


def test_non_image_data_is_refused():
    msg = CompressedImage(format="16UC1; compressedDepth png")
    msg.data = array.array("B", b"\x00" * 12 + png_header(4, 4))  # depth config header first
    with pytest.raises(ImageDecodeError, match="neither PNG nor JPEG; supported: jpeg, png"):
        compressed_to_rgb(msg)


def test_message_to_rgb_decodes_either_message_type_with_its_limit():
    rgb = synthetic_rgb()  # 6x8 = 48 pixels
    raw, png = make_image(rgb[..., ::-1], "bgr8"), compressed(rgb, ".png", "png")
    for msg in (raw, png):
        np.testing.assert_array_equal(message_to_rgb(msg, max_pixels=48), rgb)
        with pytest.raises(ImageDecodeError, match="48 pixels exceeds max_image_pixels = 47"):
            message_to_rgb(msg, max_pixels=47)
    with pytest.raises(ImageDecodeError, match="neither PNG nor JPEG"):
        message_to_rgb(CompressedImage(format="bgr8", data=rgb.tobytes()))  # raw bytes, not a codec


# --- numpy -> Image -------------------------------------------------------------------------


def header() -> Header:
    return Header(stamp=Time(sec=1_700_000_000, nanosec=123_456_789), frame_id="camera_optical")


OUTPUTS = {
    "mono8": np.array([[0, 1, 255], [7, 128, 9]], np.uint8),
    "mono16": np.array([[0x0102, 65535, 0], [1, 2, 3]], np.uint16),
    "32SC1": np.array([[0x01020304, -1, 2**31 - 1], [-(2**31), 0, 5]], np.int32),
    "rgb8": synthetic_rgb(),
}
# Little-endian bytes of the first pixel, written out by hand.
FIRST_BYTES = {
    "mono8": [0],
    "mono16": [2, 1],
    "32SC1": [4, 3, 2, 1],
    "rgb8": [*synthetic_rgb()[0, 0]],
}


@pytest.mark.parametrize("encoding", OUTPUTS)
def test_numpy_to_image_fields(encoding):
    values = OUTPUTS[encoding]
    stamp = header()
    msg = numpy_to_image(values, encoding, stamp)
    assert (msg.height, msg.width, msg.encoding) == (values.shape[0], values.shape[1], encoding)
    assert msg.step == values.shape[1] * values.itemsize * (3 if encoding == "rgb8" else 1)
    assert msg.is_bigendian == 0
    assert msg.header == stamp and msg.header is not stamp
    assert (msg.header.stamp.sec, msg.header.stamp.nanosec) == (1_700_000_000, 123_456_789)
    assert msg.header.frame_id == "camera_optical"
    assert isinstance(msg.data, array.array) and len(msg.data) == msg.step * msg.height
    assert list(msg.data[: len(FIRST_BYTES[encoding])]) == FIRST_BYTES[encoding]


@pytest.mark.parametrize("encoding", OUTPUTS)
def test_numpy_image_numpy_round_trip(encoding):
    values = OUTPUTS[encoding]
    msg = numpy_to_image(values, encoding, header())
    back = np.frombuffer(msg.data, values.dtype.newbyteorder("<")).reshape(values.shape)
    np.testing.assert_array_equal(back, values)


def test_rgb8_and_mono8_round_trip_through_the_decoder(rgb):
    np.testing.assert_array_equal(image_to_rgb(numpy_to_image(rgb, "rgb8", header())), rgb)
    gray = np.ascontiguousarray(rgb[..., 2])
    decoded = image_to_rgb(numpy_to_image(gray, "mono8", header()))
    np.testing.assert_array_equal(decoded, np.dstack([gray, gray, gray]))


def test_big_endian_and_strided_arrays_are_written_little_endian():
    values = OUTPUTS["mono16"]
    for variant in (values.astype(">u2"), np.repeat(values, 2, axis=1)[:, ::2]):
        msg = numpy_to_image(variant, "mono16", header())
        assert bytes(msg.data) == values.astype("<u2").tobytes()
        assert msg.step == 6 and msg.is_bigendian == 0


@pytest.mark.parametrize(
    ("values", "encoding", "words"),
    [
        (OUTPUTS["rgb8"], "bgr8", ["'bgr8'", "mono16", "32SC1"]),
        (OUTPUTS["mono8"].astype(np.float32), "mono16", ["uint16", "float32"]),
        (OUTPUTS["mono16"], "32SC1", ["int32", "uint16"]),
        (OUTPUTS["rgb8"], "mono8", ["HxW array", "(6, 8, 3)"]),
        (OUTPUTS["mono8"], "rgb8", ["HxWx3", "(2, 3)"]),
        (with_alpha(OUTPUTS["rgb8"]), "rgb8", ["HxWx3", "(6, 8, 4)"]),
        (np.zeros((0, 4), np.uint16), "mono16", ["empty", "(0, 4)"]),
    ],
)
def test_numpy_to_image_refuses_bad_arrays(values, encoding, words):
    with pytest.raises(ValueError) as info:
        numpy_to_image(values, encoding, header())
    for word in words:
        assert word in str(info.value)


# --- colourised panoptic maps ---------------------------------------------------------------

CRIMSON, NAVY = (220, 20, 60), (0, 0, 142)  # TINY_CATEGORIES ids 11 and 12


def test_color_lut_rows_are_dataset_ids():
    lut = color_lut(TINY_CATEGORIES, void_color=(128, 128, 128))
    assert lut.shape == (13, 3) and lut.dtype == np.uint8
    assert tuple(lut[0]) == (128, 128, 128) and tuple(lut[1]) == (70, 130, 180)
    assert tuple(lut[11]) == CRIMSON and tuple(lut[12]) == NAVY
    assert not lut[4:11].any()  # ids without a category stay black


def test_colorize_shades_instances_of_the_category_colour():
    categories = np.array([[1, 11, 11], [0, 11, 12]])
    instances = np.array([[0, 1, 2], [0, 3, 1]])
    colored = colorize_panoptic(categories, instances, color_lut(TINY_CATEGORIES))
    expected = [
        [(70, 130, 180), (132, 12, 36), (187, 17, 51)],  # sky; crimson * 0.6, * 0.85
        [(0, 0, 0), (99, 9, 27), (0, 0, 85)],  # void; crimson * 0.45; navy * 0.6 (85.2)
    ]
    np.testing.assert_array_equal(colored, np.array(expected, np.uint8))


def test_neighbouring_instances_get_visibly_different_shades():
    instances = np.arange(21)[None]
    colored = colorize_panoptic(np.full((1, 21), 11), instances, color_lut(TINY_CATEGORIES))
    red = colored[0, :, 0].astype(int)
    assert np.abs(np.diff(red)).min() >= int(0.25 * 220)  # shades of consecutive ids differ
    np.testing.assert_array_equal(red[5:10], red[0:5])  # the cycle repeats every 5 ids
    again = colorize_panoptic(np.full((1, 21), 11), instances, color_lut(TINY_CATEGORIES))
    np.testing.assert_array_equal(again, colored)


def test_alpha_blending():
    lut = np.array([[0, 0, 0], [200, 0, 100]], np.uint8)
    categories, instances = np.ones((1, 2), int), np.zeros((1, 2), int)
    image = np.array([[[0, 100, 40], [255, 255, 255]]], np.uint8)
    blended = colorize_panoptic(categories, instances, lut, image, alpha=0.25)
    # 0.25 * (200, 0, 100) + 0.75 * (0, 100, 40) and 0.75 * 255 = 191.25.
    np.testing.assert_array_equal(blended, [[[50, 75, 55], [241, 191, 216]]])
    np.testing.assert_array_equal(colorize_panoptic(categories, instances, lut, image, 0.0), image)
    np.testing.assert_array_equal(
        colorize_panoptic(categories, instances, lut, image, 1.0), [[[200, 0, 100]] * 2]
    )


def test_colorize_the_real_coco_ground_truth(coco_sample):
    lut = color_lut(load_categories(coco_sample / "panoptic_coco_categories.json"))
    two_channel = cv2.imread(str(coco_sample / "panoptic_2ch" / "000000142238.png"))
    categories, instances = two_channel[..., 2].astype(int), two_channel[..., 1].astype(int)
    colored = colorize_panoptic(categories, instances, lut)
    plain = INSTANCE_SHADES[instances % 5] == 1.0
    np.testing.assert_array_equal(colored[plain], lut[categories[plain]])
    people = [colored[(categories == 1) & (instances == i)][0] for i in (1, 2)]
    assert np.abs(people[0].astype(int) - people[1]).max() >= 0.25 * lut[1].max()


ONES, ZEROS = np.ones((2, 2), int), np.zeros((2, 2), int)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ((ONES * 13, ZEROS), ["13..13", "ids 0..12"]),
        ((-ONES, ZEROS), ["-1..-1"]),
        ((ONES, np.zeros((2, 3), int)), ["instance_map", "(2, 3)", "(2, 2)"]),
        ((ONES * 1.0, ZEROS), ["category_map", "integer", "float64"]),
        ((ONES, ZEROS, np.zeros((2, 2, 3), int)), ["uint8", "int64"]),
        ((ONES, ZEROS, np.zeros((3, 2, 3), np.uint8)), ["(2, 2, 3)", "(3, 2, 3)"]),
        ((ONES, ZEROS, np.zeros((2, 2, 3), np.uint8), 1.5), ["alpha", "1.5"]),
    ],
    ids=["beyond-lut", "negative", "shape", "float-map", "image-dtype", "image-shape", "alpha"],
)
def test_colorize_refuses_bad_input(args, words):
    with pytest.raises(ValueError) as info:
        colorize_panoptic(args[0], args[1], color_lut(TINY_CATEGORIES), *args[2:])
    for word in words:
        assert word in str(info.value)


def test_colorize_refuses_a_bad_lut():
    with pytest.raises(ValueError, match=r"\(N, 3\) uint8"):
        colorize_panoptic(np.ones((1, 1), int), np.zeros((1, 1), int), np.zeros((4, 4), np.uint8))


# --- Image -> CompressedImage ---------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["mono8", "mono16"])
def test_compressed_label_images_are_lossless_png(encoding):
    labels = OUTPUTS[encoding]
    msg = compress_image(numpy_to_image(labels, encoding, header()))
    assert msg.format == f"{encoding}; png compressed "  # as compressed_image_transport writes it
    assert msg.header == header() and bytes(msg.data[:8]) == b"\x89PNG\r\n\x1a\n"
    decoded = cv2.imdecode(np.frombuffer(bytes(msg.data), np.uint8), cv2.IMREAD_UNCHANGED)
    assert decoded.dtype == labels.dtype
    np.testing.assert_array_equal(decoded, labels)


def test_compressed_colour_image_is_jpeg_of_the_chosen_quality():
    rgb = synthetic_rgb()
    image = numpy_to_image(rgb, "rgb8", header())
    fine, coarse = compress_image(image, jpeg_quality=95), compress_image(image, jpeg_quality=10)
    assert fine.format == "rgb8; jpeg compressed bgr8" and bytes(fine.data[:2]) == b"\xff\xd8"
    assert len(coarse.data) < len(fine.data)
    np.testing.assert_array_equal(compressed_to_rgb(fine).shape, rgb.shape)
    error = np.abs(compressed_to_rgb(fine).astype(int) - rgb).mean()
    assert error < np.abs(compressed_to_rgb(coarse).astype(int) - rgb).mean()
    with pytest.raises(ValueError, match="jpeg_quality must be in 1..100"):
        compress_image(image, jpeg_quality=0)


def test_compress_image_reads_padded_rows_and_refuses_other_encodings():
    labels = OUTPUTS["mono16"]
    msg = numpy_to_image(labels, "mono16", header())
    padded = Image(header=msg.header, height=2, width=3, encoding="mono16", step=8)
    padded.data = bytes(np.pad(labels.astype("<u2").view(np.uint8), ((0, 0), (0, 2))))
    decoded = cv2.imdecode(np.frombuffer(bytes(compress_image(padded).data), np.uint8), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(decoded, labels)
    with pytest.raises(ValueError, match="cannot compress '32SC1'"):
        compress_image(numpy_to_image(OUTPUTS["32SC1"], "32SC1", header()))
