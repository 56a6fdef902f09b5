# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The bag benchmark: run statistics, peak search, the player/monitor harness, a real run."""

import ast
import json
import os
import re
import resource
import subprocess
import sys
import threading
import time
from importlib import import_module

import numpy as np
import pytest
import rclpy
import torch
from conftest import REPO, tiny_config
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from sspanoptic_ros.bench.bag_cli import main
from sspanoptic_ros.bench.bag_writer import synthetic_frames, write_bag
from sspanoptic_ros.bench.monitor import Monitor, percentile, run_stats
from sspanoptic_ros.bench.node_throughput import search_peak
from sspanoptic_ros.bench.player import BagFrames
from sspanoptic_ros.bench.report import KEEPS_UP_RULE, build_report, format_report, keeps_up
from sspanoptic_ros.bench.session import NodeSession, cpu_seconds, isolated_domain_id, peak_rss_mib
from sspanoptic_ros.model import build_model, save_checkpoint
from sspanoptic_ros.ros.image_codec import numpy_to_image
from sspanoptic_ros.ros.parameters import PARAMETER_NAMES

pytestmark = pytest.mark.ros  # runs on Kilted and Jazzy (setup.cfg)

MS = 1_000_000  # ns


def test_run_stats_by_hand():
    # Four frames sent 100 ms apart; frame 3 never comes back; stamp 99 was not sent in this run.
    sent = [(1, 0), (2, 100 * MS), (3, 200 * MS), (4, 300 * MS)]
    received = {1: 50 * MS, 2: 160 * MS, 4: 390 * MS, 99: 5 * MS}
    stats = run_stats(sent, received)
    assert (stats["sent"], stats["received"], stats["missed"]) == (4, 3, 1)
    assert stats["playback_rate"] == pytest.approx(10.0)  # 3 intervals in 0.3 s
    assert stats["output_fps"] == pytest.approx(2 / 0.34)  # 2 intervals from 50 to 390 ms
    assert stats["latency_ms"] == pytest.approx(
        {"mean": 200 / 3, "p50": 60.0, "p90": 90.0, "p99": 90.0, "max": 90.0}
    )
    assert stats["jitter_ms"] == pytest.approx(np.std([110.0, 230.0], ddof=1))
    np.testing.assert_allclose(stats["latency_series"], [[0.0, 50.0], [0.1, 60.0], [0.3, 90.0]])


def test_run_stats_without_outputs():
    stats = run_stats([(1, 0), (2, 10 * MS)], {})
    assert (stats["received"], stats["missed"]) == (0, 2)
    assert stats["latency_ms"] is None and stats["output_fps"] is None and stats["jitter_ms"] is None
    with pytest.raises(ValueError, match="at least one frame"):
        run_stats([], {})


def test_percentile_nearest_rank():
    values = list(range(10, 0, -1))  # 10..1, unsorted
    assert [percentile(values, q) for q in (10, 50, 90, 99, 100)] == [1, 5, 9, 10, 10]
    with pytest.raises(ValueError):
        percentile([], 50)


def run(rate, played, output, sent, missed):
    return {"rate": rate, "playback_rate": played, "output_fps": output, "sent": sent, "missed": missed}


def test_keeps_up():
    assert keeps_up(run(10.0, 10.0, 9.6, 100, 5))  # 4% slower, 5% missed: within 5%
    assert not keeps_up(run(10.0, 10.0, 9.4, 100, 0))  # output 6% slower
    assert not keeps_up(run(10.0, 10.0, 10.0, 100, 6))  # 6% missed
    assert not keeps_up(run(10.0, 9.0, 9.0, 90, 0))  # the player itself fell 10% short
    assert keeps_up(run("bag", 9.0, 9.0, 90, 0))  # the bag's timing: no requested rate
    assert not keeps_up(run(10.0, 10.0, None, 100, 99))  # a single output has no rate


def simulated_node(capacity: float, seconds: float = 4.0):
    """Return a trial on an ideal node that processes at most ``capacity`` frames per second."""

    def trial(rate: float) -> dict:
        sent = round(rate * seconds)
        received = round(min(rate, capacity) * seconds)
        return run(rate, rate, min(rate, capacity), sent, sent - received)

    return trial


def test_search_peak_brackets_the_capacity():
    low, high, runs = search_peak(simulated_node(12.0), start_rate=5.0, max_trials=8)
    # 5 and 10 keep up, 20 does not; the bisection ends within 10% of the capacity.
    assert [r["rate"] for r in runs[:3]] == [5.0, 10.0, 20.0]
    assert low <= 12.0 / 0.95 and high > 12.0 and high / low <= 1.1
    assert len(runs) <= 8


def test_search_peak_bounded_and_without_a_rate_that_keeps_up():
    low, high, runs = search_peak(simulated_node(1.0), start_rate=64.0, max_trials=3)
    assert (low, high, [r["rate"] for r in runs]) == (None, 16.0, [64.0, 32.0, 16.0])
    low, high, runs = search_peak(simulated_node(1000.0), start_rate=1.0, max_trials=4)
    assert (low, high, len(runs)) == (8.0, None, 4)
    with pytest.raises(ValueError, match="start_rate"):
        search_peak(simulated_node(1.0), start_rate=0.0)


def test_process_cpu_and_memory_from_proc():
    before, process_before = cpu_seconds(os.getpid()), time.process_time()
    while time.process_time() - process_before < 0.3:
        pass
    used = cpu_seconds(os.getpid()) - before
    assert used == pytest.approx(time.process_time() - process_before, abs=0.05)  # clock ticks
    maxrss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert peak_rss_mib(os.getpid()) == pytest.approx(maxrss_mib, rel=0.05)


def loopback_frames(count: int, gap_ms: int) -> BagFrames:
    """Frames published straight onto the monitored output topic, stamped ``gap_ms`` apart."""
    stamps = [10**18 + i * gap_ms * MS for i in range(count)]
    messages = [numpy_to_image(np.full((4, 6), i, np.int32), "32SC1", Header()) for i in range(count)]
    return BagFrames("/panoptic/panoptic", Image, messages, stamps)


@pytest.fixture
def sleeper_log(tmp_path):
    return tmp_path / "sleeper.log"


def test_player_and_monitor_match_every_frame(sleeper_log):
    # The "node" only sleeps: the player publishes on the output topic the monitor watches, so
    # each frame comes straight back, matched by its stamp.
    sleeper = [sys.executable, "-c", "import time; time.sleep(120)"]
    with NodeSession(loopback_frames(3, 100), sleeper, sleeper_log) as session:
        deadline = time.monotonic() + 20
        while session.player.subscription_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        fixed = session.trial(20.0, 0.5)
        played = session.player.play(None, 0.45)  # the bag's own timing: 100 ms apart
    # 20 Hz for 0.5 s: 10 frames due (fewer only if the machine stalls the player).
    assert fixed["rate"] == 20.0 and 5 <= fixed["sent"] <= 10
    assert (fixed["received"], fixed["missed"]) == (fixed["sent"], 0)
    assert 0 < fixed["latency_ms"]["p50"] <= fixed["latency_ms"]["max"]
    assert fixed["cpu_percent"] < 50  # a sleeping process
    stamps = [stamp for stamp, _ in played]
    assert 3 <= len(played) <= 5  # due at 0, 100, ..., 400 ms
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    start = played[0][1]
    assert all(sent - start >= i * 100 * MS - MS for i, (_, sent) in enumerate(played))  # never early


def test_session_reports_a_node_that_dies(tmp_path):
    failing = [sys.executable, "-c", "import sys; print('model missing'); sys.exit(3)"]
    with NodeSession(loopback_frames(1, 100), failing, tmp_path / "node.log") as session:
        session.process.wait()
        with pytest.raises(RuntimeError, match=r"(?s)exited with code 3.*model missing"):
            session.wait_ready(timeout=10)


def wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_monitor_matches_outputs_to_the_latest_input_with_their_stamp():
    # A looping bag played by another process sends the same stamp again each loop.
    context = rclpy.Context()
    rclpy.init(context=context, domain_id=isolated_domain_id())
    node = rclpy.create_node("monitor_test", context=context)
    executor = SingleThreadedExecutor(context=context)
    try:
        monitor = Monitor(node, input_topic="/cam/image")
        qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        camera = node.create_publisher(Image, "/cam/image", qos)
        node_output = node.create_publisher(Image, "/panoptic/panoptic", qos)
        executor.add_node(node)
        threading.Thread(target=executor.spin, daemon=True).start()
        wait_for(lambda: camera.get_subscription_count() and node_output.get_subscription_count())
        frame = Image(header=Header(frame_id="cam"))
        frame.header.stamp.sec = 5
        for loop in (1, 2):
            camera.publish(frame)
            wait_for(lambda loop=loop: len(monitor.inputs()) == loop)
            node_output.publish(frame)
            wait_for(lambda loop=loop: len(monitor.outputs()) == loop)
        unseen = Image(header=Header(frame_id="cam"))
        unseen.header.stamp.sec = 6  # the output of an input the monitor never saw
        node_output.publish(unseen)
        time.sleep(0.3)
        inputs, outputs = monitor.inputs(), monitor.outputs()
    finally:
        executor.shutdown()
        node.destroy_node()
        context.shutdown()
    assert [frame for frame, _ in inputs] == [0, 1] and sorted(outputs) == [0, 1]
    assert all(outputs[frame] > arrived for frame, arrived in inputs)  # each after its own input
    stats = run_stats(inputs, outputs)
    assert (stats["sent"], stats["received"], stats["missed"]) == (2, 2, 0)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    model = build_model(tiny_config())
    torch.nn.init.constant_(model.detector.classification_head.cls_logits.bias, 0.0)
    return save_checkpoint(tmp_path_factory.mktemp("model") / "tiny.pt", model)


def test_benchmark_run_on_a_tiny_bag(tmp_path, tiny_model, monkeypatch, capsys):
    bag, out = tmp_path / "bag", tmp_path / "report"
    write_bag(bag, synthetic_frames(6, (64, 96), seed=1), rate=10.0)
    # One torch thread per process: the 2-core machine may also run a training job, and
    # oversubscribed OpenMP threads slow inference down many times.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        main(["run", str(bag), "--model", str(tiny_model), "--backend", "torch", "--rates", "5",
              "--seconds", "2", "--peak-trials", "1", "--peak-seconds", "1", "--engine-seconds", "0.5",
              "--out", str(out), "--plot"])
    finally:
        torch.set_num_threads(threads)
    report = json.loads((out / "report.json").read_text())
    assert report["bag"] == {"path": str(bag), "topic": "/camera/image", "type": "Image",
                             "encoding": "rgb8", "frames": 6, "size": [64, 96], "rate": 10.0}
    engine = report["engine"]
    assert (engine["backend"], engine["device"], engine["gpu_memory_mib"]) == ("torch", "cpu", None)
    assert engine["fps"] > 0 and engine["frames"] >= 3
    runs = report["runs"]
    assert [r["kind"] for r in runs] == ["fixed", "search"]
    assert runs[0]["rate"] == 5.0
    assert runs[0]["received"] >= 1
    for r in runs:
        assert r["sent"] == r["received"] + r["missed"] and r["sent"] >= 1
        assert len(r["latency_series"]) == r["received"]
        if r["received"]:
            lat = r["latency_ms"]
            assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"]
            assert min(s[1] for s in r["latency_series"]) <= lat["mean"] <= lat["max"]
            assert max(s[1] for s in r["latency_series"]) == pytest.approx(lat["max"])
        assert r["cpu_percent"] >= 0 and r["peak_rss_mib"] > 50  # a process running torch
    # One search run: its rate either kept up or failed.
    assert sorted(report["peak"].items(), key=str) in (
        [("failed", None), ("kept_up", runs[1]["rate"])],
        [("failed", runs[1]["rate"]), ("kept_up", None)],
    )
    # Throughput and node / engine FPS come from the best run that keeps up, if one did.
    kept_up = [r for r in runs if keeps_up(r)]
    node_fps = max((r["output_fps"] for r in kept_up), default=None)
    assert report["node_fps"] == pytest.approx(node_fps)
    ratio = None if node_fps is None else pytest.approx(node_fps / engine["fps"])
    assert report["node_engine_ratio"] == ratio
    printed = capsys.readouterr().out
    assert "| fixed | 5.0 Hz |" in printed and "node / engine FPS" in printed and KEEPS_UP_RULE in printed
    assert (out / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "node.log").is_file()


# Options of `ros2 bag play --help` (Humble to Kilted) the launch file may use.
ROS2_BAG_PLAY_OPTIONS = {"--loop", "--rate", "--topics", "--remap", "--qos-profile-overrides-path"}


def launch_calls():
    tree = ast.parse((REPO / "launch" / "benchmark.launch.py").read_text())
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]


def test_launch_file_names_what_exists():
    calls = launch_calls()

    def first_arguments(name):
        return {c.args[0].value for c in calls if c.func.id == name}

    assert first_arguments("LaunchConfiguration") == first_arguments("DeclareLaunchArgument")
    (node,) = [c for c in calls if c.func.id == "Node"]
    keywords = {k.arg: k.value for k in node.keywords}
    assert keywords["package"].value == "sspanoptic_ros"
    entry = re.search(rf'"{keywords["executable"].value} = ([\w.]+):(\w+)"', (REPO / "setup.py").read_text())
    assert entry, "the node's executable is not a console script in setup.py"
    assert callable(getattr(import_module(entry[1]), entry[2]))
    parameters = keywords["parameters"].elts
    config = [e.value for e in parameters[0].args[0].elts if isinstance(e, ast.Constant)]
    assert (REPO.joinpath(*config)).is_file()
    assert {k.value for k in parameters[1].keys} <= set(PARAMETER_NAMES)
    remapped = {pair.elts[0].value for pair in keywords["remappings"].elts}
    assert remapped == {"image", "image/compressed"}  # the node's input names


def test_launch_file_commands_exist():
    commands = [
        [e.value if isinstance(e, ast.Constant) else None for e in k.value.elts]
        for c in launch_calls() if c.func.id == "ExecuteProcess"
        for k in c.keywords if k.arg == "cmd"
    ]
    (play,) = [c for c in commands if c[:3] == ["ros2", "bag", "play"]]
    assert {a for a in play if isinstance(a, str) and a.startswith("-")} <= ROS2_BAG_PLAY_OPTIONS
    (monitor,) = [c for c in commands if "-m" in c]
    module = monitor[monitor.index("-m") + 1]
    help_text = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True,
                               check=True).stdout
    options = [a for a in monitor if isinstance(a, str) and a.startswith("--")]
    assert options and all(option in help_text for option in options)


def test_throughput_and_node_engine_fps_come_from_the_best_run_that_keeps_up():
    def run(kind, rate, played, fps, sent, received):
        return {"kind": kind, "rate": rate, "playback_rate": played, "output_fps": fps, "sent": sent,
                "received": received, "missed": sent - received, "latency_ms": None, "jitter_ms": None,
                "cpu_percent": 90.0, "peak_rss_mib": 800.0, "latency_series": []}

    runs = [run("fixed", 5.0, 5.0, 4.7, 30, 30),  # 0 missed, output 94 % of the played rate: fails
            run("search", 3.7, 3.7, 3.7, 22, 22),  # keeps up
            run("search", 19.2, 19.2, 10.2, 58, 32)]  # the highest output FPS, dropping frames
    bag = {"path": "b", "topic": "/camera/image", "type": "Image", "encoding": "rgb8", "frames": 60,
           "size": [256, 384], "rate": 5.0}
    report = build_report(bag, {"fps": 4.0, "backend": "torch", "device": "cpu", "gpu_memory_mib": None},
                          runs, (3.7, 19.2))
    assert (report["best_run"], report["node_fps"]) == (1, 3.7)
    assert report["node_engine_ratio"] == pytest.approx(3.7 / 4.0)
    text = format_report(report)
    assert "| fixed | 5.0 Hz | 5.0 | 4.7 | 30 | 30 | 0 |" in text and KEEPS_UP_RULE in text
    assert "peak throughput: 3.7 FPS, the search run at 3.7 Hz (played 3.7 Hz), 19.2 Hz failed" in text
    assert "node / engine FPS: 0.93 of that run (target >= 0.9)" in text
    nothing = build_report(bag, None, runs[::2], None)
    assert nothing["node_fps"] is None and "peak throughput: no run kept up" in format_report(nothing)
