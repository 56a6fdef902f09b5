# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""A ``PanopticResult`` as ROS messages: id images, a colour picture and a JSON segment list.

``OUTPUTS`` names every output topic of a camera and its type. (Compressed forms come from
``image_codec.compress_image``, typed detections and labels from ``vision``, which is optional;
camera_info is passed on with the output's header.)

Every message carries a copy of the input image's header, so outputs line up with their input
by stamp and frame. The id images are at the result's (= the input's) resolution:

- ``semantic``: mono16, the dataset category id of each pixel (0 = unknown);
- ``instance``: mono16, 1..N for the thing segments in the order of the segment list, 0 elsewhere;
- ``panoptic``: 32SC1, category id * 1000 + instance.
"""

from __future__ import annotations

import copy
import json

import numpy as np
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header, String

from ..head.result import ID_DIVISOR, PanopticResult
from ..predictions import segment_record
from ..visualization import colorize_panoptic
from .image_codec import numpy_to_image

try:  # optional: without vision_msgs the node publishes no detections and no label_info
    from . import vision
except ImportError as error:
    vision, VISION_MISSING = None, f"vision_msgs unavailable ({error}): no detections or label_info"
else:
    VISION_MISSING = ""

# output name -> (PanopticResult field, image encoding)
ID_IMAGES = {
    "semantic": ("category", "mono16"),
    "instance": ("instance", "mono16"),
    "panoptic": ("panoptic", "32SC1"),
}
# Id images also published as lossless PNG (``<name>/compressed``); 32SC1 has no PNG form.
COMPRESSED_ID_IMAGES = ("semantic", "instance")
# Output topics of each camera, under its namespace, and their message types; each is built
# only for frames it has subscribers for.
OUTPUTS = {
    **dict.fromkeys(ID_IMAGES, Image),
    "colored": Image,
    "segments": String,
    **{f"{name}/compressed": CompressedImage for name in (*COMPRESSED_ID_IMAGES, "colored")},
    "camera_info": CameraInfo,
    **({"detections": vision.Detection2DArray} if vision else {}),
}
_MONO16_MAX = np.iinfo(np.uint16).max


def id_image(result: PanopticResult, name: str, header: Header) -> Image:
    """Return the ``semantic``, ``instance`` or ``panoptic`` id image of ``result``."""
    if name not in ID_IMAGES:
        raise ValueError(f"unknown id image {name!r}; expected one of {', '.join(ID_IMAGES)}")
    field, encoding = ID_IMAGES[name]
    ids = getattr(result, field).cpu().numpy()
    if encoding == "mono16":
        if ids.size and (ids.min() < 0 or ids.max() > _MONO16_MAX):
            raise ValueError(
                f"{name} ids span {ids.min()}..{ids.max()}, outside the mono16 range 0..{_MONO16_MAX}"
            )
        ids = ids.astype(np.uint16)
    return numpy_to_image(ids, encoding, header)


def colored_image(
    result: PanopticResult,
    lut: np.ndarray,
    header: Header,
    rgb: np.ndarray | None = None,
    alpha: float = 0.5,
) -> Image:
    """Return the rgb8 picture of ``result`` (see ``colorize_panoptic``), blended over ``rgb``."""
    picture = colorize_panoptic(
        result.category.cpu().numpy(), result.instance.cpu().numpy(), lut, image=rgb, alpha=alpha
    )
    return numpy_to_image(picture, "rgb8", header)


def camera_info_message(info: CameraInfo, header: Header) -> CameraInfo:
    """Return a copy of ``info`` with a copy of ``header`` (an output frame's stamp and frame_id)."""
    out = copy.deepcopy(info)
    out.header = copy.deepcopy(header)
    return out


def segments_message(
    result: PanopticResult, header: Header, names: dict[int, str], tracked: bool = False
) -> String:
    """Return the segment list of ``result`` as a JSON ``std_msgs/String``.

    ``{"header": {"stamp": {"sec", "nanosec"}, "frame_id"}, "segments": [{"id", "category_id",
    "name", "isthing", "score", "track_id", "bbox": [x, y, w, h], "area"}, ...]}``; ``names``
    maps category ids to names; ``score`` is null for stuff; ``track_id`` is the thing's track id
    (its instance number) when ``tracked``, else null.
    """
    document = {
        "header": {
            "stamp": {"sec": header.stamp.sec, "nanosec": header.stamp.nanosec},
            "frame_id": header.frame_id,
        },
        "segments": [
            {
                **segment_record(s),
                "name": names[s.category_id],
                "isthing": s.isthing,
                "score": s.score,
                "track_id": s.id % ID_DIVISOR if tracked and s.isthing else None,
            }
            for s in result.segments
        ],
    }
    return String(data=json.dumps(document))
