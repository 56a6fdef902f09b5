# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Benchmark the panoptic node on a robot: ``ros2 bag play`` + the node + the output monitor.

    ros2 launch sspanoptic_ros benchmark.launch.py bag:=/data/camera_bag topic:=/camera/image

The bag (see ``sspanoptic-bench bag create``) plays in a loop at ``rate`` times its own speed;
the node reads ``topic`` (``<topic>/compressed`` with ``compressed:=true``; with
``depth_topic:=`` also that depth and ``<camera>/camera_info``, and the monitor then subscribes to
the 3D outputs too, so that the node builds them), and the monitor prints the output FPS and
latency every 5 s for ``duration`` seconds, then everything stops.
Everything also stops as soon as ``ros2 bag play`` or the node ends (the monitor writes the
periods measured so far; none, no report). ``play:=false`` starts no player: the node and the
monitor then watch ``topic`` as another process publishes it (a live camera, another player).
Without rosbag2 (``ros2 bag``), ``play:=true`` starts nothing and says so (exit code 1). Without
a ROS installation, ``sspanoptic-bench bag run`` does the same from Python.
"""

import sys

from ament_index_python.packages import PackageNotFoundError, get_package_prefix
from launch.actions import (
    DeclareLaunchArgument,
    EmitEvent,
    ExecuteProcess,
    LogInfo,
    OpaqueFunction,
    RegisterEventHandler,
)
from launch.conditions import IfCondition
from launch.event_handlers import OnProcessExit
from launch.events import Shutdown
from launch.launch_description import LaunchDescription
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare


def generate_launch_description() -> LaunchDescription:
    """Play the bag, run the node on it and watch its outputs until ``duration`` has passed."""
    bag = LaunchConfiguration("bag")
    topic = LaunchConfiguration("topic")
    compressed = LaunchConfiguration("compressed")
    bag_topic = [topic, "/compressed"]  # used when compressed:=true
    player = ExecuteProcess(
        cmd=["ros2", "bag", "play", bag, "--loop", "--rate", LaunchConfiguration("rate")],
        output="screen",
        condition=IfCondition(LaunchConfiguration("play")),
    )
    node = Node(
        package="sspanoptic_ros",
        executable="panoptic_node",
        parameters=[
            PathJoinSubstitution([FindPackageShare("sspanoptic_ros"), "config", "sspanoptic.yaml"]),
            {
                "model_path": ParameterValue(LaunchConfiguration("model"), value_type=str),
                "backend": ParameterValue(LaunchConfiguration("backend"), value_type=str),
                "use_compressed": ParameterValue(compressed, value_type=bool),
                # a YAML list of one topic: [''] (no depth) when depth_topic is empty
                "depth_topics": ParameterValue(["['", LaunchConfiguration("depth_topic"), "']"]),
            },
        ],
        remappings=[("image", topic), ("image/compressed", bag_topic)],
        output="screen",
    )
    monitor = ExecuteProcess(
        cmd=[
            sys.executable, "-m", "sspanoptic_ros.bench.monitor",
            "--topic", topic,
            "--use-compressed", compressed,
            ["--depth-topic=", LaunchConfiguration("depth_topic")],
            "--duration", LaunchConfiguration("duration"),
            "--json", LaunchConfiguration("report"),
        ],
        output="screen",
    )
    return LaunchDescription([
        DeclareLaunchArgument("bag", default_value="",
                              description="rosbag2 folder holding the camera topic"),
        DeclareLaunchArgument("play", default_value="true", choices=["true", "false"],
                              description="false: play no bag, watch topic as another process "
                              "publishes it"),
        DeclareLaunchArgument("topic", default_value="/camera/image",
                              description="camera image topic in the bag (without /compressed)"),
        DeclareLaunchArgument("compressed", default_value="false",
                              description="true: the bag holds <topic>/compressed JPEG frames"),
        DeclareLaunchArgument("depth_topic", default_value="",
                              description="aligned depth topic in the bag (bag create --depth: "
                              "/camera/depth): the node also builds its 3D outputs; empty: none"),
        DeclareLaunchArgument("rate", default_value="1.0",
                              description="playback speed, a multiple of the bag's own"),
        DeclareLaunchArgument("model", default_value="",
                              description="model file; empty: the bundled demo model"),
        DeclareLaunchArgument("backend", default_value="auto",
                              description="auto | tensorrt | torch | onnxruntime"),
        DeclareLaunchArgument("duration", default_value="30.0",
                              description="seconds to measure before stopping"),
        DeclareLaunchArgument("report", default_value="panoptic_benchmark.json",
                              description="JSON file the monitor writes its numbers to"),
        OpaqueFunction(function=require_rosbag2, condition=IfCondition(LaunchConfiguration("play"))),
        player,
        node,
        monitor,
        stop_when_ended(monitor, "benchmark finished"),
        stop_when_ended(player, "ros2 bag play ended: benchmark stopped"),
        stop_when_ended(node, "the panoptic node ended: benchmark stopped"),
    ])


def require_rosbag2(context) -> None:
    """Refuse to start anything when ``ros2 bag`` (rosbag2's ros2bag) is not installed."""
    try:
        get_package_prefix("ros2bag")
    except PackageNotFoundError:
        raise RuntimeError(
            "ros2 bag (rosbag2) is not installed: install ros-$ROS_DISTRO-rosbag2, or measure a "
            "camera another process publishes with play:=false"
        ) from None


def stop_when_ended(process: ExecuteProcess, reason: str) -> RegisterEventHandler:
    """Shut the whole launch down, saying ``reason``, when ``process`` exits first."""

    def stop(event, context):
        if context.is_shutdown:  # another process ended first: its reason was given
            return None
        return [LogInfo(msg=reason), EmitEvent(event=Shutdown(reason=reason))]

    return RegisterEventHandler(OnProcessExit(target_action=process, on_exit=stop))
