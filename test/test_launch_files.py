# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The parameter file and the RViz config that the launch files use.

The launch files themselves are run by the real ``ros2 launch`` in test_ros_toolchain.py (RViz
cannot run here, so its config is read as the YAML it is).
"""

import re

import pytest
import yaml
from conftest import REPO

from sspanoptic_ros.ros.outputs import ID_IMAGES
from sspanoptic_ros.ros.outputs_3d import OUTPUTS_3D
from sspanoptic_ros.ros.parameters import PARAMETER_NAMES, PARAMETERS, descriptor
from sspanoptic_ros.ros.topics import output_prefix

pytestmark = pytest.mark.ros  # runs on Kilted and Jazzy (setup.cfg)

PARAMS_FILE = REPO / "config" / "sspanoptic.yaml"
RVIZ_FILE = REPO / "config" / "sspanoptic.rviz"


def test_parameter_file_sets_every_declared_parameter_to_its_default():
    document = yaml.safe_load(PARAMS_FILE.read_text())
    values = document["/**"]["ros__parameters"]
    assert sorted(values) == sorted(PARAMETER_NAMES)
    for spec in PARAMETERS:
        assert values[spec.name] == spec.default, spec.name
        assert type(values[spec.name]) is type(spec.default), f"{spec.name}: ROS would reject the type"


def test_parameter_file_comments_every_parameter():
    lines = PARAMS_FILE.read_text().splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^ {4}\w+:", line):
            assert lines[i - 1].strip().startswith("#"), f"no comment above {line.strip()}"


def test_parameter_descriptors():
    descriptors = {spec.name: descriptor(spec) for spec in PARAMETERS}
    assert all(d.description for d in descriptors.values())
    read_only = {name for name, d in descriptors.items() if d.read_only}
    assert {"model_path", "backend", "device", "precision", "input_topics"} <= read_only
    assert not {"score_threshold", "overlap_policy", "colored_alpha"} & read_only
    threshold = descriptors["score_threshold"].floating_point_range[0]
    assert (threshold.from_value, threshold.to_value) == (0.0, 1.0)
    detections = descriptors["max_detections"].integer_range[0]
    assert (detections.from_value, detections.to_value) == (1, 999)
    assert "closest_center" in descriptors["overlap_policy"].additional_constraints


def test_rviz_config_shows_input_colored_semantic_points_and_markers():
    config = yaml.safe_load(RVIZ_FILE.read_text())
    displays = config["Visualization Manager"]["Displays"]
    topics = {d["Topic"]["Value"] for d in displays if d["Class"] == "rviz_default_plugins/Image"}
    assert topics == {"image", "panoptic/colored", "panoptic/semantic"}
    outputs = {f"{output_prefix('image')}/{name}" for name in (*ID_IMAGES, "colored")}
    assert topics - {"image"} <= outputs
    shown_3d = {d["Class"]: d for d in displays if d["Class"] != "rviz_default_plugins/Image"}
    assert shown_3d["rviz_default_plugins/PointCloud2"]["Topic"]["Value"] == "panoptic/points"
    assert shown_3d["rviz_default_plugins/PointCloud2"]["Color Transformer"] == "RGB8"
    assert shown_3d["rviz_default_plugins/MarkerArray"]["Topic"]["Value"] == "panoptic/markers"
    assert {"points", "markers"} <= set(OUTPUTS_3D)  # what the node publishes with depth
