# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Newest-frame slots and the worker thread (sspanoptic_ros.ros.latest_frame), without ROS."""

import threading

import pytest

from sspanoptic_ros.ros.latest_frame import FrameWorker, LatestFrames, SlotCounts


def test_newest_frame_wins_and_replaced_frames_count_as_dropped():
    frames = LatestFrames(1)
    for frame in ("a", "b", "c"):
        frames.put(0, frame)
    assert frames.take(timeout=0) == (0, "c")
    assert frames.counts(0) == SlotCounts(received=3, dropped=2)
    frames.put(0, "d")
    assert frames.take(timeout=0) == (0, "d")
    assert frames.counts(0) == SlotCounts(received=4, dropped=2)


def test_take_times_out_when_empty():
    assert LatestFrames(2).take(timeout=0.01) is None


def test_slots_are_served_round_robin():
    frames = LatestFrames(3)
    frames.put(0, "a0")
    frames.put(2, "c0")
    assert frames.take(timeout=0) == (0, "a0")
    frames.put(0, "a1")
    # Slot 2 waited longer than slot 0's new frame: it goes first.
    assert frames.take(timeout=0) == (2, "c0")
    frames.put(1, "b0")
    assert frames.take(timeout=0) == (0, "a1")
    assert frames.take(timeout=0) == (1, "b0")
    assert [frames.counts(i).dropped for i in range(3)] == [0, 0, 0]


def test_a_busy_camera_cannot_starve_another():
    frames = LatestFrames(2)
    served = []
    for i in range(4):
        frames.put(0, f"busy{i}")
        frames.put(1, f"quiet{i}")
        frames.put(0, f"busy{i}b")
        served += [frames.take(timeout=0)[0], frames.take(timeout=0)[0]]
    assert served.count(0) == served.count(1) == 4
    assert frames.counts(0) == SlotCounts(received=8, dropped=4)


def test_close_wakes_a_waiting_taker_and_ignores_later_frames():
    frames = LatestFrames(1)
    got = []
    taker = threading.Thread(target=lambda: got.append(frames.take()))
    taker.start()
    frames.close()
    taker.join(timeout=5)
    assert not taker.is_alive() and got == [None]
    frames.put(0, "late")
    assert frames.take(timeout=0) is None


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="at least one slot"):
        LatestFrames(0)
    with pytest.raises(ValueError, match="must not be None"):
        LatestFrames(1).put(0, None)


def test_worker_processes_frames_survives_errors_and_stops():
    frames = LatestFrames(2)
    processed, errors = [], []
    done = threading.Semaphore(0)

    def process(slot, frame):
        if frame == "bad":
            raise ValueError("corrupt frame")
        processed.append((slot, frame))
        done.release()

    def on_error(slot, error):
        errors.append((slot, str(error)))
        done.release()

    worker = FrameWorker(frames, process, on_error)
    worker.start()
    for slot, frame in [(0, "bad"), (1, "one"), (0, "two")]:
        frames.put(slot, frame)
        assert done.acquire(timeout=5), f"frame {frame!r} was not handled"
    assert errors == [(0, "corrupt frame")]
    assert processed == [(1, "one"), (0, "two")]
    assert worker.stop(timeout=5)
    assert not worker.alive


def test_stop_waits_for_the_frame_in_progress():
    frames = LatestFrames(1)
    started, release = threading.Event(), threading.Event()
    finished = []

    def process(slot, frame):
        started.set()
        release.wait(5)
        finished.append(frame)

    worker = FrameWorker(frames, process, lambda slot, error: None)
    worker.start()
    frames.put(0, "slow")
    assert started.wait(5)
    frames.put(0, "waiting")  # discarded by stop, never processed
    threading.Timer(0.1, release.set).start()
    assert worker.stop(timeout=5)
    assert finished == ["slow"]
