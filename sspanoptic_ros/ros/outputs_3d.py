# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The 3D outputs of a frame as ROS messages: labelled points, 3D detections and rviz markers.

All in the camera's optical frame, in metres, with a copy of the colour image's header
(``depth3d`` has the conventions):

- ``points``: PointCloud2 of the valid depth pixels, fields x y z (float32), rgb (float32 holding
  0x00RRGGBB, rviz's RGB8 transformer) and label (uint32, the pixel's panoptic id);
- ``detections_3d`` (``vision.detections_3d_message``; not without vision_msgs): one
  Detection3D per thing with enough points: id its panoptic id, bbox centre the points'
  median, size their 5th..95th percentile span;
- ``markers``: DELETEALL, then a box and a text (class name and id) per 3D detection.
"""

from __future__ import annotations

import copy

from sensor_msgs.msg import PointCloud2, PointField
from sensor_msgs_py import point_cloud2
from std_msgs.msg import ColorRGBA, Header
from visualization_msgs.msg import Marker, MarkerArray

from ..depth3d import Box3D, Cloud
from .outputs import vision

OUTPUTS_3D = {
    "points": PointCloud2,
    **({"detections_3d": vision.Detection3DArray} if vision else {}),  # none without vision_msgs
    "markers": MarkerArray,
}
CLOUD_FIELDS = [
    PointField(name=name, offset=4 * i, datatype=datatype, count=1)
    for i, (name, datatype) in enumerate(
        [("x", PointField.FLOAT32), ("y", PointField.FLOAT32), ("z", PointField.FLOAT32),
         ("rgb", PointField.FLOAT32), ("label", PointField.UINT32)]
    )
]
CLOUD_DTYPE = point_cloud2.dtype_from_fields(CLOUD_FIELDS)
MARKER_NAMESPACE = "sspanoptic"
MARKER_ALPHA = 0.5  # opacity of the boxes
TEXT_HEIGHT = 0.1  # metres


def cloud_message(cloud: Cloud, header: Header) -> PointCloud2:
    """Return the PointCloud2 of ``cloud`` (its rows are the fields' layout: one copy)."""
    return point_cloud2.create_cloud(copy.deepcopy(header), CLOUD_FIELDS, cloud.rows.view(CLOUD_DTYPE)[:, 0])


def markers_message(
    boxes: list[Box3D], colours: list[tuple[int, int, int]], names: dict[int, str], header: Header
) -> MarkerArray:
    """DELETEALL, then per box a CUBE (marker id 2i) and a TEXT_VIEW_FACING above it (2i + 1).

    ``colours``: the RGB of each box's segment; ``names``: category id -> class name.
    """
    header = copy.deepcopy(header)  # one copy, shared by the markers (none of them changes it)
    markers = [Marker(header=header, ns=MARKER_NAMESPACE, action=Marker.DELETEALL)]
    for i, (box, rgb) in enumerate(zip(boxes, colours)):
        colour = ColorRGBA(r=rgb[0] / 255, g=rgb[1] / 255, b=rgb[2] / 255, a=MARKER_ALPHA)
        cube = Marker(header=header, ns=MARKER_NAMESPACE, id=2 * i, type=Marker.CUBE,
                      action=Marker.ADD, color=colour)
        cube.pose.position.x, cube.pose.position.y, cube.pose.position.z = box.centre
        cube.pose.orientation.w = 1.0
        cube.scale.x, cube.scale.y, cube.scale.z = (max(s, 1e-3) for s in box.size)
        text = Marker(header=header, ns=MARKER_NAMESPACE, id=2 * i + 1,
                      type=Marker.TEXT_VIEW_FACING, action=Marker.ADD,
                      color=ColorRGBA(r=colour.r, g=colour.g, b=colour.b, a=1.0),
                      text=f"{names.get(box.category_id, box.category_id)} {box.id}")
        text.pose.position.x, text.pose.position.z = box.centre[0], box.centre[2]
        text.pose.position.y = box.centre[1] - box.size[1] / 2 - TEXT_HEIGHT  # above: y is down
        text.pose.orientation.w = 1.0
        text.scale.z = TEXT_HEIGHT
        markers += [cube, text]
    return MarkerArray(markers=markers)
