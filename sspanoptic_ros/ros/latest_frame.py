# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Newest-frame slots and the worker thread that serves them (plain Python, no ROS).

Cameras put frames into their own one-frame slot; a frame replaced before the worker took it
is dropped and counted. One worker takes the frames round-robin over the slots, so each camera
gets an equal share of the engine and latency stays bounded by about one processing time per
camera: nothing ever queues.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SlotCounts:
    """Frames put into one slot since it was created, and how many of them were dropped."""

    received: int
    dropped: int


class LatestFrames:
    """One newest-frame slot per source; ``take`` serves the full slots round-robin.

    Thread-safe: any thread may ``put``, one consumer thread calls ``take``.
    """

    def __init__(self, num_slots: int):
        if num_slots < 1:
            raise ValueError(f"need at least one slot, got {num_slots}")
        self._cond = threading.Condition()
        self._frames: list[Any] = [None] * num_slots
        self._received = [0] * num_slots
        self._dropped = [0] * num_slots
        self._next = 0
        self._closed = False

    @property
    def num_slots(self) -> int:
        """Number of slots."""
        return len(self._frames)

    def put(self, slot: int, frame: Any) -> None:
        """Store ``frame`` (not None) in ``slot``, dropping the frame it replaces, if any."""
        if frame is None:
            raise ValueError("frame must not be None")
        with self._cond:
            if self._closed:
                return
            self._received[slot] += 1
            if self._frames[slot] is not None:
                self._dropped[slot] += 1
            self._frames[slot] = frame
            self._cond.notify()

    def take(self, timeout: float | None = None) -> tuple[int, Any] | None:
        """Remove and return (slot, frame) of the next full slot after the last one served.

        Waits up to ``timeout`` seconds (None: forever) for a frame; returns None on timeout
        or once the slots are closed.
        """
        with self._cond:
            if not self._cond.wait_for(self._ready, timeout) or self._closed:
                return None
            order = ((self._next + i) % self.num_slots for i in range(self.num_slots))
            slot = next(s for s in order if self._frames[s] is not None)
            frame, self._frames[slot] = self._frames[slot], None
            self._next = (slot + 1) % self.num_slots
            return slot, frame

    def counts(self, slot: int) -> SlotCounts:
        """Frames received and dropped by ``slot`` so far."""
        with self._cond:
            return SlotCounts(self._received[slot], self._dropped[slot])

    def close(self) -> None:
        """Discard the waiting frames (not counted as dropped) and wake up the consumer."""
        with self._cond:
            self._closed = True
            self._frames = [None] * self.num_slots
            self._cond.notify_all()

    def _ready(self) -> bool:
        return self._closed or any(f is not None for f in self._frames)


class FrameWorker:
    """A thread that takes frames from ``LatestFrames`` and hands each to ``process(slot, frame)``.

    An exception raised by ``process`` goes to ``on_error(slot, error)`` and the worker carries
    on with the next frame, so one bad frame never stops the service.
    """

    def __init__(
        self,
        frames: LatestFrames,
        process: Callable[[int, Any], None],
        on_error: Callable[[int, Exception], None],
        name: str = "frame-worker",
    ):
        self.frames = frames
        self._process = process
        self._on_error = on_error
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        """Start serving frames."""
        self._thread.start()

    def stop(self, timeout: float | None = None) -> bool:
        """Close the slots, wait for the frame in progress to finish; True if the thread ended."""
        self.frames.close()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        """Whether the thread is running."""
        return self._thread.is_alive()

    def _run(self) -> None:
        while (item := self.frames.take()) is not None:
            slot, frame = item
            try:
                self._process(slot, frame)
            except Exception as error:  # reported; the worker must survive any frame
                self._on_error(slot, error)
