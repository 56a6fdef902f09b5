# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Typed ``vision_msgs`` outputs: the thing segments as detections, the model's labels.

Imported only where vision_msgs is installed (the node runs without it, and then publishes
neither). Detections carry the segment's id in the panoptic image, so a consumer cuts a
detection's mask out of ``panoptic/panoptic`` with ``ids == int(detection.id)``.
"""

from __future__ import annotations

import copy

from std_msgs.msg import Header
from vision_msgs.msg import (
    Detection2D,
    Detection2DArray,
    Detection3D,
    Detection3DArray,
    LabelInfo,
    ObjectHypothesisWithPose,
    VisionClass,
)

from ..categories import Category
from ..depth3d import Box3D
from ..head.result import PanopticResult

# Label 0 of the semantic and panoptic images: pixels of no category.
UNKNOWN_LABEL = "unknown"


def detections_message(result: PanopticResult, header: Header) -> Detection2DArray:
    """Return one ``Detection2D`` per thing segment of ``result``, with a copy of ``header``.

    bbox: centre and size in pixels of the segment's pixels (a segment covering columns
    x .. x + w - 1 has centre x + w / 2 and size w); results: one hypothesis, class_id the
    category id as a string, score the detection score; id: the segment's panoptic id.
    """
    msg = Detection2DArray(header=copy.deepcopy(header))
    for segment in result.segments:
        if not segment.isthing:
            continue
        x, y, width, height = segment.bbox
        detection = Detection2D(header=copy.deepcopy(header), id=str(segment.id))
        detection.bbox.center.position.x = x + width / 2
        detection.bbox.center.position.y = y + height / 2
        detection.bbox.size_x, detection.bbox.size_y = float(width), float(height)
        hypothesis = ObjectHypothesisWithPose()
        hypothesis.hypothesis.class_id = str(segment.category_id)
        hypothesis.hypothesis.score = float(segment.score)
        detection.results.append(hypothesis)
        msg.detections.append(detection)
    return msg


def detections_3d_message(boxes: list[Box3D], header: Header) -> Detection3DArray:
    """One Detection3D per box: id its panoptic id, one hypothesis (class id, score)."""
    msg = Detection3DArray(header=copy.deepcopy(header))  # its detections share this copy
    for box in boxes:
        detection = Detection3D(header=msg.header, id=str(box.id))
        position, size = detection.bbox.center.position, detection.bbox.size
        position.x, position.y, position.z = box.centre
        size.x, size.y, size.z = box.size
        hypothesis = ObjectHypothesisWithPose()
        hypothesis.hypothesis.class_id = str(box.category_id)
        hypothesis.hypothesis.score = box.score
        detection.results.append(hypothesis)
        msg.detections.append(detection)
    return msg


def label_info_message(categories: list[Category], threshold: float, header: Header) -> LabelInfo:
    """Return the ``LabelInfo`` of a model: label 0 (unknown) and every category id -> name."""
    class_map = [VisionClass(class_id=0, class_name=UNKNOWN_LABEL)]
    class_map += [VisionClass(class_id=c.id, class_name=c.name) for c in categories]
    return LabelInfo(header=copy.deepcopy(header), class_map=class_map, threshold=float(threshold))
