# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The package as a robot user has it: built by colcon, run by ``ros2 launch`` and the ``ros2`` CLI.

:func:`build_install` builds this repository with colcon into a temporary workspace (the
``colcon_install`` fixture of conftest.py does it once per test run); :class:`Install` runs the
real ROS 2 tools with ``AMENT_PREFIX_PATH`` and ``PYTHONPATH`` pointing at that install, and
:class:`Session` is one process group started from it (as a terminal starts ``ros2 launch``),
stopped the way Ctrl-C stops it. The tools come from ``.venv`` (``make setup`` installs them
from ../shared/wheels/ros2) or from a sourced ROS 2 installation.
"""

import importlib.util
import itertools
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from conftest import REPO

from sspanoptic_ros.bench.session import domain_range, isolated_domain_id, ros_environment

PACKAGE = "sspanoptic_ros"
TOOLS_HOWTO = (
    "needs the real ROS 2 tools (launch, launch_ros, ros2cli) and colcon: `make setup` installs them "
    "into .venv when ../shared/wheels/ros2 exists beside the repository; on a robot, source "
    "/opt/ros/<distro>/setup.bash and install python3-colcon-common-extensions"
)
TOOL_MODULES = ("launch", "launch_ros", "ros2launch", "ros2cli", "ros2lifecycle", "ros2param",
                "ros2topic", "ros2run", "colcon_core")
GRACE = 20.0  # seconds a process group gets to end after one SIGINT before it is killed
_domain_ids = itertools.count(1)


def _bin_path() -> str:
    """PATH with this interpreter's scripts first (the venv's ``ros2`` and ``colcon``)."""
    return os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])


def missing_tools() -> str | None:
    """Return why the ROS 2 tools cannot run here, or None when they can."""
    missing = [m for m in TOOL_MODULES if importlib.util.find_spec(m) is None]
    missing += [exe for exe in ("ros2", "colcon") if shutil.which(exe, path=_bin_path()) is None]
    return f"{', '.join(missing)} not found: {TOOLS_HOWTO}" if missing else None


def next_domain_id() -> int:
    """Return a ROS domain id for one test: after this process's own (``ros_env``) in its range."""
    domains, own = domain_range(), isolated_domain_id()
    step = 1 + (next(_domain_ids) - 1) % (len(domains) - 1)  # 1 .. len - 1: never its own
    return domains[(domains.index(own) + step) % len(domains)]


def _paths(*entries) -> str:
    return os.pathsep.join(str(e) for e in entries if e)


def build_install(workspace: Path) -> "Install":
    """Build this repository with colcon into ``workspace``; return the install."""
    log = workspace / "colcon_build.log"
    with log.open("w") as out:
        code = subprocess.call(
            ["colcon", "--log-base", "log", "build", "--base-paths", str(REPO),
             "--build-base", "build", "--install-base", "install",
             "--packages-select", PACKAGE, "--event-handlers", "console_direct+"],
            cwd=workspace, stdout=out, stderr=subprocess.STDOUT, timeout=300,
            env={**os.environ, "PATH": _bin_path()},
        )
    assert code == 0, f"colcon build failed:\n{log.read_text()}"
    prefix = workspace / "install" / PACKAGE
    (module,) = [p for p in prefix.rglob(f"{PACKAGE}/__init__.py") if "-packages" in str(p)]
    return Install(prefix, module.parents[1], workspace)


@dataclass
class Install:
    """The colcon install prefix of the package, and how to run the ROS 2 tools on it."""

    prefix: Path  # install/sspanoptic_ros
    site_packages: Path  # where colcon put the Python package
    workspace: Path

    def env(self, domain_id: int, **extra: str) -> dict[str, str]:
        """Environment of a tool run on this install in its own domain (on this host only).

        ``AMENT_PREFIX_PATH``: the install, a sourced ROS 2's, and this interpreter's prefix (where
        the wheels put ``share/ament_index``). ``PYTHONPATH``: the install's Python package first,
        then a sourced ROS 2's entries; never the source tree, so the install is what runs.
        """
        env = {**os.environ, **ros_environment(domain_id)}
        inherited = [p for p in env.get("PYTHONPATH", "").split(os.pathsep)
                     if p and Path(p).resolve() != REPO]
        env.update(
            AMENT_PREFIX_PATH=_paths(self.prefix, env.get("AMENT_PREFIX_PATH"), sys.prefix),
            PYTHONPATH=_paths(self.site_packages, *inherited),
            PATH=_bin_path(),
            ROS_LOG_DIR=str(self.workspace / "ros_log"),
            RCUTILS_LOGGING_BUFFERED_STREAM="0",
            PYTHONUNBUFFERED="1",
            OMP_NUM_THREADS="1",  # the node shares the 2 cores with the test process
        )
        env.update(extra)
        return env

    def ros2(self, *args: str, domain_id: int, timeout: float = 60.0) -> subprocess.CompletedProcess:
        """Run ``ros2 ARGS...`` to its end; returns its exit code and output (stdout + stderr)."""
        return subprocess.run(["ros2", *args], env=self.env(domain_id), cwd=self.workspace,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=timeout, preexec_fn=_default_sigint)

    def cli(self, *args: str, domain_id: int, attempts: int = 3) -> subprocess.CompletedProcess:
        """Run a ``ros2`` command that talks to a node, without the daemon (``--no-daemon``).

        Such a command first discovers the nodes for ``--spin-time`` seconds; on two busy cores
        that is not always long enough, so "Node not found" is tried again, discovering twice as
        long each time (1, 2, 4 s).
        """
        for attempt in range(attempts):
            spin = str(2.0**attempt)
            result = self.ros2(*args, "--no-daemon", "--spin-time", spin, domain_id=domain_id)
            if "Node not found" not in result.stdout:
                break
        return result

    def start(self, *args: str, domain_id: int, log: Path, **env: str) -> "Session":
        """Start ``ros2 ARGS...`` in a process group of its own (like a terminal's foreground job)."""
        return Session(["ros2", *args], self.env(domain_id, **env), log, self.workspace)


def _default_sigint() -> None:
    # A test run started in the background inherits an ignored SIGINT; a terminal's job has not.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Session:
    """A process group (a new session) running one command, with its output in a log file.

    It runs in ``cwd`` (the workspace, as a robot user works): ``python -m`` started from the
    source tree would import the package from there instead of the install.
    """

    def __init__(self, command: list[str], env: dict[str, str], log: Path, cwd: Path):
        self.log = log
        with log.open("w") as out:
            self.proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True,
                                         preexec_fn=_default_sigint)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, pattern: str, timeout: float = 90.0, count: int = 1) -> re.Match:
        """Wait until the output matches ``pattern`` ``count`` times; return the last match."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            matches = list(re.finditer(pattern, self.text()))
            if len(matches) >= count:
                return matches[count - 1]
            assert self.proc.poll() is None, (
                f"exited with {self.proc.returncode} before printing {pattern!r}:\n{self.text()}")
            time.sleep(0.1)
        raise AssertionError(f"no {pattern!r} within {timeout:.0f} s:\n{self.text()}")

    def wait(self, timeout: float = 60.0) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running after {timeout:.0f} s:\n{self.text()}") from None

    def ended(self, timeout: float = 60.0) -> tuple[int, list[str]]:
        """Wait for the command to end by itself; return its exit code and the survivors."""
        code = self.wait(timeout)
        time.sleep(0.2)  # children that outlive the command would show now
        return code, self.members()

    def members(self) -> list[str]:
        """Return "pid command" of every live (not zombie) process of the session."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                text = stat.read_text()
                fields = text.rpartition(")")[2].split()
                cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:  # ended meanwhile
                continue
            if int(fields[3]) == self.proc.pid and fields[0] != "Z":  # session id, state
                found.append(f"{stat.parent.name} {cmdline.strip()}")
        return found

    def interrupt(self, grace: float = GRACE) -> tuple[int | None, list[str]]:
        """Send the group one SIGINT, as Ctrl-C does; SIGKILL it if it has not ended after ``grace``.

        Returns the command's exit code (None if it had to be killed) and the processes of the
        session that were still alive when the command ended.
        """
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            code = self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            code = None
        time.sleep(0.2)  # children that outlive the command would show now
        survivors = self.members()
        self.kill()
        return code, survivors

    def kill(self) -> None:
        """SIGKILL whatever is left of the session."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        for member in self.members():  # members that left the process group (none expected)
            try:
                os.kill(int(member.split()[0]), signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()
