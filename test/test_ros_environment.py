# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The ROS 2 environment ``make setup`` builds, one per distribution (.venv: Kilted, .venv-jazzy: Jazzy).

``make test`` names each run after ``ROS_DISTRO``; the rclpy installed must be that distribution's.
"""

import importlib.metadata
import os

import pytest
import rclpy  # noqa: F401  (a ROS test: runs on each distribution)

pytestmark = pytest.mark.ros  # runs on Kilted and Jazzy (setup.cfg)

RCLPY_MAJOR = {"humble": "3", "jazzy": "7", "kilted": "9"}  # ros-rclpy versions on PyPI / apt


def test_rclpy_is_the_distribution_the_run_is_named_after():
    distro = os.environ.get("ROS_DISTRO")
    if distro is None:
        pytest.skip("ROS_DISTRO is not set (make test sets it for each run)")
    version = importlib.metadata.version("ros-rclpy")
    assert version.split(".")[0] == RCLPY_MAJOR[distro], f"ROS_DISTRO={distro} but ros-rclpy {version}"
