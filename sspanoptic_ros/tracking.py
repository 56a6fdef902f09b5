# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Stable instance ids across the frames of one camera: mask-overlap tracking of thing segments.

Method. Each live track keeps the pixels of the segment it was last seen as, and its velocity:
how far the centre of those pixels moved per frame between its last two sightings. For a new
frame every track's pixels are moved by velocity x frames since it was seen (``motion``), and
the IoU of every track with every thing segment of the frame is counted on the instance maps,
sampled at the centre pixel of each ``stride`` x ``stride`` block; a track and a segment of
different classes never match. The assignment with the largest summed IoU over the pairs with
IoU >= ``min_iou`` (Hungarian method, ``scipy.optimize.linear_sum_assignment``) continues those
tracks with the frame's segments. Segments left unmatched start new tracks (velocity 0). A
track left unmatched keeps its last pixels and velocity and can still be continued while it
has been unseen for at most ``max_age`` frames; unseen for longer, it ends. A segment too
small to cover a sampled pixel cannot be matched and always starts a new track.

Sampling. By default the stride is the frame's shorter side // AUTO_STRIDE_SIDE (at least 1):
4 at 480 x 640, so the cost stays about the same at any camera resolution. The defaults of
stride, motion, min_iou and max_age were chosen with ``sspanoptic-bench track``; the README's
tracking section has the figures.

Ids. A tracker hands out track ids 1, 2, 3, ... in order, over all classes together, and does
not hand out an id twice until it has handed out ``max_id`` of them (default MAX_TRACK_ID = 999,
so that a tracked frame keeps the panoptic ids category * 1000 + track id, the layout of the
STEP benchmarks KITTI-STEP and MOTChallenge-STEP). Then it wraps around: it counts on from 1, skipping the ids
still held by live tracks (continued or unseen), so no two live tracks ever share an id.
``reset`` ends every track but keeps counting, so ids are not reused within a run either; a
new Tracker starts again at 1. A frame of another size than the previous one ends every track
first (the stored pixels no longer fit).

One call of ``update`` is one frame. Tensors stay on the instance map's device; only the
(tracks x segments) IoU matrix goes to the CPU for the assignment. No ROS imports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from .head.result import ID_DIVISOR, PanopticResult, Segment
from .setting_fields import check_setting_values, setting

# Track ids stay below the panoptic id divisor: category * ID_DIVISOR + track id.
MAX_TRACK_ID = ID_DIVISOR - 1
AUTO_STRIDE_SIDE = 120


@dataclass(frozen=True)
class TrackerParams:
    """Association settings; may be replaced between frames (the node's ``track_*`` parameters)."""

    max_age: int = setting(
        30, "Frames a track may stay unseen and still be continued (0: it must be seen in every frame).",
        range=(0, 10000),
    )
    min_iou: float = setting(
        0.1, "Least mask IoU, in (0, 1], at which a track and a segment of its class may be matched.",
        range=(0.0, 1.0),
    )
    motion: bool = setting(
        True, "Move each track's pixels by its velocity before measuring the overlap."
    )

    def __post_init__(self):
        if isinstance(self.max_age, bool) or not isinstance(self.max_age, int):
            raise ValueError(f"max_age must be an integer >= 0, got {self.max_age!r}")
        check_setting_values(self)
        if not 0.0 < self.min_iou <= 1.0:
            raise ValueError(f"min_iou must be in (0, 1], got {self.min_iou}")
        if not isinstance(self.motion, bool):
            raise ValueError(f"motion must be a bool, got {self.motion!r}")


def auto_stride(height: int, width: int) -> int:
    """Return the default sampling stride of a height x width frame."""
    return max(1, min(height, width) // AUTO_STRIDE_SIDE)


def sample_grid(instance: Tensor, stride: int) -> Tensor:
    """Return the int64 labels of the pixels at the centre of each ``stride`` x ``stride`` block."""
    offset = stride // 2
    return instance[offset::stride, offset::stride].long()


def overlaps(pixels: Tensor, owner: Tensor, num_tracks: int, grid: Tensor, num_segments: int) -> Tensor:
    """(tracks, segments) counts of each track's (y, x) ``pixels`` on each segment of ``grid``.

    owner: the track (0..num_tracks-1) of each pixel; grid: the frame's sampled labels,
    1..num_segments, 0 for no segment.
    """
    width = num_segments + 1
    counts = torch.bincount(owner * width + grid[pixels[:, 0], pixels[:, 1]],
                            minlength=num_tracks * width)
    return counts.view(num_tracks, width)[:, 1:]


def mask_iou(intersection: Tensor, track_area: Tensor, segment_area: Tensor) -> Tensor:
    """IoU from (T, N) intersections and the (T,) and (N,) areas; 0 where the union is empty."""
    union = track_area[:, None] + segment_area[None, :] - intersection
    return intersection.double() / union.clamp(min=1).double()


def assign(iou: np.ndarray, allowed: np.ndarray) -> list[tuple[int, int]]:
    """(track, segment) pairs of the matching with the largest summed IoU over ``allowed`` pairs.

    Disallowed pairs weigh 0 in the assignment and are dropped from its result afterwards:
    with non-negative weights that is exactly the best matching over the allowed pairs.
    """
    weights = np.where(allowed, iou, 0.0)
    if not weights.any():
        return []
    rows, cols = linear_sum_assignment(weights, maximize=True)
    return [(int(t), int(s)) for t, s in zip(rows, cols) if allowed[t, s]]


def shifted(pixels: Tensor, owner: Tensor, shift: Tensor, shape: tuple[int, int]) -> tuple[Tensor, Tensor]:
    """Move each owner's (y, x) pixels by its (dy, dx) ``shift``; drop those leaving ``shape``."""
    moved = pixels + shift[owner]
    inside = ((moved >= 0) & (moved < torch.tensor(shape, device=moved.device))).all(1)
    return moved[inside], owner[inside]


def centroids(pixels: Tensor, owner: Tensor, count: int) -> Tensor:
    """(count, 2) mean (y, x) of the pixels of each owner 0..count-1 (0 for none)."""
    total = torch.zeros(count, 2, device=pixels.device).index_add_(0, owner, pixels.float())
    return total / torch.bincount(owner, minlength=count).clamp(min=1)[:, None]


def relabel(instance: Tensor, track_ids: Sequence[int]) -> Tensor:
    """Replace instance numbers 1..N by ``track_ids`` (0 stays 0); int32 on the map's device."""
    lut = torch.tensor([0, *track_ids], dtype=torch.int32, device=instance.device)
    return lut[instance.long()]


def apply_tracks(
    result: PanopticResult, track_ids: Sequence[int], divisor: int = ID_DIVISOR
) -> PanopticResult:
    """Return ``result`` with its thing segments numbered by track id.

    The instance map holds the track ids; the panoptic map and the segment ids become
    category * ``divisor`` + track id for things and category * ``divisor`` for stuff, so ids
    stay unique in the frame (track ids are) and a thing keeps its id while it is tracked
    (a track has one class).
    """
    things = [s for s in result.segments if s.isthing]
    if len(things) != len(track_ids):
        raise ValueError(f"{len(track_ids)} track ids for {len(things)} thing segments")
    if track_ids and max(track_ids) >= divisor:
        raise ValueError(f"track ids must be < divisor {divisor}, got {max(track_ids)}")
    instance = relabel(result.instance, track_ids)
    ids = iter(track_ids)
    segments = [replace(s, id=s.category_id * divisor + (next(ids) if s.isthing else 0))
                for s in result.segments]
    return PanopticResult(result.category, instance, result.category * divisor + instance, segments)


class Tracker:
    """Track ids for the thing segments of one camera's consecutive frames (see the module).

    stride: sampling stride of the overlap, None for :func:`auto_stride`.
    """

    def __init__(
        self, params: TrackerParams | None = None, stride: int | None = None, max_id: int = MAX_TRACK_ID
    ):
        if stride is not None and stride < 1:
            raise ValueError(f"stride must be >= 1, got {stride}")
        if max_id < 1:
            raise ValueError(f"max_id must be >= 1, got {max_id}")
        self.params = params or TrackerParams()
        self.stride = stride
        self.max_id = max_id
        self._next_id = 1
        self._frame = 0
        self._clear()

    def _clear(self) -> None:
        self._size: tuple[int, int] | None = None
        self._ids: list[int] = []  # per track
        self._categories: list[int] = []
        self._last_seen: list[int] = []
        self._centroid = torch.zeros(0, 2)  # (T, 2) sampled (y, x) at the last sighting
        self._velocity = torch.zeros(0, 2)  # (T, 2) sampled pixels per frame
        self._pixels = torch.zeros(0, 2, dtype=torch.int64)  # (K, 2) sampled (y, x) of all tracks
        self._owner = torch.zeros(0, dtype=torch.int64)  # (K,) track index of each

    def reset(self) -> None:
        """End every track; ids continue from where they were (never reused within a run)."""
        self._clear()

    def restarted(self) -> Tracker:
        """Return a new tracker without tracks that hands out ids where this one stopped.

        For a stream restarting while another thread may still use this tracker.
        """
        tracker = Tracker(self.params, self.stride, self.max_id)
        tracker._next_id = self._next_id
        return tracker

    @property
    def track_ids(self) -> list[int]:
        """Ids of the live tracks (seen in the last frame or unseen for at most max_age)."""
        return list(self._ids)

    def _new_id(self, taken: set[int]) -> int:
        for _ in range(self.max_id):
            candidate = self._next_id
            self._next_id = self._next_id % self.max_id + 1
            if candidate not in taken:
                taken.add(candidate)
                return candidate
        raise RuntimeError(f"all {self.max_id} track ids are held by live tracks")

    def track(self, result: PanopticResult) -> PanopticResult:
        """Associate one frame's result; return it numbered by track id (``apply_tracks``)."""
        return apply_tracks(result, self.update(result.instance, result.segments))

    def update(self, instance: Tensor, segments: Sequence[Segment]) -> list[int]:
        """Associate one frame; return the track id of each thing segment.

        instance: (H, W) integer map, 1..N for the N thing segments in the order they appear
        in ``segments`` (things first, as :class:`PanopticResult` holds them), 0 elsewhere.
        Returns N track ids in the same order.
        """
        if instance.ndim != 2 or instance.is_floating_point():
            raise ValueError(f"instance must be an (H, W) integer map, got {instance.dtype} "
                             f"{tuple(instance.shape)}")
        categories = [s.category_id for s in segments if s.isthing]
        size = (int(instance.shape[0]), int(instance.shape[1]))
        if size != self._size:
            self._clear()
            self._size = size
        grid = sample_grid(instance, self.stride or auto_stride(*size))
        area = torch.bincount(grid.flatten(), minlength=len(categories) + 1)
        if area.numel() > len(categories) + 1:
            raise ValueError(f"instance map has label {area.numel() - 1} but only "
                             f"{len(categories)} thing segments")
        device = grid.device
        if self._pixels.device != device:
            for name in ("_centroid", "_velocity", "_pixels", "_owner"):
                setattr(self, name, getattr(self, name).to(device))
        frame, params = self._frame, self.params
        self._frame += 1
        gap = frame - torch.tensor(self._last_seen, dtype=torch.float32, device=device)

        matches = []
        if self._ids and categories:
            shift = (self._velocity * gap[:, None]).round().long() * params.motion
            pixels, owner = shifted(self._pixels, self._owner, shift, tuple(grid.shape))
            intersection = overlaps(pixels, owner, len(self._ids), grid, len(categories))
            track_area = torch.bincount(owner, minlength=len(self._ids))
            iou = mask_iou(intersection, track_area, area[1:]).cpu().numpy()
            same_class = np.array(self._categories)[:, None] == np.array(categories)[None, :]
            matches = assign(iou, same_class & (iou >= params.min_iou) & (iou > 0))
        return self._store(grid, categories, matches, gap, frame)

    def _store(
        self, grid: Tensor, categories: list[int], matches: list[tuple[int, int]], gap: Tensor, frame: int
    ) -> list[int]:
        """Make the frame's segments the tracks, then the unseen ones that live on; their ids."""
        device, num_segments, num_tracks = grid.device, len(categories), len(self._ids)
        track_of = [-1] * num_segments
        for t, s in matches:
            track_of[s] = t
        matched = {t for t, _ in matches}
        kept = [t for t in range(num_tracks)
                if t not in matched and frame - self._last_seen[t] <= self.params.max_age]
        taken = {self._ids[t] for t in (*matched, *kept)}
        ids = [self._ids[t] if t >= 0 else self._new_id(taken) for t in track_of]

        pixels = grid.nonzero()  # (M, 2) sampled (y, x) of the frame's thing pixels
        owner = grid[pixels[:, 0], pixels[:, 1]] - 1
        centroid = centroids(pixels, owner, num_segments)
        velocity = torch.zeros(num_segments, 2, device=device)
        if matches:
            t, s = (torch.tensor(v, device=device) for v in zip(*matches))
            velocity[s] = (centroid[s] - self._centroid[t]) / gap[t, None]
        kept_index = torch.tensor(kept, dtype=torch.int64, device=device)
        position = torch.full((num_tracks,), -1, dtype=torch.int64, device=device)
        position[kept_index] = torch.arange(num_segments, num_segments + len(kept), device=device)
        keep = position[self._owner] >= 0
        self._pixels = torch.cat([pixels, self._pixels[keep]])
        self._owner = torch.cat([owner, position[self._owner[keep]]])
        self._centroid = torch.cat([centroid, self._centroid[kept_index]])
        self._velocity = torch.cat([velocity, self._velocity[kept_index]])
        self._ids = ids + [self._ids[t] for t in kept]
        self._categories = categories + [self._categories[t] for t in kept]
        self._last_seen = [frame] * num_segments + [self._last_seen[t] for t in kept]
        return ids
