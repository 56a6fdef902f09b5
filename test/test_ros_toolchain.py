# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The colcon-built package run as a robot user runs it: ``ros2 launch``, ``ros2 run`` and the CLI.

Every test starts the real ``ros2 launch`` (or ``ros2 run``) from the colcon install
(``colcon_install``) in a ROS domain of its own, talks to the node from this process
(``Harness``) and with ``ros2 param|lifecycle|topic``, and ends as Ctrl-C ends it: one SIGINT to
the process group; launch must exit 0, the node must have "finished cleanly" and nothing of the
group may be left running. The node runs a tiny random model (or the bundled demo model) on the
CPU; outputs are compared with ``Engine.infer`` run here on the same model.
"""

import json
import os
import re
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import rclpy
import torch
import yaml
from colcon_helpers import Install, Session, next_domain_id
from conftest import REPO, tiny_config
from diagnostic_msgs.msg import DiagnosticArray
from ros_helpers import (
    Harness,
    camera_info,
    check_outputs,
    compressed_msg,
    depth_message,
    image_msg,
    photo,
    raw_pixels,
)
from sensor_msgs.msg import CameraInfo

from sspanoptic_ros.bench.session import ROS_ENVIRONMENT
from sspanoptic_ros.data.synthetic_depth import render_rgbd
from sspanoptic_ros.engine import create_engine
from sspanoptic_ros.model import build_model, save_checkpoint
from sspanoptic_ros.ros.image_codec import compressed_to_rgb, image_to_rgb
from sspanoptic_ros.ros.outputs_3d import OUTPUTS_3D

pytestmark = pytest.mark.ros  # runs on Kilted and Jazzy (setup.cfg)

LAUNCH_FILES = ["sspanoptic.launch.py", "sspanoptic.launch.xml"]
FINISHED = r"\[INFO\] \[panoptic_node-1\]: process has finished cleanly"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """Return a tiny random model (its detector scores high enough to detect things) and its engine."""
    torch.manual_seed(0)
    model = build_model(tiny_config())
    torch.nn.init.constant_(model.detector.classification_head.cls_logits.bias, 0.0)
    path = tmp_path_factory.mktemp("launch_model") / "tiny.pt"
    save_checkpoint(path, model)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield path, create_engine(path, "torch", "cpu")
    torch.set_num_threads(threads)


@pytest.fixture
def ros_side(monkeypatch):
    """Yield a domain id of this test's own and a test-side node (``Harness``) in it."""
    for key, value in ROS_ENVIRONMENT.items():
        monkeypatch.setenv(key, value)
    domain_id = next_domain_id()
    context = rclpy.Context()
    context.init(domain_id=domain_id)
    harness = Harness(context)
    yield domain_id, harness
    harness.close()
    context.try_shutdown()


def params_file(directory, **values) -> str:
    """Write the installed parameter file with ``values`` changed; return its path.

    Tracking is off unless asked for: outputs are compared with ``Engine.infer`` per frame.
    """
    document = yaml.safe_load((REPO / "config" / "sspanoptic.yaml").read_text())
    document["/**"]["ros__parameters"].update({"track_instances": False, **values})
    path = directory / "params.yaml"
    path.write_text(yaml.safe_dump(document))
    return str(path)


def launch(install: Install, launch_file: str, domain_id: int, log, *arguments: str) -> Session:
    return install.start("launch", "sspanoptic_ros", launch_file, *arguments, domain_id=domain_id, log=log)


def assert_interrupt_ends_cleanly(session: Session, finished: str = FINISHED) -> str:
    """Ctrl-C: one SIGINT to the group; launch exits 0, the node finished cleanly, nothing is left."""
    code, survivors = session.interrupt()
    text = session.text()
    assert code == 0, f"launch exit code {code}:\n{text}"
    assert re.search(finished, text), text
    assert not survivors, f"still running after launch ended: {survivors}\n{text}"
    for bad in ("Traceback", "[ERROR]", "process has died"):
        assert bad not in text, text
    return text


@pytest.mark.parametrize("compressed", [False, True], ids=["raw", "compressed"])
@pytest.mark.parametrize("launch_file", LAUNCH_FILES)
def test_launch_file_serves_every_output_and_ctrl_c_ends_it(
        launch_file, compressed, colcon_install, tiny_model, ros_side, tmp_path):
    """image_topic, namespace, backend, model and params_file reach the node; both launch files.

    The camera's camera_info and outputs follow the remapped image topic, also in a namespace.
    """
    domain_id, harness = ros_side
    model_path, engine = tiny_model
    params = params_file(tmp_path, device="cpu")
    session = launch(colcon_install, launch_file, domain_id, tmp_path / "launch.log",
                     "image_topic:=/cameras/front/image_raw", "namespace:=robot1",
                     f"use_compressed:={str(compressed).lower()}",
                     "backend:=torch", f"model:={model_path}", f"params_file:={params}")
    try:
        harness.subscribe_outputs("/cameras/front/panoptic")
        harness.subscribe("/cameras/front/panoptic/camera_info", CameraInfo)
        info = CameraInfo(height=72, width=108, k=[90.0, 0.0, 54.0, 0.0, 90.0, 36.0, 0.0, 0.0, 1.0])
        rgb = photo(72, 108)
        topic = "/cameras/front/image_raw/compressed" if compressed else "/cameras/front/image_raw"

        def relayed(stamp):  # the camera_info passed on with the frame's stamp
            return [m for m, _ in harness.received("/cameras/front/panoptic/camera_info")
                    if m.header.stamp == stamp and list(m.k) == list(info.k)]

        deadline = time.monotonic() + 60
        while True:  # a frame that came before the node had a camera_info is passed on without one
            harness.publish("/cameras/front/camera_info", info)
            if compressed:
                sent = compressed_msg(rgb, "png", harness.next_stamp())
                decoded = compressed_to_rgb(sent)
            else:
                sent = image_msg(raw_pixels(rgb, "rgb8"), 108, "rgb8", harness.next_stamp())
                decoded = image_to_rgb(sent)
            check_outputs(harness.exchange(topic, sent, "/cameras/front/panoptic"), sent, decoded, engine)
            end = time.monotonic() + 2
            while not relayed(sent.header.stamp) and time.monotonic() < end:
                time.sleep(0.05)
            if relayed(sent.header.stamp):
                break
            assert time.monotonic() < deadline, "no camera_info on /cameras/front/panoptic/camera_info"
        # launch passes the node's output on asynchronously, and node names come with discovery
        session.wait_for(re.escape(f"active: {topic}"))
        text = session.text()
        assert f"model tiny ({model_path}), torch backend on cpu" in text, text
        wait_until(lambda: "/robot1/sspanoptic" in harness.node.get_fully_qualified_node_names(),
                   "the node's name in the graph")
        assert f"active: {topic}" in text, text
        assert_interrupt_ends_cleanly(session)
    finally:
        session.kill()


@pytest.mark.parametrize("launch_file", LAUNCH_FILES)
def test_launch_file_with_depth_topic_serves_the_3d_outputs(
        launch_file, colcon_install, tiny_model, ros_side, tmp_path):
    """depth_topic reaches the node: RGB-D frames give points, 3D detections and markers."""
    domain_id, harness = ros_side
    model_path, _ = tiny_model
    session = launch(colcon_install, launch_file, domain_id, tmp_path / "launch.log",
                     "namespace:=rgbd", "depth_topic:=aligned_depth/image_raw", "backend:=torch",
                     f"model:={model_path}", f"params_file:={params_file(tmp_path, device='cpu')}")
    try:
        for name, msg_type in OUTPUTS_3D.items():
            harness.subscribe(f"/rgbd/panoptic/{name}", msg_type)
        frame = render_rgbd(5, 72, 108)
        deadline = time.monotonic() + 120
        while not all(harness.received(f"/rgbd/panoptic/{n}") for n in OUTPUTS_3D):
            assert time.monotonic() < deadline, session.text()
            stamp = harness.next_stamp()
            harness.publish("/rgbd/camera_info", camera_info(frame.k, (72, 108), stamp))
            harness.publish("/rgbd/aligned_depth/image_raw", depth_message(frame.depth, "16UC1", stamp))
            harness.publish("/rgbd/image", image_msg(raw_pixels(frame.rgb, "rgb8"), 108, "rgb8", stamp))
            time.sleep(1.0)
        cloud = harness.received("/rgbd/panoptic/points")[0][0]
        valid = (frame.depth >= 0.1) & (frame.depth <= 20.0)
        assert cloud.width * cloud.height == np.count_nonzero(valid)
        assert harness.received("/rgbd/panoptic/markers")[0][0].markers[0].action == 3  # DELETEALL
        assert "depth of /rgbd/image: /rgbd/aligned_depth/image_raw" in session.text()
        assert_interrupt_ends_cleanly(session)
    finally:
        session.kill()


@pytest.mark.parametrize("launch_file", LAUNCH_FILES)
def test_use_rviz_without_rviz2_fails_before_starting_anything(launch_file, colcon_install, tmp_path,
                                                               monkeypatch):
    from ament_index_python.packages import PackageNotFoundError, get_package_prefix

    env = colcon_install.env(next_domain_id())
    monkeypatch.setenv("AMENT_PREFIX_PATH", env["AMENT_PREFIX_PATH"])
    try:
        get_package_prefix("rviz2")
        pytest.skip("rviz2 is installed here: nothing to check")
    except PackageNotFoundError:
        pass
    session = launch(colcon_install, launch_file, next_domain_id(), tmp_path / "launch.log",
                     "use_rviz:=true", "backend:=torch")
    try:
        code, survivors = session.ended()
    finally:
        session.kill()
    text = session.text()
    assert code != 0 and "package 'rviz2' not found" in text, text
    assert "process started" not in text, text  # the panoptic node was never started
    assert not survivors, survivors


@pytest.mark.parametrize("launch_file", LAUNCH_FILES)
def test_rviz_shows_the_outputs_of_a_remapped_camera(launch_file, colcon_install, tiny_model, tmp_path,
                                                     monkeypatch):
    """use_rviz:=true starts RViz with the config, its displays remapped to the camera's topics.

    rviz2 cannot run here: a stand-in package ``rviz2`` (an executable that writes its arguments
    to a file) is put on AMENT_PREFIX_PATH, where ros2 launch finds it as it finds the real one.
    """
    stub, argv_file = tmp_path / "rviz2_stub", tmp_path / "rviz2_argv.json"
    (stub / "share" / "ament_index" / "resource_index" / "packages").mkdir(parents=True)
    (stub / "share" / "ament_index" / "resource_index" / "packages" / "rviz2").touch()
    executable = stub / "lib" / "rviz2" / "rviz2"
    executable.parent.mkdir(parents=True)
    executable.write_text(f"#!{sys.executable}\nimport json, sys\n"
                          f"json.dump(sys.argv[1:], open({str(argv_file)!r}, 'w'))\n")
    executable.chmod(0o755)
    monkeypatch.setenv("AMENT_PREFIX_PATH", f"{stub}{os.pathsep}{os.environ.get('AMENT_PREFIX_PATH', '')}")
    model_path, _ = tiny_model
    session = launch(colcon_install, launch_file, next_domain_id(), tmp_path / "launch.log",
                     "use_rviz:=true", "image_topic:=/cameras/front/image_raw", "namespace:=robot1",
                     "backend:=torch", f"model:={model_path}",
                     f"params_file:={params_file(tmp_path, device='cpu')}")
    try:
        session.wait_for(re.escape("active: /cameras/front/image_raw"))
        assert_interrupt_ends_cleanly(session, FINISHED.replace("panoptic_node-1", "panoptic_node-2"))
    finally:
        session.kill()
    argv = json.loads(argv_file.read_text())
    config = argv[argv.index("-d") + 1]
    assert config.startswith(str(colcon_install.prefix)) and config.endswith("config/sspanoptic.rviz")
    remaps = dict(argv[i + 1].split(":=") for i, a in enumerate(argv) if a in ("-r", "--remap"))
    assert remaps["__ns"] == "/robot1" and remaps["image"] == "/cameras/front/image_raw"
    displays = yaml.safe_load(Path(config).read_text())["Visualization Manager"]["Displays"]
    topics = [d.get("Topic", {}).get("Value", "") for d in displays]
    shown = [topic for topic in topics if topic.startswith("panoptic/")]
    assert len(shown) == 4, shown
    for topic in shown:  # where the node publishes: beside the remapped image topic
        assert remaps[topic] == topic.replace("panoptic/", "/cameras/front/panoptic/", 1), remaps


@pytest.mark.parametrize("launch_file", LAUNCH_FILES)
def test_a_node_that_cannot_start_ends_launch_with_its_error(launch_file, colcon_install, tmp_path):
    session = launch(colcon_install, launch_file, next_domain_id(), tmp_path / "launch.log",
                     "model:=/missing.pt", "backend:=torch")
    try:
        code, survivors = session.ended(timeout=120)
    finally:
        session.kill()
    text = session.text()
    last = text.strip().splitlines()[-1]
    assert code == 1 and not survivors, (code, survivors, text)
    assert "the panoptic node exited with code 1: cannot load model /missing.pt (torch backend)" in last, text


@pytest.mark.parametrize("launch_file", LAUNCH_FILES)
def test_reliability_and_log_level_arguments_reach_the_node(launch_file, colcon_install, tiny_model,
                                                            tmp_path):
    domain_id = next_domain_id()
    model_path, _ = tiny_model
    session = launch(colcon_install, launch_file, domain_id, tmp_path / "launch.log",
                     "input_reliability:=reliable", "log_level:=debug", "backend:=torch",
                     f"model:={model_path}", f"params_file:={params_file(tmp_path, device='cpu')}")
    try:
        session.wait_for(r"\[sspanoptic\]: active: ")
        reliability = colcon_install.cli("param", "get", "/sspanoptic", "input_reliability",
                                         domain_id=domain_id)
        assert "reliable" in reliability.stdout, reliability.stdout
        assert "best_effort" not in reliability.stdout, reliability.stdout
        assert "[DEBUG]" in session.text(), session.text()  # rclpy's own debug lines
        assert_interrupt_ends_cleanly(session)
    finally:
        session.kill()


@pytest.mark.parametrize("launch_file", LAUNCH_FILES)
def test_respawn_starts_a_node_that_died_again(launch_file, colcon_install, tmp_path):
    session = launch(colcon_install, launch_file, next_domain_id(), tmp_path / "launch.log",
                     "respawn:=true", "backend:=torch")
    try:
        pid = int(session.wait_for(r"panoptic_node-1\]: process started with pid \[(\d+)\]").group(1))
        os.kill(pid, signal.SIGKILL)  # a crash
        session.wait_for(rf"process has died \[pid {pid}, exit code -9")
        respawned = session.wait_for(r"panoptic_node-1\]: process started with pid \[(\d+)\]", count=2)
        assert int(respawned.group(1)) != pid
        session.wait_for(rf"pid \[{respawned.group(1)}\]\n[\s\S]*\[sspanoptic\]: active: ")  # the new node's
        code, survivors = session.interrupt()
        assert code == 0 and not survivors, (code, survivors, session.text())
        assert re.search(rf"process has finished cleanly \[pid {respawned.group(1)}\]", session.text())
    finally:
        session.kill()


def test_both_launch_files_declare_the_same_arguments(colcon_install):
    def arguments(launch_file):
        result = colcon_install.ros2("launch", "sspanoptic_ros", launch_file, "--show-args",
                                     domain_id=next_domain_id())
        assert result.returncode == 0, result.stdout
        blocks = re.findall(r"^    '(\w+)':\n((?:        .*\n?)+)", result.stdout, re.MULTILINE)
        return {name: " ".join(line.strip() for line in body.splitlines()) for name, body in blocks}

    py, xml = arguments("sspanoptic.launch.py"), arguments("sspanoptic.launch.xml")
    assert set(py) == {"model", "backend", "image_topic", "depth_topic", "namespace", "params_file",
                       "autostart", "respawn", "use_rviz", "input_reliability", "use_compressed",
                       "log_level"}
    assert set(xml) == set(py)
    for name in py:
        literal = "find-pkg-share" not in xml[name] and "FindPackageShare" not in py[name]
        if literal:  # a substitution default prints differently in the two formats
            assert py[name] == xml[name], name
        else:
            assert py[name].split("(default:")[0] == xml[name].split("(default:")[0], name
    assert "Valid choices are: ['auto', 'tensorrt', 'torch', 'onnxruntime']" in py["backend"]
    assert "(default: 'false')" in py["respawn"] and "(default: 'true')" in py["autostart"]


# --- benchmark.launch.py ------------------------------------------------------------------


@pytest.fixture
def without_rosbags(tmp_path):
    """Return a PYTHONPATH entry under which ``import rosbags`` fails, as on a robot without it."""
    folder = tmp_path / "no_rosbags"
    (folder / "rosbags").mkdir(parents=True)
    (folder / "rosbags" / "__init__.py").write_text(
        "raise ImportError('rosbags is not installed (hidden by the test)')\n")
    return folder


def run_benchmark_launch(install: Install, env: dict, log, publish, *arguments: str):
    """Run benchmark.launch.py with play:=false, calling ``publish`` at 5 Hz until it ends.

    Returns launch's exit code, the processes of its group still running, and its output.
    """
    session = Session(["ros2", "launch", "sspanoptic_ros", "benchmark.launch.py", "play:=false", *arguments],
                      env, log, install.workspace)
    try:
        while session.proc.poll() is None:  # until the monitor's duration is over
            publish()
            time.sleep(0.2)
        code, survivors = session.ended()
    finally:
        session.kill()
    return code, survivors, session.text()


def test_benchmark_launch_measures_a_camera_another_process_publishes(
        colcon_install, tiny_model, ros_side, without_rosbags, tmp_path):
    """play:=false: the node and the monitor (which needs no rosbags) watch a published topic."""
    domain_id, harness = ros_side
    model_path, _ = tiny_model
    report = tmp_path / "report.json"
    env = colcon_install.env(domain_id)
    env["PYTHONPATH"] = f"{without_rosbags}:{env['PYTHONPATH']}"
    frame = image_msg(raw_pixels(photo(64, 96), "rgb8"), 96, "rgb8", harness.next_stamp())

    def publish():
        frame.header.stamp = harness.next_stamp()
        harness.publish("/camera/image", frame)

    code, survivors, text = run_benchmark_launch(
        colcon_install, env, tmp_path / "launch.log", publish,
        "topic:=/camera/image", f"model:={model_path}", "backend:=torch", "duration:=10", f"report:={report}")
    assert code == 0 and not survivors, (code, survivors, text)
    assert "benchmark finished" in text and re.search(FINISHED, text), text
    periods = json.loads(report.read_text())
    assert len(periods) == 2, periods
    last = periods[-1]
    assert last["received"] > 0 and last["output_fps"] > 1.0, last
    assert re.search(r"input [\d.]+ Hz, output [\d.]+ FPS", text), text
    assert "Traceback" not in text, text


def test_benchmark_launch_with_a_depth_topic_makes_the_node_build_the_3d_outputs(
        colcon_install, tiny_model, ros_side, tmp_path):
    """depth_topic:= reaches the node; the monitor alone subscribes to the 3D outputs.

    The node pairs depth only for 3D outputs that someone wants: paired depth frames in its
    diagnostics show that the monitor's subscriptions made it build them.
    """
    domain_id, harness = ros_side
    model_path, _ = tiny_model
    report = tmp_path / "report.json"
    harness.subscribe("/diagnostics", DiagnosticArray)
    frame = render_rgbd(5, 72, 108)

    def publish():
        stamp = harness.next_stamp()
        harness.publish("/camera/camera_info", camera_info(frame.k, (72, 108), stamp))
        harness.publish("/camera/depth", depth_message(frame.depth, "16UC1", stamp))
        harness.publish("/camera/image", image_msg(raw_pixels(frame.rgb, "rgb8"), 108, "rgb8", stamp))

    code, survivors, text = run_benchmark_launch(
        colcon_install, colcon_install.env(domain_id), tmp_path / "launch.log", publish,
        "topic:=/camera/image", "depth_topic:=/camera/depth", f"model:={model_path}", "backend:=torch",
        "duration:=10", f"report:={report}")
    assert code == 0 and not survivors, (code, survivors, text)
    assert "depth of /camera/image: /camera/depth" in text, text
    assert json.loads(report.read_text())[-1]["output_fps"] > 1.0, report.read_text()
    assert int(harness.diagnostics("/camera/image", 0.0)["depth frames paired"]) > 0, text


def test_benchmark_launch_without_ros2_bag_says_so_and_starts_nothing(colcon_install, tiny_model, tmp_path):
    """``ros2 bag`` (rosbag2) cannot be installed here, as on a robot without it."""
    model_path, _ = tiny_model
    report = tmp_path / "report.json"
    session = colcon_install.start("launch", "sspanoptic_ros", "benchmark.launch.py",
                                   f"bag:={tmp_path / 'bag'}", f"model:={model_path}", "backend:=torch",
                                   "duration:=120", f"report:={report}",
                                   domain_id=next_domain_id(), log=tmp_path / "launch.log")
    try:
        code, survivors = session.ended(60)
    finally:
        session.kill()
    text = session.text()
    assert code == 1 and not survivors, (code, survivors, text)
    assert "ros2 bag (rosbag2) is not installed" in text.strip().splitlines()[-1], text
    assert "process started" not in text and not report.exists(), text


# --- the ros2 CLI ------------------------------------------------------------------------


def segments_of(outputs: dict) -> list[dict]:
    return json.loads(outputs["segments"].data)["segments"]


def test_ros2_param_set_changes_the_node_and_a_refused_value_leaves_it(
        colcon_install, tiny_model, ros_side, tmp_path):
    domain_id, harness = ros_side
    model_path, engine = tiny_model
    session = launch(colcon_install, "sspanoptic.launch.py", domain_id, tmp_path / "launch.log",
                     "backend:=torch", f"model:={model_path}",
                     f"params_file:={params_file(tmp_path, device='cpu')}")

    def ros2_param(*args):
        result = colcon_install.cli("param", *args, domain_id=domain_id)
        return result.stdout

    def segments():
        sent = image_msg(raw_pixels(rgb, "rgb8"), 144, "rgb8", harness.next_stamp())
        return segments_of(harness.exchange("/image", sent, "/panoptic"))

    try:
        harness.subscribe_outputs("/panoptic")
        rgb = photo(96, 144)
        assert any(s.isthing for s in engine.infer(rgb).segments), "precondition: things at 0.4"
        assert any(s["isthing"] for s in segments())

        assert "Set parameter successful" in ros2_param("set", "/sspanoptic", "score_threshold", "0.99")
        assert segments() and not any(s["isthing"] for s in segments())
        refused = ros2_param("set", "/sspanoptic", "score_threshold", "1.5")
        assert "Setting parameter failed" in refused and "out of range" in refused, refused
        assert "Double value is: 0.99" in ros2_param("get", "/sspanoptic", "score_threshold")
        assert "read-only" in ros2_param("set", "/sspanoptic", "model_path", "/other/model.pt")

        described = ros2_param("describe", "/sspanoptic", "score_threshold", "max_detections",
                               "model_path")
        threshold, detections, model = described.split("Parameter name:")[1:]
        assert "Min value: 0.0" in threshold and "Max value: 1.0" in threshold, described
        assert "Min value: 1" in detections and "Max value: 999" in detections, described
        assert "Read only: true" in model.replace("True", "true") or "read-only" in model, described
        assert_interrupt_ends_cleanly(session)
    finally:
        session.kill()


def test_ros2_lifecycle_drives_a_node_launched_with_autostart_false(
        colcon_install, tiny_model, ros_side, tmp_path):
    """The XML launch file's plain <node> is still a lifecycle node that the CLI can drive."""
    domain_id, harness = ros_side
    model_path, engine = tiny_model
    session = launch(colcon_install, "sspanoptic.launch.xml", domain_id, tmp_path / "launch.log",
                     "autostart:=false", "backend:=torch", f"model:={model_path}",
                     f"params_file:={params_file(tmp_path, device='cpu')}")

    def lifecycle(verb: str, *args: str) -> str:
        result = colcon_install.cli("lifecycle", verb, "/sspanoptic", *args, domain_id=domain_id)
        assert result.returncode == 0, result.stdout
        return result.stdout.strip()

    def state() -> str:
        return lifecycle("get").split()[0]

    def transition(name: str) -> None:
        assert "Transitioning successful" in lifecycle("set", name), name

    def serves() -> None:
        rgb = photo(48, 64)
        sent = image_msg(raw_pixels(rgb, "rgb8"), 64, "rgb8", harness.next_stamp())
        check_outputs(harness.exchange("/image", sent, "/panoptic"), sent, rgb, engine)

    def subscribed() -> bool:
        return harness.node.count_subscribers("/image") > 0

    try:
        harness.subscribe_outputs("/panoptic")
        session.wait_for(r"process started with pid")
        deadline = time.monotonic() + 90
        while "sspanoptic" not in harness.node.get_node_names():  # the node is up, unconfigured
            assert time.monotonic() < deadline, session.text()
            time.sleep(0.1)
        assert state() == "unconfigured"
        assert "engine ready" not in session.text()  # autostart:=false: nothing loaded yet
        transition("configure")
        session.wait_for("engine ready")  # passed on by launch after the transition's answer
        assert "engine ready" in session.text() and not subscribed()
        wait_until(lambda: harness.node.count_publishers("/panoptic/semantic"),
                   "the configured node's publishers")  # discovery follows the transition
        assert harness.node.count_publishers("/panoptic/semantic") == 1
        transition("activate")
        assert state() == "active"
        serves()
        transition("deactivate")
        wait_until(lambda: not subscribed(), "the deactivated node to unsubscribe")
        transition("activate")  # builds the engine again
        serves()
        transition("deactivate")
        transition("cleanup")
        assert state() == "unconfigured"
        wait_until(lambda: not harness.node.count_publishers("/panoptic/semantic"),
                   "the cleaned-up node to destroy its publishers")
        assert_interrupt_ends_cleanly(session)
    finally:
        session.kill()


def wait_until(condition, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_ros2_run_node_and_ros2_topic_hz_reports_its_rate(colcon_install, tiny_model, ros_side,
                                                          tmp_path):
    """``ros2 run`` starts the node; images at 5 Hz come out at 5 Hz; Ctrl-C ends both cleanly."""
    domain_id, harness = ros_side
    model_path, engine = tiny_model
    node = colcon_install.start("run", "sspanoptic_ros", "panoptic_node", "--ros-args",
                                "-p", f"model_path:={model_path}", "-p", "backend:=torch",
                                "-p", "device:=cpu", "-p", "track_instances:=false",
                                domain_id=domain_id, log=tmp_path / "run.log")
    hz = None
    try:
        harness.subscribe_outputs("/panoptic")
        rgb = photo(64, 96)
        sent = image_msg(raw_pixels(rgb, "rgb8"), 96, "rgb8", harness.next_stamp())
        check_outputs(harness.exchange("/image", sent, "/panoptic"), sent, rgb, engine)
        assert f"model tiny ({model_path})" in node.text()

        hz = colcon_install.start("topic", "hz", "/panoptic/panoptic", domain_id=domain_id,
                                  log=tmp_path / "hz.log")
        wait_until(lambda: harness.node.count_subscribers("/panoptic/panoptic") == 2,  # this one and hz
                   "ros2 topic hz to subscribe", timeout=60)
        end = time.monotonic() + 6.0
        while time.monotonic() < end:
            sent.header.stamp = harness.next_stamp()
            harness.publish("/image", sent)
            time.sleep(0.2)
        hz_code, hz_left = hz.interrupt()
        rates = [float(r) for r in re.findall(r"average rate: ([\d.]+)", hz.text())]
        assert rates, hz.text()
        assert 3.5 < rates[-1] < 6.5, f"ros2 topic hz: {rates}\n{hz.text()}"
        assert not hz_left, hz_left

        code, survivors = node.interrupt()
    finally:
        node.kill()
        if hz is not None:
            hz.kill()
    text = node.text()
    assert code == 0 and not survivors, (code, survivors, text)
    assert "Traceback" not in text and "[ros2run]" not in text, text
