# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Launch the panoptic segmentation node, and optionally RViz showing its input and outputs.

``ros2 launch sspanoptic_ros sspanoptic.launch.py image_topic:=/camera/image_raw use_rviz:=true``
(with an RGB-D camera also ``depth_topic:=/camera/aligned_depth_to_color/image_raw``)
(``sspanoptic.launch.xml`` declares the same arguments and includes this file). The node
configures and activates itself; ``autostart:=false`` leaves it unconfigured for a lifecycle
manager or ``ros2 lifecycle set``. Its camera_info and outputs follow ``image_topic``
(``/a/b/image_raw`` -> ``/a/b/camera_info``, ``/a/b/panoptic/...``), and so do RViz's
displays. RViz comes first: with ``use_rviz:=true`` and no rviz2 installed, launch fails before
it starts anything. A node that exits with an error (a missing model, say) ends launch with that
error as its last line and exit code 1, unless ``respawn:=true``.
"""

from functools import partial

from launch.actions import DeclareLaunchArgument, OpaqueFunction, RegisterEventHandler
from launch.conditions import IfCondition
from launch.event_handlers import OnProcessExit, OnProcessIO
from launch.launch_description import LaunchDescription
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import LifecycleNode, Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

from sspanoptic_ros.ros.topics import output_prefix

PACKAGE = "sspanoptic_ros"
RESPAWN_DELAY = 2.0  # seconds before a node that died starts again (respawn:=true)
RVIZ_OUTPUTS = ("colored", "semantic", "points", "markers")  # shown by config/sspanoptic.rviz


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
            "input_reliability",
            default_value="best_effort",
            choices=["best_effort", "reliable"],
            description="QoS reliability of the image subscription: best_effort matches every "
            "camera driver; reliable for large frames from a reliable publisher. Overrides the "
            "input_reliability of params_file",
        ),
        DeclareLaunchArgument(
            "use_compressed",
            default_value="false",
            choices=["true", "false"],
            description="Subscribe to <image_topic>/compressed (JPEG or PNG). Overrides the "
            "use_compressed of params_file",
        ),
        DeclareLaunchArgument(
            "log_level",
            default_value="info",
            choices=["debug", "info", "warn", "error", "fatal"],
            description="Log level of the node",
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
                "input_reliability": ParameterValue(LaunchConfiguration("input_reliability"), value_type=str),
                "use_compressed": ParameterValue(LaunchConfiguration("use_compressed"), value_type=bool),
                # a YAML list of one topic: [''] (no depth) when depth_topic is empty
                "depth_topics": ParameterValue(["['", LaunchConfiguration("depth_topic"), "']"]),
            },
        ],
        ros_arguments=["--log-level", LaunchConfiguration("log_level")],
        remappings=[image_remap, compressed_remap],
        respawn=LaunchConfiguration("respawn"),
        respawn_delay=RESPAWN_DELAY,
        output="screen",
    )
    rviz = OpaqueFunction(function=partial(rviz_node, share, image_remap),
                          condition=IfCondition(LaunchConfiguration("use_rviz")))
    return LaunchDescription([*arguments, rviz, node, *end_on_error(node)])


def rviz_node(share, image_remap: tuple, context) -> list[Node]:
    """RViz with the config's displays on this camera's topics.

    The config shows ``image`` and ``panoptic/<output>``; the node publishes its outputs beside
    ``image_topic`` (``/a/b/image_raw`` -> ``/a/b/panoptic/``), so each display is remapped there.
    """
    prefix = output_prefix(context.perform_substitution(LaunchConfiguration("image_topic")))
    return [Node(
        package="rviz2",
        executable="rviz2",
        name="rviz2",
        namespace=LaunchConfiguration("namespace"),
        arguments=["-d", PathJoinSubstitution([share, "config", "sspanoptic.rviz"])],
        remappings=[image_remap, *((f"panoptic/{name}", f"{prefix}/{name}") for name in RVIZ_OUTPUTS)],
    )]


def end_on_error(node: LifecycleNode) -> list[RegisterEventHandler]:
    """End launch with the node's last error line and exit code 1 when the node fails.

    ``ros2 launch`` exits with 1 only for an exception in launch itself, so the handler raises
    one; launch prints it last ("Caught exception in launch ..."). A node that exits with 0
    (Ctrl-C, SIGTERM) or that respawns (``respawn:=true``) ends nothing.
    """
    errors = []  # the node's last error line (one kept, however long the node runs)

    def remember(event) -> None:
        lines = [line for line in event.text.decode(errors="replace").splitlines() if "[ERROR]" in line]
        if lines:
            errors[:] = [lines[-1].split("]: ", 1)[-1]]

    def ended(event, context) -> None:
        respawn = context.perform_substitution(LaunchConfiguration("respawn")) == "true"
        if event.returncode == 0 or respawn or context.is_shutdown:
            return None
        why = errors[-1] if errors else "see its output above"
        raise RuntimeError(f"the panoptic node exited with code {event.returncode}: {why}")

    return [
        RegisterEventHandler(OnProcessIO(target_action=node, on_stdout=remember, on_stderr=remember)),
        RegisterEventHandler(OnProcessExit(target_action=node, on_exit=ended)),
    ]
