# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The parameter-free panoptic head of Single-Shot Panoptic Segmentation (Weber et al., 2020).

Definition. At each output pixel p, Y(p) = [X_stuff(p); Y_i(p) for each detection i with
score >= threshold], where Y_i(p) = X_{c_i}(p) when p lies in box b_i and -inf elsewhere, X
being the semantic logits upsampled to the output size. p takes the argmax of Y: a stuff class
or a detection. Detections of the same class c all read X_c(p), so a pixel inside several boxes
of its winning class is given to one of them by the overlap policy.

After the argmax: with ``unknown_for_undetected_things``, pixels whose argmax over all C
channels is a thing class without a box of that class holding them become unknown; stuff
segments smaller than the (size-scaled) stuff area threshold, and detections left with no pixel
or with less than ``min_segment_fraction`` of their box, become unknown (their pixels are not
handed to another segment).

Cheaper equivalent computation. With S stuff classes, n detections of T distinct classes and
H x W output pixels, it holds S + T float maps, 2 (T + 1) int32 maps and n floats per contested
pixel (below), instead of the C + n float maps of the literal stacking:

1. Only the stuff channels and the thing channels that have a detection are upsampled;
   bilinear upsampling treats each channel alone, so these are exactly the maps Y reads.
2. The detections of class c contribute max_i Y_i(p) = X_c(p) inside the union of their boxes
   and -inf outside it. So the argmax of Z = [X_stuff; X_c masked to the union of the class-c
   boxes, for each detected c] is the class of Y's argmax. The number of class-c boxes holding
   each pixel, and the sum of their indices, come from a 2-D cumulative sum of +-1 marks at
   the box corners (one integer map per detected class, none per detection).
3. Where exactly one box of the winning class holds p, that box wins (its index is the index
   sum). Only at "contested" pixels, inside two or more such boxes, are the policy keys of the
   n detections evaluated.
4. The thing classes without any detection are only needed for
   ``unknown_for_undetected_things``; they are upsampled a few channels at a time.

Ties: the first maximum wins: stuff before things, channel order among stuff, and exact ties
between different thing classes go to the lower channel. Policy ties go to the detection
listed first.

Precision: the logits are cast to float32 before upsampling, so fp16 logits and fp32 logits of
the same values give identical maps (fp16 upsampling would round differently).

Coordinates are output pixels. Pixel (x, y) has its centre at (x + 0.5, y + 0.5) and is inside
box (x1, y1, x2, y2) when x1 <= x + 0.5 < x2 and y1 <= y + 0.5 < y2: an integer box covers
columns x1 .. x2 - 1, fractional boxes cover the pixels whose centres they contain, and the
parts of a box outside the image cover nothing. A centre offset (dx, dy) points from the pixel
centre to the centre ((x1 + x2) / 2, (y1 + y2) / 2) of its instance's box.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor
from torch.nn import functional as F

from ..categories import Category, stuff_channels, thing_channels
from .detections import Detections
from .params import PanopticParams
from .result import ID_DIVISOR, PanopticResult, Segment

# Channels upsampled at once when looking for thing classes without a detection.
_CHANNEL_CHUNK = 16


def panoptic_head(
    sem_logits: Tensor,
    detections: Detections,
    centers: Tensor | None = None,
    *,
    categories: list[Category],
    output_size: tuple[int, int],
    params: PanopticParams,
) -> list[PanopticResult]:
    """Merge semantic logits and detections into one panoptic result per image.

    sem_logits: (B, C, h, w) logits over ``categories`` (list order) and centers: (B, 2, h', w')
    offsets (dx, dy) in output pixels; both span the whole output image and are bilinearly
    upsampled (align_corners=False) to ``output_size`` (H, W). Detection boxes are in output
    pixels. centers is required by the "closest_center" policy only.
    """
    _check_inputs(sem_logits, detections, centers, categories, output_size, params)
    return [
        _panoptic_image(
            sem_logits[b],
            *detections.valid(b),
            None if centers is None else centers[b],
            categories,
            (int(output_size[0]), int(output_size[1])),
            params,
        )
        for b in range(sem_logits.shape[0])
    ]


class _Kept(NamedTuple):
    """One image's detections at or above the score threshold, in output pixels."""

    boxes: Tensor  # (n, 4) float32 xyxy
    scores: Tensor  # (n,) float32
    channels: Tensor  # (T,) distinct semantic channels of their classes, ascending
    class_index: Tensor  # (n,) position of each detection's channel in ``channels``
    cols: Tensor  # (n, 2) range [start, stop) of the columns whose pixel centres the box holds
    rows: Tensor  # (n, 2) the same for rows


def _panoptic_image(
    sem: Tensor,
    boxes: Tensor,
    scores: Tensor,
    classes: Tensor,
    centers: Tensor | None,
    categories: list[Category],
    size: tuple[int, int],
    params: PanopticParams,
) -> PanopticResult:
    """Run the panoptic head on one image; see the module docstring for the method."""
    device = sem.device
    dets = _kept_detections(boxes.to(device), scores.to(device), classes.to(device), size,
                            params.score_threshold)
    stuff = torch.tensor(stuff_channels(categories), dtype=torch.int64, device=device)
    # Z: the stuff maps, then the maps of the detected thing classes.
    logits = _upsample(sem[torch.cat([stuff, dets.channels])], size)
    label = torch.zeros(size, dtype=torch.int64, device=device)
    if logits.shape[0]:
        label = _argmax_labels(logits, sem, dets, centers, categories, params)

    # Label 0 is unknown, 1..S the stuff channels, S+1..S+n the detections.
    num_stuff = stuff.numel()
    area = torch.bincount(label.flatten(), minlength=1 + num_stuff + dets.boxes.shape[0])
    box_pixels = (dets.cols[:, 1] - dets.cols[:, 0]) * (dets.rows[:, 1] - dets.rows[:, 0])
    min_area = torch.cat([
        torch.zeros(1, device=device),
        torch.full((num_stuff,), params.stuff_area(*size), device=device),
        box_pixels * params.min_segment_fraction,
    ])
    kept = (area > 0) & (area >= min_area)
    kept[0] = False
    label = torch.where(kept[label], label, 0)

    ids = torch.tensor([c.id for c in categories], dtype=torch.int64, device=device)
    category_of = torch.cat([ids.new_zeros(1), ids[stuff], ids[dets.channels[dets.class_index]]])
    return _result(label, kept, area, category_of, dets.scores, num_stuff)


def _kept_detections(
    boxes: Tensor, scores: Tensor, classes: Tensor, size: tuple[int, int], threshold: float
) -> _Kept:
    """Select the detections scoring at least ``threshold`` and find their pixel ranges."""
    keep = scores >= threshold
    boxes, scores = boxes[keep].float(), scores[keep].float()
    if boxes.shape[0] >= ID_DIVISOR:
        raise ValueError(f"at most {ID_DIVISOR - 1} detections per image, got {boxes.shape[0]}")
    channels, class_index = torch.unique(classes[keep], return_inverse=True)
    cols = _pixel_ranges(boxes[:, 0::2], size[1])
    rows = _pixel_ranges(boxes[:, 1::2], size[0])
    return _Kept(boxes, scores, channels, class_index, cols, rows)


def _argmax_labels(
    logits: Tensor,
    sem: Tensor,
    dets: _Kept,
    centers: Tensor | None,
    categories: list[Category],
    params: PanopticParams,
) -> Tensor:
    """(H, W) label of Y's argmax: 1..S stuff channel, S+1..S+n detection, 0 unknown.

    logits: the upsampled stuff maps, then the detected classes' maps, which are masked in place.
    """
    size = tuple(logits.shape[-2:])
    num_stuff = logits.shape[0] - dets.channels.numel()
    counts, index_sums = _box_coverage(dets, size)
    thing_logits = logits[num_stuff:]
    if params.unknown_for_undetected_things:
        undetected = _undetected_thing_max(sem, thing_logits, counts[1:] > 0, dets.channels,
                                           categories)
    thing_logits.masked_fill_(counts[1:] == 0, -math.inf)
    best, winner = logits.max(0)

    # Slot 0 of the coverage maps is "no thing class" (all zero) and serves stuff winners.
    is_thing = winner >= num_stuff
    slot = torch.where(is_thing, winner - num_stuff + 1, 0)[None]
    count = counts.gather(0, slot)[0]
    det = index_sums.gather(0, slot)[0].long() - 1
    contested = (count >= 2).flatten().nonzero().squeeze(1)
    if contested.numel():
        det.view(-1)[contested] = _resolve_overlaps(
            contested, slot.view(-1)[contested] - 1, dets, centers, size, params.overlap_policy
        )
    label = torch.where(is_thing, torch.where(count > 0, num_stuff + 1 + det, 0), winner + 1)
    if params.unknown_for_undetected_things:
        label[undetected > best] = 0
    return label


def _result(
    label: Tensor, kept: Tensor, area: Tensor, category_of: Tensor, scores: Tensor, num_stuff: int
) -> PanopticResult:
    """Build the maps and segments (things first, then stuff) of the final label map."""
    labels = torch.arange(kept.numel(), device=label.device)
    order = torch.cat([labels[1 + num_stuff:], labels[1:1 + num_stuff]])
    order = order[kept[order]]
    num_things = int((order > num_stuff).sum())
    category_of = torch.where(kept, category_of, 0)
    instance_of = torch.zeros_like(category_of)
    instance_of[order[:num_things]] = torch.arange(1, num_things + 1, device=label.device)
    category, instance = category_of[label], instance_of[label]
    panoptic = category * ID_DIVISOR + instance

    bboxes = _label_bboxes(label, kept.numel())
    category_of, instance_of, area = category_of.tolist(), instance_of.tolist(), area.tolist()
    scores = scores.tolist()
    segments = [
        Segment(
            id=category_of[i] * ID_DIVISOR + instance_of[i],
            category_id=category_of[i],
            isthing=i > num_stuff,
            score=scores[i - num_stuff - 1] if i > num_stuff else None,
            bbox=tuple(bboxes[i]),
            area=area[i],
        )
        for i in order.tolist()
    ]
    return PanopticResult(category.int(), instance.int(), panoptic.int(), segments)


def _upsample(maps: Tensor, size: tuple[int, int]) -> Tensor:
    """(C, h, w) maps as float32 (C, H, W), bilinear with align_corners=False."""
    maps = maps.float()
    if tuple(maps.shape[-2:]) == size:
        return maps
    return F.interpolate(maps[None], size=size, mode="bilinear", align_corners=False)[0]


def _pixel_ranges(edges: Tensor, length: int) -> Tensor:
    """(n, 2) pixel index ranges [start, stop) whose centres i + 0.5 lie in [lo, hi).

    i + 0.5 >= lo  <=>  i >= ceil(lo - 0.5), and i + 0.5 < hi  <=>  i < ceil(hi - 0.5).
    """
    ranges = torch.ceil(edges - 0.5).clamp(0, length).long()
    return torch.stack([ranges[:, 0], torch.maximum(ranges[:, 0], ranges[:, 1])], dim=1)


def _box_coverage(dets: _Kept, size: tuple[int, int]) -> tuple[Tensor, Tensor]:
    """Per detected class, how many of its boxes hold each pixel, and the sum of their indices + 1.

    Both (1 + T, H, W) int32, slot 0 all zero, slot 1 + k for detected class k; from +-1 marks
    at the box corners summed cumulatively along y and x (a 2-D difference array).
    """
    height, width = size
    device, num_dets = dets.boxes.device, dets.boxes.shape[0]
    marks = torch.zeros(
        (2, 1 + dets.channels.numel(), height + 1, width + 1), dtype=torch.int32, device=device
    )
    sign = torch.tensor([1, -1, -1, 1], dtype=torch.int32, device=device)
    index = torch.arange(1, num_dets + 1, dtype=torch.int32, device=device)
    values = torch.stack([sign.expand(num_dets, 4), sign * index[:, None]])
    where = (
        torch.arange(2, device=device).view(2, 1, 1),
        1 + dets.class_index.view(1, -1, 1),
        dets.rows[:, [0, 0, 1, 1]][None],
        dets.cols[:, [0, 1, 0, 1]][None],
    )
    marks.index_put_(torch.broadcast_tensors(*where), values, accumulate=True)
    coverage = marks.cumsum_(2).cumsum_(3)[..., :height, :width]
    return coverage[0], coverage[1]


def _undetected_thing_max(
    sem: Tensor, thing_logits: Tensor, covered: Tensor, channels: Tensor, categories: list[Category]
) -> Tensor:
    """Per pixel, the highest thing logit among the classes with no box holding the pixel.

    Detected classes count outside their boxes; the thing channels without any detection are
    upsampled a few at a time to keep the memory small.
    """
    size = tuple(thing_logits.shape[-2:])
    result = torch.full(size, -math.inf, device=sem.device)
    if thing_logits.shape[0]:
        result = thing_logits.masked_fill(covered, -math.inf).amax(0)
    detected = set(channels.tolist())
    undetected = [c for c in thing_channels(categories) if c not in detected]
    for start in range(0, len(undetected), _CHANNEL_CHUNK):
        chunk = torch.tensor(undetected[start:start + _CHANNEL_CHUNK], device=sem.device)
        result = torch.maximum(result, _upsample(sem[chunk], size).amax(0))
    return result


def _resolve_overlaps(
    pixels: Tensor,
    pixel_class: Tensor,
    dets: _Kept,
    centers: Tensor | None,
    size: tuple[int, int],
    policy: str,
) -> Tensor:
    """Pick by ``policy``, at each of the M flat ``pixels``, one of the boxes of its class.

    pixel_class: (M,) winning class of each pixel as a position in ``dets.channels``. The key of
    every detection is evaluated at the M pixels only: (n, M) floats.
    """
    ys, xs = pixels // size[1], pixels % size[1]
    cols, rows, boxes = dets.cols, dets.rows, dets.boxes
    candidate = (
        (dets.class_index[:, None] == pixel_class[None])
        & (cols[:, :1] <= xs) & (xs < cols[:, 1:])
        & (rows[:, :1] <= ys) & (ys < rows[:, 1:])
    )
    if policy == "highest_confidence":
        key = -dets.scores[:, None]
    elif policy == "smallest_first":
        key = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))[:, None]
    else:  # squared distance, computed in place: the (n, M) floats are the largest tensors here
        offsets = _upsample(centers, size).flatten(1)[:, pixels]
        key = (xs + 0.5 + offsets[0]) - (boxes[:, 0:1] + boxes[:, 2:3]) / 2
        key.square_().add_(((ys + 0.5 + offsets[1]) - (boxes[:, 1:2] + boxes[:, 3:4]) / 2).square_())
    return torch.where(candidate, key, math.inf).argmin(0)


def _label_bboxes(label: Tensor, num_labels: int) -> list[list[int]]:
    """(x, y, width, height) of each label's pixels (meaningless for absent labels)."""
    height, width = label.shape
    ys, xs = torch.meshgrid(
        torch.arange(height, device=label.device), torch.arange(width, device=label.device),
        indexing="ij",
    )
    flat = label.flatten()
    lo = torch.full((2, num_labels), max(height, width), dtype=torch.int64, device=label.device)
    hi = torch.full((2, num_labels), -1, dtype=torch.int64, device=label.device)
    coords = torch.stack([xs.flatten(), ys.flatten()])
    lo = lo.scatter_reduce(1, flat.expand(2, -1), coords, "amin")
    hi = hi.scatter_reduce(1, flat.expand(2, -1), coords, "amax")
    return torch.cat([lo, hi - lo + 1]).T.tolist()


def _check_inputs(
    sem_logits: Tensor,
    detections: Detections,
    centers: Tensor | None,
    categories: list[Category],
    output_size: tuple[int, int],
    params: PanopticParams,
) -> None:
    """Raise ValueError naming the first bad argument."""
    if sem_logits.ndim != 4 or not sem_logits.is_floating_point():
        raise ValueError(
            f"sem_logits must be a float (B, C, h, w) tensor, got {sem_logits.dtype} "
            f"{tuple(sem_logits.shape)}"
        )
    batch, channels = sem_logits.shape[:2]
    if channels != len(categories):
        raise ValueError(f"sem_logits has {channels} channels for {len(categories)} categories")
    if detections.boxes.shape[0] != batch:
        raise ValueError(f"detections hold {detections.boxes.shape[0]} images, sem_logits {batch}")
    if len(output_size) != 2 or min(output_size) < 1:
        raise ValueError(f"output_size must be (height, width) > 0, got {output_size}")
    if centers is not None and (centers.ndim != 4 or centers.shape[:2] != (batch, 2)):
        raise ValueError(f"centers must be ({batch}, 2, h, w), got {tuple(centers.shape)}")
    if params.overlap_policy == "closest_center" and centers is None:
        raise ValueError(
            "overlap_policy 'closest_center' needs the centre offsets (centers); pass them or "
            "choose 'highest_confidence' or 'smallest_first'"
        )
    is_thing = torch.tensor([c.isthing for c in categories], device=detections.classes.device)
    valid = (
        torch.arange(detections.classes.shape[1], device=detections.classes.device)
        < detections.num_valid[:, None]
    )
    classes = detections.classes[valid]
    if bool(((classes < 0) | (classes >= channels)).any()) or not bool(is_thing[classes].all()):
        raise ValueError(
            f"detection classes must be thing channels {thing_channels(categories)}, "
            f"got {classes.unique().tolist()}"
        )
