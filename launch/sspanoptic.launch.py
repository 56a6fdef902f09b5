# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Launch the panoptic segmentation node, and optionally RViz showing its input and outputs.

``ros2 launch sspanoptic_ros sspanoptic.launch.py image_topic:=/camera/image_raw use_rviz:=true``
(``sspanoptic.launch.xml`` is the same in XML). The node configures and activates itself
(parameter ``autostart``); set ``autostart: false`` in the parameter file to drive it with a
lifecycle manager instead.
"""

from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.launch_description import LaunchDescription
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import LifecycleNode, Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

PACKAGE = "sspanoptic_ros"


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
            "namespace", default_value="", description="Namespace of the node and its topics"
        ),
        DeclareLaunchArgument(
            "params_file",
            default_value=PathJoinSubstitution([share, "config", "sspanoptic.yaml"]),
            description="Node parameter file",
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
            },
        ],
        remappings=[image_remap, compressed_remap],
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
    return LaunchDescription([*arguments, node, rviz])
