# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The panoptic segmentation node: camera images in, panoptic images and segments out.

A lifecycle node (``rclpy.lifecycle.Node``); with the ``autostart`` parameter (default) it
configures and activates itself, so it also runs without a lifecycle manager.

- configure: builds the engine (loads the model) and creates the publishers;
- activate: builds the engine again if a deactivate dropped it, starts the inference worker,
  subscribes to the cameras and starts the 1 Hz diagnostics;
- deactivate: unsubscribes, stops the worker and drops the engine (freeing GPU memory);
- cleanup / shutdown: also destroys the publishers.

Each camera in ``input_topics`` has its own newest-frame slot. The subscription callback only
stores the message there; one worker thread takes the frames round-robin over the cameras,
decodes, runs the engine and publishes. A frame replaced before the worker took it is dropped,
so nothing queues and latency stays bounded. The outputs of camera ``a/image`` go to
``a/panoptic/{semantic,instance,panoptic,colored,segments}`` (see ``ros.outputs``), each with
the input's header. Inference always runs; the messages of outputs without subscribers are not
built (colourising and JSON are the costly ones).

Run ``ros2 run sspanoptic_ros panoptic_node --ros-args --params-file config/sspanoptic.yaml`` or
``python -m sspanoptic_ros.ros.node --ros-args -p model_path:=model.pt``. The process exits with
1 (and one error line) when the node cannot start, and with 0 on SIGINT or SIGTERM, within a
second also during a slow inference (the frame in progress is abandoned).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np
import rclpy
import torch
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import SetParametersResult
from rclpy.exceptions import InvalidTopicNameException, ParameterException
from rclpy.executors import ExternalShutdownException
from rclpy.lifecycle import Node, Publisher, State, TransitionCallbackReturn
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.subscription import Subscription
from rclpy.timer import Timer
from rclpy.validate_topic_name import validate_topic_name
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header, String

from ..categories import Category, load_categories
from ..engine import Engine, ImageError, create_engine
from ..engine.settings import RUNTIME_SETTINGS, effective_params, split_settings
from ..paths import default_model_path
from ..tracking import Tracker, TrackerParams
from ..visualization import color_lut
from .diagnostics import HealthLimits, InferenceStats, camera_status
from .image_codec import ImageDecodeError, compress_image, message_to_rgb
from .latest_frame import FrameWorker, LatestFrames
from .outputs import (
    COMPRESSED_ID_IMAGES,
    ID_IMAGES,
    camera_info_message,
    colored_image,
    id_image,
    segments_message,
)
from .parameters import PARAMETERS, TRACKER_PARAMETERS, check_choices, descriptor

try:  # optional: without vision_msgs the node publishes no detections and no label_info
    from . import vision
except ImportError as error:
    vision, VISION_MISSING = None, f"vision_msgs unavailable ({error}): no detections or label_info"
else:
    VISION_MISSING = ""
from .shutdown import ignore_interrupts, interrupt_once, mute_interrupts

NODE_NAME = "sspanoptic"
DIAGNOSTICS_PERIOD = 1.0  # seconds
ERROR_THROTTLE = 5.0  # seconds between two logs of bad images (or of failed frames)
# Seconds that stopping the worker waits for the frame in progress. A frame still running after
# that is abandoned: the (daemon) worker finishes it alone and publishes nothing, so deactivate
# and shutdown (SIGINT, SIGTERM) never wait for a slow inference.
WORKER_STOP_TIMEOUT = 0.2
# Errors that explain themselves when a model cannot be used (missing, corrupt, wrong device,
# missing runtime); the log line names the type of any other error.
MODEL_ERRORS = (OSError, ValueError, RuntimeError, ImportError)
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
# Latched (transient local, depth 1): a late subscriber gets the model's labels.
LABEL_INFO_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=1, reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.TRANSIENT_LOCAL,
)


def output_prefix(topic: str) -> str:
    """Namespace of a camera's outputs: ``a/b/image`` -> ``a/b/panoptic``, ``image`` -> ``panoptic``."""
    return sibling_topic(topic, "panoptic")


def sibling_topic(topic: str, name: str) -> str:
    """Topic ``name`` beside ``topic``, as image_transport pairs images and camera_info.

    ``sibling_topic("a/b/image_raw", "camera_info")`` is ``a/b/camera_info``.
    """
    head, sep, _ = topic.rpartition("/")
    return f"{head}{sep}{name}"


def _output_prefixes(topics: list[str]) -> list[str]:
    """Output namespaces of the input topics; ValueError if they are not distinct valid names."""
    if not topics:
        raise ValueError("input_topics must name at least one topic")
    for topic in topics:
        validate_topic_name(topic)
    prefixes = [output_prefix(t) for t in topics]
    if len(set(prefixes)) != len(prefixes):
        raise ValueError(f"input_topics {topics}: two cameras would publish to one namespace")
    return prefixes


def category_difference(model: list[Category], expected: list[Category]) -> str | None:
    """Describe how the model's categories differ from the expected ones, or None if they match.

    Compares the number of categories and, channel by channel, id, name and thing/stuff (not
    the display colours); names the first channel that differs.
    """

    def text(c: Category) -> str:
        return f"{c.id} {c.name!r} ({'thing' if c.isthing else 'stuff'})"

    differences = []
    if len(model) != len(expected):
        differences.append(f"the model has {len(model)} categories, {len(expected)} expected")
    for channel, (got, wanted) in enumerate(zip(model, expected)):
        if (got.id, got.name, got.isthing) != (wanted.id, wanted.name, wanted.isthing):
            differences.append(f"channel {channel} is {text(got)}, expected {text(wanted)}")
            break
    return "; ".join(differences) or None


def _free_gpu_cache(device: torch.device) -> None:
    """Return the GPU memory torch caches but no tensor uses any more (after dropping an engine)."""
    if device.type == "cuda":
        torch.cuda.empty_cache()


def _first_line(error: Exception) -> str:
    """One log line about ``error``: its message's first line, with its type if not self-explaining."""
    lines = str(error).strip().splitlines()
    message = lines[0] if lines else ""
    if isinstance(error, MODEL_ERRORS) and message:
        return message
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def _qos(reliability: str, depth: int) -> QoSProfile:
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=depth,
        reliability=(
            ReliabilityPolicy.RELIABLE if reliability == "reliable" else ReliabilityPolicy.BEST_EFFORT
        ),
        durability=DurabilityPolicy.VOLATILE,
    )


@dataclass
class Camera:
    """One input topic: its output publishers, subscription and statistics."""

    topic: str
    publishers: dict[str, Publisher] = field(default_factory=dict)
    label_info: Any = None  # latched vision_msgs/LabelInfo publisher (None without vision_msgs)
    subscription: Subscription | None = None
    camera_info_subscription: Subscription | None = None
    camera_info: CameraInfo | None = None  # the latest one received
    last_image: float = 0.0  # time.monotonic() of the latest image (of activation before one)
    tracker: Tracker = field(default_factory=Tracker)  # updated by the worker thread only
    last_stamp: int = -1  # header stamp (ns) of the latest tracked frame
    stats: InferenceStats = field(default_factory=InferenceStats)

    @property
    def camera_info_topic(self) -> str:
        """Where this camera's camera_info comes from."""
        return sibling_topic(self.topic, "camera_info")


class PanopticNode(Node):
    """Lifecycle node running a panoptic segmentation engine on one or more cameras."""

    def __init__(self, node_name: str = NODE_NAME, **kwargs: Any):
        super().__init__(node_name, **kwargs)
        for spec in PARAMETERS:
            self.declare_parameter(spec.name, spec.default, descriptor(spec))
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self._engine: Engine | None = None
        self._lut: np.ndarray | None = None
        self._names: dict[int, str] = {}
        self._info: dict[str, str] = {}
        self._cameras: list[Camera] = []
        self._diagnostics: Publisher | None = None
        self._diagnostics_timer: Timer | None = None
        self._frames: LatestFrames | None = None
        self._worker: FrameWorker | None = None
        self._serving = threading.Event()  # of the current worker; cleared when it must stop

    @property
    def autostart(self) -> bool:
        """Whether the node configures and activates itself at start-up."""
        return self._param("autostart")

    def start(self) -> bool:
        """Configure and activate; False (with the reason logged) if a transition failed."""
        return (
            self.trigger_configure() == TransitionCallbackReturn.SUCCESS
            and self.trigger_activate() == TransitionCallbackReturn.SUCCESS
        )

    # --- lifecycle transitions -------------------------------------------------------------

    def on_configure(self, state: State) -> TransitionCallbackReturn:
        """Build the engine and create the publishers."""
        topics = self._param("input_topics")
        try:
            check_choices({spec.name: self._param(spec.name) for spec in PARAMETERS})
            prefixes = _output_prefixes(topics)
        except (ValueError, InvalidTopicNameException) as e:
            self.get_logger().error(f"invalid parameters: {str(e).splitlines()[0]}")
            return TransitionCallbackReturn.FAILURE
        if not self._load_engine():
            return TransitionCallbackReturn.FAILURE
        qos = _qos(self._param("output_reliability"), self._param("output_depth"))
        for topic, prefix in zip(topics, prefixes):
            publishers = {
                name: self.create_lifecycle_publisher(msg_type, f"{prefix}/{name}", qos)
                for name, msg_type in OUTPUTS.items()
            }
            label_info = (
                self.create_publisher(vision.LabelInfo, f"{prefix}/label_info", LABEL_INFO_QOS)
                if vision else None
            )
            tracker = Tracker(self._tracker_params())
            self._cameras.append(Camera(topic, publishers, label_info, tracker=tracker))
        if VISION_MISSING:
            self.get_logger().warning(VISION_MISSING)
        self._publish_label_info()
        self._diagnostics = self.create_lifecycle_publisher(DiagnosticArray, "/diagnostics", 10)
        return super().on_configure(state)

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        """Start the worker, subscribe to the cameras and start the diagnostics."""
        if self._engine is None and not self._load_engine():
            return TransitionCallbackReturn.FAILURE
        result = super().on_activate(state)  # enables the publishers
        self._frames = LatestFrames(len(self._cameras))
        self._serving = threading.Event()  # a worker still finishing a frame keeps its own
        self._serving.set()
        self._worker = FrameWorker(
            self._frames,
            partial(self._process, self._serving),
            partial(self._on_frame_error, self._serving),
        )
        self._worker.start()
        compressed = self._param("use_compressed")
        qos = _qos(self._param("input_reliability"), 1)
        for slot, camera in enumerate(self._cameras):
            camera.stats, camera.last_image = InferenceStats(), time.monotonic()
            camera.subscription = self.create_subscription(
                CompressedImage if compressed else Image,
                f"{camera.topic}/compressed" if compressed else camera.topic,
                partial(self._on_image, slot),
                qos,
            )
            camera.camera_info_subscription = self.create_subscription(
                CameraInfo, camera.camera_info_topic, partial(setattr, camera, "camera_info"), qos
            )
        self._diagnostics_timer = self.create_timer(DIAGNOSTICS_PERIOD, self._publish_diagnostics)
        self.get_logger().info("active: " + ", ".join(c.subscription.topic_name for c in self._cameras))
        return result

    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        """Unsubscribe, stop the worker and free the engine."""
        self._stop()
        return super().on_deactivate(state)

    def on_cleanup(self, state: State) -> TransitionCallbackReturn:
        """Destroy the publishers and drop the engine."""
        self._release()
        return super().on_cleanup(state)

    def on_shutdown(self, state: State) -> TransitionCallbackReturn:
        """Stop everything, whatever the current state."""
        self.close()
        return super().on_shutdown(state)

    def on_error(self, state: State) -> TransitionCallbackReturn:
        """Stop everything and go back to unconfigured."""
        self.close()
        return TransitionCallbackReturn.SUCCESS

    def close(self) -> bool:
        """Stop the worker and release every resource (also usable after rclpy shut down).

        Returns False when a frame in progress was abandoned: its thread still runs the engine.
        """
        stopped = self._stop()
        self._release()
        return stopped

    def _on_image(self, slot: int, msg: Image | CompressedImage) -> None:
        now = time.monotonic()
        self._cameras[slot].last_image = now
        self._frames.put(slot, (msg, now))

    # --- engine -----------------------------------------------------------------------------

    def _load_engine(self) -> bool:
        """Build the engine from the parameters; log one clear error line and return False if not."""
        model_path = self._param("model_path") or str(default_model_path())
        backend, device = self._param("backend"), self._param("device")
        categories_path = self._param("expected_categories")
        try:
            panoptic, decode = split_settings({n: self._param(n) for n in RUNTIME_SETTINGS})
        except ValueError as e:
            self.get_logger().error(f"invalid parameters: {e}")
            return False
        try:
            expected = load_categories(categories_path) if categories_path else None
        except (OSError, ValueError, TypeError) as e:  # TypeError: JSON of the wrong shape
            self.get_logger().error(f"cannot read expected_categories {categories_path}: {_first_line(e)}")
            return False
        try:
            engine = create_engine(
                model_path,
                backend=backend,
                device=device or None,
                precision=self._param("precision"),
                cuda_graphs=self._param("cuda_graphs"),
                tensorrt_nms=self._param("tensorrt_nms"),
                params=panoptic,
                decode=decode,
                max_pixels=self._param("max_image_pixels"),
            )
        except Exception as e:  # whatever is wrong with the file, one line and no engine
            self.get_logger().error(f"cannot load model {model_path} ({backend} backend): {_first_line(e)}")
            return False
        if expected is not None and (difference := category_difference(engine.config.categories, expected)):
            self.get_logger().error(
                f"model {model_path} does not have the expected_categories {categories_path}: {difference}"
            )
            return False
        self._engine = engine
        self._show_settings(engine)
        self._lut = color_lut(engine.config.categories)
        self._names = {c.id: c.name for c in engine.config.categories}
        self._info = {
            "backend": engine.backend.name,
            "device": str(engine.device),
            "model": engine.config.name,
        }
        self.get_logger().info(
            f"engine ready: model {engine.config.name} ({model_path}), {engine.backend.name} "
            f"backend on {engine.device}, overlap_policy {engine.params.overlap_policy}"
        )
        return True

    def _drop_engine(self) -> None:
        if self._engine is None:
            return
        device = self._engine.device
        self._engine = None
        _free_gpu_cache(device)

    def _show_settings(self, engine: Engine) -> None:
        """Set the engine's parameters to the values it runs with, where the model changed them.

        A model without a centre branch runs highest_confidence; a network with EfficientNMS
        inside has its own NMS settings.
        """
        in_use = {**vars(engine.params), **vars(engine.decode)}
        changed = [Parameter(n, value=in_use[n]) for n in RUNTIME_SETTINGS if in_use[n] != self._param(n)]
        for param in changed:
            self.get_logger().warning(
                f"parameter {param.name} is {param.value!r}: what model {engine.config.name!r} runs "
                f"instead of {self._param(param.name)!r}"
            )
        self.set_parameters(changed)

    def _on_set_parameters(self, params: list[Parameter]) -> SetParametersResult:
        """Apply threshold and policy changes to the engine; reject invalid values with a reason.

        A value the model would not run as given (``effective_params``) is rejected, so that the
        parameter always shows what is in use.
        """
        tracking = {TRACKER_PARAMETERS[p.name]: p.value for p in params if p.name in TRACKER_PARAMETERS}
        try:
            tracker_params = replace(self._tracker_params(), **tracking)
        except ValueError as e:
            return SetParametersResult(successful=False, reason=str(e))
        changes = {p.name: p.value for p in params if p.name in RUNTIME_SETTINGS}
        if not changes:
            self._set_tracker_params(tracker_params)
            return SetParametersResult(successful=True)
        engine = self._engine
        try:
            if engine is None:  # applied at the next configure; only check them now
                split_settings({n: self._param(n) for n in RUNTIME_SETTINGS} | changes)
                self._set_tracker_params(tracker_params)
                return SetParametersResult(successful=True)
            panoptic, decode = split_settings(changes, *engine.settings)
            _, why = effective_params(panoptic, engine.config)
            if why:
                return SetParametersResult(successful=False, reason=f"{why}, which stays in use")
            # The engine swaps its settings atomically; a frame in progress keeps its own.
            engine.settings = (panoptic, decode)
        except ValueError as e:
            return SetParametersResult(successful=False, reason=str(e))
        self._set_tracker_params(tracker_params)  # only once every value of the request is valid
        if "score_threshold" in changes:
            self._publish_label_info(changes["score_threshold"])
        return SetParametersResult(successful=True)

    def _set_tracker_params(self, params: TrackerParams) -> None:
        for camera in self._cameras:
            camera.tracker.params = params  # read once per frame by the worker

    def _publish_label_info(self, threshold: float | None = None) -> None:
        """Latch the model's labels and the score threshold on every camera's label_info."""
        if vision is None or self._engine is None:
            return
        threshold = self._engine.params.score_threshold if threshold is None else threshold
        header = Header(stamp=self.get_clock().now().to_msg())
        msg = vision.label_info_message(self._engine.config.categories, threshold, header)
        for camera in self._cameras:
            camera.label_info.publish(msg)

    # --- frames -----------------------------------------------------------------------------

    def _process(
        self, serving: threading.Event, slot: int, frame: tuple[Image | CompressedImage, float]
    ) -> None:
        """Decode one frame, run the engine and publish the outputs (in the worker thread).

        Once ``serving`` is cleared (the worker was stopped) the outputs are not published.
        """
        msg, received_at = frame
        engine, camera = self._engine, self._cameras[slot]  # bound once for the whole frame
        if engine is None:  # deactivated since the frame arrived
            return
        rgb = message_to_rgb(msg, self._param("max_image_pixels"))
        result = engine.infer(rgb)
        if not serving.is_set():  # stopped during the inference: the frame is abandoned
            device = engine.device
            del engine, result  # the node dropped this engine: this was its last reference
            _free_gpu_cache(device)
            return
        if self._param("track_instances"):
            result = self._track(camera, result, msg.header)
        else:  # tracking starts afresh when it is turned on again
            camera.tracker.reset()
            camera.last_stamp = -1
        self._publish_outputs(camera, result, rgb, msg.header)
        camera.stats.add_processed(time.monotonic() - received_at)

    def _track(self, camera: Camera, result, header: Header):
        """Return the frame numbered by track id; a stream going back in time starts afresh."""
        tracker, stamp = camera.tracker, header.stamp.sec * 10**9 + header.stamp.nanosec
        if stamp < camera.last_stamp:
            self.get_logger().info(f"{camera.topic}: stamps went back in time (a bag restarting?): "
                                   "tracks reset")
            tracker.reset()
        camera.last_stamp = stamp
        return tracker.track(result)

    def _publish_outputs(self, camera: Camera, result, rgb: np.ndarray, header: Header) -> None:
        """Publish every output of one frame that has subscribers, each built once."""
        publishers = camera.publishers
        wanted = {name for name, publisher in publishers.items() if publisher.get_subscription_count()}
        for name in ID_IMAGES:
            if wanted & {name, f"{name}/compressed"}:
                image = id_image(result, name, header)
                if name in wanted:
                    publishers[name].publish(image)
                if f"{name}/compressed" in wanted:
                    publishers[f"{name}/compressed"].publish(compress_image(image))
        if self._param("publish_colored") and wanted & {"colored", "colored/compressed"}:
            alpha = self._param("colored_alpha")
            image = colored_image(result, self._lut, header, rgb if alpha < 1.0 else None, alpha)
            if "colored" in wanted:
                publishers["colored"].publish(image)
            if "colored/compressed" in wanted:
                quality = self._param("jpeg_quality")
                publishers["colored/compressed"].publish(compress_image(image, quality))
        if "segments" in wanted:
            tracked = self._param("track_instances")
            publishers["segments"].publish(segments_message(result, header, self._names, tracked))
        if "detections" in wanted:
            publishers["detections"].publish(vision.detections_message(result, header))
        info = camera.camera_info
        if "camera_info" in wanted and info is not None:
            publishers["camera_info"].publish(camera_info_message(info, header))

    def _on_frame_error(self, serving: threading.Event, slot: int, error: Exception) -> None:
        if not serving.is_set():  # an abandoned frame failing while the node tears down
            return
        camera = self._cameras[slot]
        camera.stats.add_failed()
        if isinstance(error, (ImageDecodeError, ImageError)):
            self.get_logger().error(
                f"image on {camera.topic} skipped: {error}", throttle_duration_sec=ERROR_THROTTLE
            )
        else:
            self.get_logger().error(
                f"frame on {camera.topic} failed: {type(error).__name__}: {error}",
                throttle_duration_sec=ERROR_THROTTLE,
            )

    def _publish_diagnostics(self) -> None:
        msg = DiagnosticArray()
        msg.header.stamp = self.get_clock().now().to_msg()
        limits = HealthLimits(
            self._param("expected_fps"), self._param("fps_tolerance"), self._param("stale_timeout")
        )
        now = time.monotonic()
        for slot, camera in enumerate(self._cameras):
            name = f"{self.get_name()}: {camera.subscription.topic_name}"
            no_info = "" if camera.camera_info is not None else camera.camera_info_subscription.topic_name
            report, counts = camera.stats.report(), self._frames.counts(slot)
            msg.status.append(
                camera_status(name, report, counts, self._info, limits, now - camera.last_image, no_info)
            )
        self._diagnostics.publish(msg)

    # --- teardown ---------------------------------------------------------------------------

    def _stop(self) -> bool:
        """Unsubscribe, stop the diagnostics and the worker, drop the engine.

        Returns whether the worker thread ended within ``WORKER_STOP_TIMEOUT``.
        """
        self._serving.clear()
        for camera in self._cameras:
            # A new stream after activate; ids go on counting. A new tracker object, since an
            # abandoned frame's thread may still hold the old one.
            camera.tracker, camera.last_stamp = camera.tracker.restarted(), -1
            for subscription in (camera.subscription, camera.camera_info_subscription):
                if subscription is not None:
                    self.destroy_subscription(subscription)
            camera.subscription = camera.camera_info_subscription = None
            camera.camera_info = None
        if self._diagnostics_timer is not None:
            self.destroy_timer(self._diagnostics_timer)
            self._diagnostics_timer = None
        stopped = self._worker is None or self._worker.stop(WORKER_STOP_TIMEOUT)
        self._worker = None
        self._drop_engine()
        return stopped

    def _release(self) -> None:
        """Destroy the publishers and drop the engine."""
        for camera in self._cameras:
            for publisher in camera.publishers.values():
                self.destroy_lifecycle_publisher(publisher)
            if camera.label_info is not None:
                self.destroy_publisher(camera.label_info)
        self._cameras = []
        if self._diagnostics is not None:
            self.destroy_lifecycle_publisher(self._diagnostics)
            self._diagnostics = None
        self._drop_engine()

    def _tracker_params(self) -> TrackerParams:
        return TrackerParams(**{field: self._param(name) for name, field in TRACKER_PARAMETERS.items()})

    def _param(self, name: str) -> Any:
        return self.get_parameter(name).value


def main(args: list[str] | None = None) -> int:
    """Run the node until shutdown; returns the process exit code.

    0: shut down by SIGINT or SIGTERM (also during an inference: the frame is abandoned and
    the process ends within a second; the signals that follow the first, such as the SIGINT
    that ``ros2 launch`` sends after a Ctrl-C, are ignored); 1: the node could not start (the
    reason is logged); 2: an invalid parameter value.
    """
    interrupt_once()
    node = None
    code = 0
    try:
        rclpy.init(args=args)
        node = PanopticNode()
        if node.autostart and not node.start():
            code = 1
        else:
            rclpy.spin(node)
    except ParameterException as e:
        rclpy.logging.get_logger(NODE_NAME).error(f"invalid parameter: {e}")
        code = 2
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        mute_interrupts()
        stopped = node is None or node.close()
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
        ignore_interrupts()
    if not stopped:
        # A thread is still inside the engine: the interpreter would abort the process when
        # finalising under it (std::terminate in torch), so end the process here.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
