# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Launch the panoptic segmentation node, and optionally RViz showing its input and outputs.

``ros2 launch sspanoptic_ros sspanoptic.launch.py image_topic:=/camera/image_raw use_rviz:=true``
(with an RGB-D camera also ``depth_topic:=/camera/aligned_depth_to_color/image_raw``)
(``sspanoptic.launch.xml`` is the same in XML). The node configures and activates itself;
``autostart:=false`` leaves it unconfigured for a lifecycle manager or ``ros2 lifecycle set``.
RViz comes first: with ``use_rviz:=true`` and no rviz2 installed, launch fails before it starts
anything.
"""

from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.launch_description import LaunchDescription
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import LifecycleNode, Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

PACKAGE = "sspanoptic_ros"
RESPAWN_DELAY = 2.0  # seconds before a node that died starts again (respawn:=true)


def generate_launch_description() -> LaunchDescription:
    """Declare the arguments, the node and the optional RViz."""
    share = FindPackageShare(PACKAGE)
    arguments = [
        DeclareLaunchArgument(
            "model",
            default_value=PathJoinSubstitution([share, "models", "demo_synthetic.pt"]),
            description="Model file (.pt checkpoint, .onnx or TensorRT .plan); overrides the "
            "model_path of params_file",
        ),
        DeclareLaunchArgument(
            "backend",
            default_value="auto",
            choices=["auto", "tensorrt", "torch", "onnxruntime"],
            description="Inference backend; overrides the backend of params_file",
        ),
        DeclareLaunchArgument(
            "image_topic", default_value="image", description="Camera image topic to segment"
        ),
        DeclareLaunchArgument(
            "depth_topic",
            default_value="",
            description="Aligned depth topic of the camera (16UC1 mm or 32FC1 m, e.g. "
            "/camera/aligned_depth_to_color/image_raw): adds panoptic/points, detections_3d and "
            "markers; empty: none. Overrides the depth_topics of params_file",
        ),
        DeclareLaunchArgument(
            "namespace", default_value="", description="Namespace of the node and its topics"
        ),
        DeclareLaunchArgument(
            "params_file",
            default_value=PathJoinSubstitution([share, "config", "sspanoptic.yaml"]),
            description="Node parameter file",
        ),
        DeclareLaunchArgument(
            "autostart",
            default_value="true",
            choices=["true", "false"],
            description="Configure and activate the node at start-up; false: it waits unconfigured "
            "for a lifecycle manager. Overrides the autostart of params_file",
        ),
        DeclareLaunchArgument(
            "respawn",
            default_value="false",
            choices=["true", "false"],
            description="Start the node again (after 2 s) whenever it dies",
        ),
        DeclareLaunchArgument(
            "use_rviz",
            default_value="false",
            choices=["true", "false"],
            description="Start RViz showing the input, colored and semantic images",
        ),
    ]
    image_remap = ("image", LaunchConfiguration("image_topic"))
    # Remapping matches whole names: the compressed subscription (use_compressed) needs its own.
    compressed_remap = ("image/compressed", [LaunchConfiguration("image_topic"), "/compressed"])
    node = LifecycleNode(
        package=PACKAGE,
        executable="panoptic_node",
        name="sspanoptic",
        namespace=LaunchConfiguration("namespace"),
        parameters=[
            LaunchConfiguration("params_file"),
            {
                "model_path": ParameterValue(LaunchConfiguration("model"), value_type=str),
                "backend": ParameterValue(LaunchConfiguration("backend"), value_type=str),
                "autostart": ParameterValue(LaunchConfiguration("autostart"), value_type=bool),
                # a YAML list of one topic: [''] (no depth) when depth_topic is empty
                "depth_topics": ParameterValue(["['", LaunchConfiguration("depth_topic"), "']"]),
            },
        ],
        remappings=[image_remap, compressed_remap],
        respawn=LaunchConfiguration("respawn"),
        respawn_delay=RESPAWN_DELAY,
        output="screen",
    )
    rviz = Node(
        package="rviz2",
        executable="rviz2",
        name="rviz2",
        namespace=LaunchConfiguration("namespace"),
        arguments=["-d", PathJoinSubstitution([share, "config", "sspanoptic.rviz"])],
        remappings=[image_remap],
        condition=IfCondition(LaunchConfiguration("use_rviz")),
    )
    return LaunchDescription([*arguments, rviz, node])
