# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The node's process (``panoptic_node``, ``python -m sspanoptic_ros.ros.panoptic_node``).

Importing rclpy, torch and the engine takes seconds, and a Ctrl-C then (``ros2 launch`` stopped
right after it started) would print a ``KeyboardInterrupt`` traceback and end with exit code
-2. So this module imports nothing slow: it makes SIGINT and SIGTERM end the process at once
with exit code 0, then imports the node, whose ``main`` takes the signals over.
"""

import os
import signal
import sys

from .shutdown import SIGNALS


def _exit_quietly(signum: int, frame) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # nothing to clean up yet; raising here could land inside an extension's import


def main(args: list[str] | None = None) -> int:
    """Run the node (``node.main``); a signal during its imports ends the process with 0."""
    for signum in SIGNALS:
        signal.signal(signum, _exit_quietly)
    from .node import main as run_node

    return run_node(args)


if __name__ == "__main__":
    sys.exit(main())
