# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Video files as RGB frames (OpenCV), for the command-line tools and the bag writer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np


def _open_video(path: str | Path) -> cv2.VideoCapture:
    if not Path(path).is_file():
        raise FileNotFoundError(f"video file not found: {path}")
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise ValueError(f"OpenCV cannot open the video {path}")
    return capture


def video_rate(path: str | Path) -> float | None:
    """Return the frame rate a video file declares, or None if it declares none."""
    capture = _open_video(path)
    rate = capture.get(cv2.CAP_PROP_FPS)
    capture.release()
    return rate if rate > 0 else None


def video_frames(path: str | Path) -> Iterator[np.ndarray]:
    """Yield the frames of a video file (anything OpenCV reads) as RGB images."""
    capture = _open_video(path)
    try:
        while True:
            ok, bgr = capture.read()
            if not ok:
                return
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    finally:
        capture.release()
