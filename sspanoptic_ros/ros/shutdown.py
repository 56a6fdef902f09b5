# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""SIGINT / SIGTERM handling of the package's ROS processes: the first signal stops, later ones do not.

A Ctrl-C in the terminal of ``ros2 launch`` sends SIGINT to the whole process group, and launch
then sends each of its processes a SIGINT of its own, a few milliseconds to a few tenths of a
second later; launch escalates to SIGTERM when a process is slow to end. Python's default
handler would raise a second ``KeyboardInterrupt`` inside the shutdown (a traceback, exit 130)
or, once the interpreter finalises, let the signal kill the process (exit -2). A process's
``main`` calls :func:`interrupt_once` first, :func:`mute_interrupts` when its shutdown begins
and :func:`ignore_interrupts` when it is done, and exits 0 whatever signals follow the first.
"""

import signal

SIGNALS = (signal.SIGINT, signal.SIGTERM)
_muted = False


def _on_signal(signum: int, frame) -> None:
    global _muted
    if _muted:  # the shutdown has begun
        return
    _muted = True
    raise KeyboardInterrupt(signal.Signals(signum).name)


def interrupt_once() -> None:
    """Make the first SIGINT or SIGTERM raise ``KeyboardInterrupt`` and later ones do nothing.

    Call it in the main thread before ``rclpy.init``: rclpy's own handlers (which wake the
    executors) then pass each signal on to this one.
    """
    global _muted
    _muted = False
    for signum in SIGNALS:
        signal.signal(signum, _on_signal)


def mute_interrupts() -> None:
    """Let no later SIGINT or SIGTERM interrupt the process (call when its shutdown begins)."""
    global _muted
    _muted = True


def ignore_interrupts() -> None:
    """Ignore SIGINT and SIGTERM for the rest of the process (call in the main thread when done).

    Python hands its handlers back to the system's default (which ends the process) while the
    interpreter finalises, but leaves ignored signals ignored.
    """
    mute_interrupts()
    for signum in SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
