# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""``sspanoptic-bench``: engine, head, agreement, bag (ROS node), soak, track and depth (3D).

``engine``: backends and stages; ``agreement``: engine variants against fp32 eager outputs;
``track``: the tracker's STQ / AQ and cost on synthetic sequences; ``depth``: the 3D outputs' cost.
"""

from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "engine": "sspanoptic_ros.bench.engine_speed",
    "head": "sspanoptic_ros.bench.head_speed",
    "agreement": "sspanoptic_ros.bench.agreement",
    "bag": "sspanoptic_ros.bench.bag_cli",
    "soak": "sspanoptic_ros.bench.soak",
    "track": "sspanoptic_ros.bench.track",
    "depth": "sspanoptic_ros.bench.depth_cost",
}


def main(argv: list[str] | None = None) -> int:
    """Dispatch to the sub-command's own ``main``."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: sspanoptic-bench {{{','.join(COMMANDS)}}} [options]  (-h after a command for help)")
        return 2
    return importlib.import_module(COMMANDS[argv[0]]).main(argv[1:]) or 0


if __name__ == "__main__":
    raise SystemExit(main())
