# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The ROS 2 environment ``make setup`` builds, one per distribution (.venv: Kilted, .venv-jazzy: Jazzy).

``make test`` names each run after ``ROS_DISTRO``; the rclpy installed must be that distribution's.
The message packages for the 3D work (visualization_msgs from PyPI; sensor_msgs_py and
message_filters from the tool folder, requirements/ros2-tools.txt) must be there and work.
"""

import importlib.metadata
import os

import numpy as np
import pytest
from colcon_helpers import missing_tools
from std_msgs.msg import Header

pytestmark = pytest.mark.ros  # runs on Kilted and Jazzy (setup.cfg)

RCLPY_MAJOR = {"humble": "3", "jazzy": "7", "kilted": "9"}  # ros-rclpy versions on PyPI / apt


def test_rclpy_is_the_distribution_the_run_is_named_after():
    distro = os.environ.get("ROS_DISTRO")
    if distro is None:
        pytest.skip("ROS_DISTRO is not set (make test sets it for each run)")
    version = importlib.metadata.version("ros-rclpy")
    assert version.split(".")[0] == RCLPY_MAJOR[distro], f"ROS_DISTRO={distro} but ros-rclpy {version}"


def test_visualization_msgs_markers():
    from visualization_msgs.msg import Marker, MarkerArray

    marker = Marker(header=Header(frame_id="map"), ns="segments", id=3, type=Marker.CUBE,
                    action=Marker.ADD)
    assert MarkerArray(markers=[marker]).markers[0].type == Marker.CUBE


def test_point_cloud2_round_trip_and_message_filters():
    if reason := missing_tools():
        pytest.skip(reason)  # the tool folder (and so these two wheels) is not installed here
    import message_filters
    from sensor_msgs_py import point_cloud2

    points = np.array([(1.0, 2.0, 3.0), (-4.0, 0.5, 9.0)], np.float32)
    cloud = point_cloud2.create_cloud_xyz32(Header(frame_id="camera"), points)
    read = point_cloud2.read_points_numpy(cloud, field_names=("x", "y", "z"))
    np.testing.assert_array_equal(read, points)
    assert callable(message_filters.ApproximateTimeSynchronizer)
