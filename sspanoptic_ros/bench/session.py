# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The node under test as its own process, and the ROS side in this process that feeds and watches it.

- :func:`node_command`, :func:`ros_environment`, :func:`isolated_domain_id`: the node's command
  line and the environment that keeps its DDS traffic on this host, in a domain of its own.
- :class:`NodeProcess`: the node's process, its output in a log file.
- :func:`cpu_seconds`, :func:`rss_mib`, :func:`peak_rss_mib`: a process's figures from ``/proc``.
- :class:`NodeSession`: a node process plus a player and a monitor spinning in this process, as
  the bag benchmark, the soak benchmark and the demo use it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from rclpy.qos import ReliabilityPolicy

from ..ros.topics import COMPRESSED_SUFFIX, output_prefix
from .monitor import OUTPUT_PREFIX, Monitor, run_stats
from .player import BagFrames, Player

# The node's DDS traffic stays on this host, in a domain of its own (see isolated_domain_id).
ROS_ENVIRONMENT = {"ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST", "FASTDDS_BUILTIN_TRANSPORTS": "LARGE_DATA"}
# The frames go to the node reliably (history depth 1 on both sides, so nothing queues): with
# discovery limited to localhost, Fast DDS loses every best-effort message over about 512 KiB
# (a 640x480 rgb8 image is 900 KiB), whatever FASTDDS_BUILTIN_TRANSPORTS says.
INPUT_RELIABILITY = ReliabilityPolicy.RELIABLE
SETTLE_S = 0.3  # outputs must pause this long before a run starts
MAX_WAIT_S = 30.0  # the longest wait for a run's last outputs


def domain_range() -> range:
    """Return the ROS domain ids this process's sessions use: ``$SSPANOPTIC_DOMAINS`` (120-219).

    Runs at the same time (``make test`` runs two) keep apart with ranges of their own.
    """
    first, last = map(int, os.environ.get("SSPANOPTIC_DOMAINS", "120-219").split("-"))
    if not 0 <= first <= last <= 232:
        raise ValueError(f"SSPANOPTIC_DOMAINS must be FIRST-LAST within 0..232, got {first}-{last}")
    return range(first, last + 1)


def isolated_domain_id() -> int:
    """Return a ROS domain id of this process (in ``domain_range``), away from other processes'."""
    domains = domain_range()
    return domains[os.getpid() % len(domains)]


def ros_environment(domain_id: int) -> dict[str, str]:
    """Return the environment variables that put a ROS process in a private domain on this host."""
    if not 0 <= domain_id <= 232:
        raise ValueError(f"ROS domain id must be in 0..232, got {domain_id}")
    return {**ROS_ENVIRONMENT, "ROS_DOMAIN_ID": str(domain_id)}


def node_command(*ros_args: str) -> list[str]:
    """Return the command line of the node (``python -m sspanoptic_ros.ros.panoptic_node``)."""
    return [sys.executable, "-m", "sspanoptic_ros.ros.panoptic_node", "--ros-args", *ros_args]


def session_node_command(
    model: str | Path,
    backend: str = "auto",
    device: str | None = None,
    topic: str = "/camera/image",
    compressed: bool = False,
) -> list[str]:
    """Return the command line of a :class:`NodeSession`'s node reading ``topic``.

    Its outputs go to ``session_output_prefix(topic, compressed)``. With ``compressed`` it reads
    ``topic`` as a CompressedImage topic.
    """
    args = ["-p", f"model_path:={model}", "-p", f"backend:={backend}",
            "-p", f"input_reliability:={INPUT_RELIABILITY.name.lower()}"]
    if device:
        args += ["-p", f"device:={device}"]
    if compressed:
        return node_command(*args, "-p", "use_compressed:=true", "-r", f"image/compressed:={topic}")
    return node_command(*args, "-r", f"image:={topic}")


def session_output_prefix(topic: str, compressed: bool = False) -> str:
    """Return where the node of ``session_node_command(..., topic, compressed)`` publishes.

    Beside the camera, as the node resolves it: ``/camera/image`` and
    ``/camera/image/compressed`` (``compressed``) give ``/camera/panoptic``.
    """
    return output_prefix(topic.removesuffix(COMPRESSED_SUFFIX) if compressed else topic)


class NodeProcess(subprocess.Popen):
    """A node's process started from ``command``, its stdout and stderr in the file ``log_path``.

    ``env`` adds to (or overrides) the variables of this process's environment.
    """

    def __init__(
        self,
        command: Sequence[str],
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ):
        self.log_path = Path(log_path)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("w") as log:
            super().__init__(list(command), stdout=log, stderr=subprocess.STDOUT, cwd=cwd,
                             env={**os.environ, **(env or {})})

    def log_text(self) -> str:
        """Return what the process has written to its log so far."""
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines: int = 20) -> str:
        """Return the last ``lines`` lines of the log."""
        return "\n".join(self.log_text().splitlines()[-lines:])

    def check_alive(self) -> None:
        """Raise RuntimeError with the end of the log if the process has exited."""
        if self.poll() is not None:
            raise RuntimeError(
                f"the node exited with code {self.returncode}; the end of its log {self.log_path}:\n"
                f"{self.log_tail()}"
            )

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the process unless it has exited: SIGINT (a clean shutdown), SIGKILL after ``timeout`` s."""
        if self.poll() is None:
            self.send_signal(signal.SIGINT)
            try:
                self.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                self.wait()


def cpu_seconds(pid: int) -> float:
    """Return the user + system CPU time of process ``pid`` so far, from ``/proc/<pid>/stat``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def proc_memory_mib(pid: int, field: str) -> float:
    """Return a memory field of ``/proc/<pid>/status`` in MiB (VmRSS: resident now, VmHWM: peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise ValueError(f"no {field} in /proc/{pid}/status")


def rss_mib(pid: int) -> float:
    """Return the resident memory (VmRSS) of process ``pid`` in MiB."""
    return proc_memory_mib(pid, "VmRSS")


def peak_rss_mib(pid: int) -> float:
    """Return the peak resident memory (VmHWM) of process ``pid`` in MiB."""
    return proc_memory_mib(pid, "VmHWM")


class NodeSession:
    """The node under test as a :class:`NodeProcess`, plus a player and a monitor spinning in this process.

    Use as a context manager: entering starts the node and the ROS side here, leaving stops both.
    """

    def __init__(
        self,
        frames: BagFrames,
        command: list[str],
        log_path: Path,
        domain_id: int | None = None,
        keep_colored: int = 0,
        output_prefix: str = OUTPUT_PREFIX,
        extra_outputs: Mapping[str, type] | None = None,
    ):
        self.frames = frames
        self.command = command
        self.log_path = Path(log_path)
        self.domain_id = isolated_domain_id() if domain_id is None else domain_id
        self.keep_colored = keep_colored
        self.output_prefix = output_prefix
        self.extra_outputs = extra_outputs
        self.process: NodeProcess | None = None
        self.player: Player | None = None
        self.monitor: Monitor | None = None
        self._context = self._node = self._executor = self._thread = None

    def __enter__(self) -> NodeSession:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor

        env = ros_environment(self.domain_id)
        os.environ.update(ROS_ENVIRONMENT)  # read by this process's DDS participant as well
        try:
            self.process = NodeProcess(self.command, self.log_path, env)
            self._context = rclpy.Context()
            rclpy.init(context=self._context, domain_id=self.domain_id)
            self._node = rclpy.create_node("sspanoptic_bench", context=self._context)
            self.player = Player(self._node, self.frames, INPUT_RELIABILITY)
            self.monitor = Monitor(self._node, self.output_prefix, self.keep_colored,
                                   extra_outputs=self.extra_outputs)
            self._executor = SingleThreadedExecutor(context=self._context)
            self._executor.add_node(self._node)
            self._thread = threading.Thread(target=self._executor.spin, name="bench-spin", daemon=True)
            self._thread.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop the node (SIGINT, then SIGKILL after 10 s) and the ROS side of this process."""
        if self._executor is not None:
            self._executor.shutdown()
            self._thread.join(5.0)
        if self._node is not None:
            self._node.destroy_node()
        if self._context is not None and self._context.ok():
            self._context.shutdown()
        if self.process is not None:
            self.process.stop()
        self._context = self._node = self._executor = self._thread = None

    def wait_ready(self, timeout: float = 180.0, warmup_seconds: float = 2.0) -> float:
        """Send a frame every 0.5 s until the first output arrives, then warm up; return seconds.

        Raises TimeoutError without an output after ``timeout`` s, RuntimeError if the node died.
        """
        start = time.monotonic()
        while not self.monitor.outputs():
            self.process.check_alive()
            if time.monotonic() - start > timeout:
                raise TimeoutError(
                    f"no output on {self.output_prefix}/panoptic within {timeout:.0f} s of starting"
                    f" the node; the end of its log {self.log_path}:\n{self.process.log_tail()}"
                )
            self.player.publish_next()
            time.sleep(0.5)
        ready = time.monotonic() - start
        if warmup_seconds > 0:
            self.player.play(2.0, warmup_seconds)
        return ready

    def trial(self, rate: float | None, seconds: float) -> dict:
        """Play the frames at ``rate`` Hz (None: the bag's timing) for ``seconds``; return its stats.

        The stats are :func:`run_stats`'s plus the requested ``rate`` ("bag" for the bag's
        timing), and the node's ``cpu_percent`` (while playing; 100 = one core) and
        ``peak_rss_mib`` (over its whole life so far).
        """
        self.settle()
        pid = self.process.pid
        cpu_start, wall_start = cpu_seconds(pid), time.monotonic()
        sent = self.player.play(rate, seconds)
        cpu, wall = cpu_seconds(pid) - cpu_start, time.monotonic() - wall_start
        self._wait_for_outputs(sent)
        self.process.check_alive()
        return {
            "rate": "bag" if rate is None else rate,
            **run_stats(sent, self.monitor.outputs()),
            "cpu_percent": 100.0 * cpu / wall,
            "peak_rss_mib": peak_rss_mib(pid),
        }

    def settle(self, quiet_s: float = SETTLE_S, max_wait_s: float = MAX_WAIT_S) -> None:
        """Wait until no output came for ``quiet_s`` s (at most ``max_wait_s``): earlier frames are done."""
        count, start = -1, time.monotonic()
        changed = start
        while time.monotonic() - changed < quiet_s and time.monotonic() - start < max_wait_s:
            if len(outputs := self.monitor.outputs()) != count:
                count, changed = len(outputs), time.monotonic()
            time.sleep(0.05)

    def _wait_for_outputs(self, sent: list[tuple[int, int]]) -> None:
        """Wait until every sent frame has its output, or none came for 2x the worst latency."""
        stamps = {stamp for stamp, _ in sent}
        sent_at = dict(sent)
        start = time.monotonic()
        while time.monotonic() - start < MAX_WAIT_S and self.process.poll() is None:
            outputs = self.monitor.outputs()
            matched = [outputs[s] - sent_at[s] for s in stamps if s in outputs]
            if len(matched) == len(stamps):
                return
            last = max((outputs[s] for s in stamps if s in outputs), default=sent[-1][1])
            idle = (time.monotonic_ns() - max(last, sent[-1][1])) / 1e9
            if idle > max(1.0, 2e-9 * max(matched, default=0)):
                return
            time.sleep(0.05)

    def segment(self, msg, timeout: float = 10.0, attempts: int = 3) -> np.ndarray | None:
        """Send one image message; return the node's colourised output of it, or None.

        Needs ``keep_colored`` > 0. The node keeps only the newest frame, so a frame that
        another replaced before the node took it is sent again.
        """
        if not self.keep_colored:
            raise ValueError("segment needs a session made with keep_colored > 0")
        for _ in range(attempts):
            self.settle()
            stamp, _ = self.player.publish(msg)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                self.process.check_alive()
                colored = self.monitor.colored()
                if stamp in colored:
                    return colored[stamp]
                time.sleep(0.05)
        return None
