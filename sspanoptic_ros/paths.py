# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Where the package's installed data (models, configs, launch files) lives."""

from __future__ import annotations

from pathlib import Path

PACKAGE = "sspanoptic_ros"
DEFAULT_MODEL = "demo_synthetic.pt"


def share_dir() -> Path:
    """Return the package's share folder: the ament index in a ROS workspace, else the source tree."""
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_share_directory
    except ImportError:
        return Path(__file__).resolve().parent.parent
    try:
        return Path(get_package_share_directory(PACKAGE))
    except (PackageNotFoundError, OSError):  # OSError: no AMENT_PREFIX_PATH (pip install)
        return Path(__file__).resolve().parent.parent


def default_model_path() -> Path:
    """Return the path of the bundled demo model."""
    return share_dir() / "models" / DEFAULT_MODEL
