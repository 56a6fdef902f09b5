# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""COCO panoptic files to training targets.

The official format: an image folder, a ``panoptic_*.json`` (``images``, ``annotations``
with ``segments_info`` incl. ``iscrowd``, ``categories``) and one PNG per image whose
segment id is R + 256 G + 256^2 B (0 = void).

Conventions used by every target here: images are (H, W, 3) uint8 RGB numpy arrays;
pixel (x, y) covers the square [x, x + 1) x [y, y + 1), so its centre is (x + 0.5, y + 0.5)
and a one-pixel segment has the box [x, y, x + 1, y + 1] (COCO ``bbox`` [x, y, w, h] is
the same box written as corner + size).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from sspanoptic_ros.categories import UNKNOWN_ID, Category, check_matching_categories, validate_categories

IGNORE_INDEX = 255


def read_rgb(path: str | Path) -> np.ndarray:
    """Read an image file as an (H, W, 3) uint8 RGB array."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image file not found: {path}")
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def write_rgb(path: str | Path, image: np.ndarray) -> None:
    """Write an (H, W, 3) uint8 RGB array (format from the suffix, e.g. .png or .jpg)."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {image.shape} {image.dtype}")
    Image.fromarray(image).save(path)


def rgb_to_id(rgb: np.ndarray) -> np.ndarray:
    """Decode a panoptic PNG's (H, W, 3) RGB values to segment ids (H, W) int32."""
    rgb = rgb.astype(np.int32)
    return rgb[..., 0] + 256 * rgb[..., 1] + 256 * 256 * rgb[..., 2]


def id_to_rgb(ids: np.ndarray) -> np.ndarray:
    """Encode segment ids (H, W), each in [0, 256^3), as (H, W, 3) uint8 RGB."""
    ids = np.asarray(ids, dtype=np.int64)
    if ids.size and (ids.min() < 0 or ids.max() >= 256**3):
        raise ValueError(f"segment ids must lie in [0, 256^3), got {ids.min()}..{ids.max()}")
    return np.stack([ids % 256, ids // 256 % 256, ids // 65536], axis=-1).astype(np.uint8)


def read_panoptic_png(path: str | Path) -> np.ndarray:
    """Read a COCO panoptic PNG as segment ids (H, W) int32, 0 = void."""
    return rgb_to_id(read_rgb(path))


def write_panoptic_png(path: str | Path, ids: np.ndarray) -> None:
    """Write segment ids (H, W) as a COCO panoptic PNG."""
    write_rgb(path, id_to_rgb(ids))


def id_to_index(categories: list[Category]) -> dict[int, int]:
    """Map each dataset category id to its contiguous index (= semantic channel)."""
    return {c.id: i for i, c in enumerate(categories)}


def index_boxes(index_map: np.ndarray, count: int) -> np.ndarray:
    """Return the box (x1, y1, x2, y2) around the pixels of each index 0..count-1 (-1 = none).

    An index without pixels gets a box of NaNs.
    """
    height, width = index_map.shape
    ys, xs = np.nonzero(index_map >= 0)
    k = index_map[ys, xs]
    in_column = np.zeros((count, width), dtype=bool)
    in_column[k, xs] = True
    in_row = np.zeros((count, height), dtype=bool)
    in_row[k, ys] = True
    boxes = np.stack([
        in_column.argmax(1), in_row.argmax(1),
        width - in_column[:, ::-1].argmax(1), height - in_row[:, ::-1].argmax(1),
    ], axis=1).astype(np.float32)
    boxes[~in_column.any(1)] = np.nan
    return boxes


@dataclass
class PanopticTarget:
    """Training targets of one image; build it with :func:`make_target`.

    Attributes:
        semantic: (H, W) int64 semantic channel, IGNORE_INDEX on void and crowd pixels.
        instance: (H, W) int64 index into ``boxes`` of each non-crowd thing pixel, else -1.
        boxes: (M, 4) float32 xyxy box around each instance's pixels.
        labels: (M,) int64 semantic channel of each box's class.
        crowd_boxes: (K, 4) float32 xyxy boxes of crowd regions (to ignore in detection).
        center_offsets: (2, H, W) float32 (dx, dy) from each instance pixel's centre
            (x + 0.5, y + 0.5) to its box centre; 0 elsewhere.
        image_id: the dataset image id.
    """

    semantic: np.ndarray
    instance: np.ndarray
    boxes: np.ndarray
    labels: np.ndarray
    crowd_boxes: np.ndarray
    center_offsets: np.ndarray
    image_id: int | str

    @property
    def center_mask(self) -> np.ndarray:
        """(H, W) bool: the non-crowd thing pixels, where ``center_offsets`` is defined."""
        return self.instance >= 0


def make_target(
    semantic: np.ndarray,
    instance: np.ndarray,
    labels: np.ndarray,
    crowd_boxes: np.ndarray,
    image_id: int | str,
) -> PanopticTarget:
    """Derive boxes and centre offsets from the instance map.

    Instances without pixels (e.g. lost by down-scaling) are dropped and the instance
    map renumbered, so ``boxes``, ``labels`` and ``instance`` always agree.
    """
    if semantic.shape != instance.shape:
        raise ValueError(f"semantic {semantic.shape} and instance {instance.shape} maps differ")
    labels = np.asarray(labels, dtype=np.int64)
    instance = instance.astype(np.int64)
    counts = np.bincount(instance[instance >= 0], minlength=len(labels))
    if len(counts) > len(labels):
        raise ValueError(f"instance map has index {len(counts) - 1} but only {len(labels)} labels")
    keep = counts > 0
    if not keep.all():
        renumber = np.where(keep, np.cumsum(keep) - 1, -1)
        instance = np.where(instance >= 0, renumber[instance], -1)
        labels = labels[keep]
    boxes = index_boxes(instance, len(labels))
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    offsets = np.zeros((2, *instance.shape), dtype=np.float32)
    ys, xs = np.nonzero(instance >= 0)
    k = instance[ys, xs]
    offsets[0, ys, xs] = centres[k, 0] - (xs + 0.5)
    offsets[1, ys, xs] = centres[k, 1] - (ys + 0.5)
    return PanopticTarget(
        semantic=semantic.astype(np.int64),
        instance=instance,
        boxes=boxes,
        labels=labels,
        crowd_boxes=np.asarray(crowd_boxes, dtype=np.float32).reshape(-1, 4),
        center_offsets=offsets,
        image_id=image_id,
    )


def panoptic_to_target(
    panoptic_ids: np.ndarray,
    segments_info: list[dict],
    categories: list[Category],
    image_id: int | str = 0,
) -> PanopticTarget:
    """Build the training targets of a panoptic id map and its COCO ``segments_info``.

    Instances are numbered in ``segments_info`` order. Void pixels and crowd segments
    become IGNORE_INDEX in ``semantic``; crowd things also give ``crowd_boxes``.
    """
    channel = id_to_index(categories)
    segments = {s["id"]: s for s in segments_info}
    present = set(np.unique(panoptic_ids).tolist()) - {UNKNOWN_ID}
    missing = sorted(present - segments.keys())
    if missing:
        raise ValueError(f"image {image_id}: segment ids {missing} are in the panoptic PNG "
                         "but not in segments_info")
    # Lookup tables indexed by position in the sorted list of ids present (void first).
    ids = np.array([UNKNOWN_ID, *sorted(present)], dtype=np.int64)
    semantic_lut = np.full(len(ids), IGNORE_INDEX, dtype=np.int64)
    instance_lut = np.full(len(ids), -1, dtype=np.int64)
    crowd_lut = np.full(len(ids), -1, dtype=np.int64)
    labels, num_crowd = [], 0
    check_category_ids(segments_info, channel, image_id)
    for segment in segments_info:
        if segment["id"] not in present:
            continue
        k = np.searchsorted(ids, segment["id"])
        c = channel[segment["category_id"]]
        if segment.get("iscrowd", 0):
            crowd_lut[k] = num_crowd
            num_crowd += 1
        else:
            semantic_lut[k] = c
            if categories[c].isthing:
                instance_lut[k] = len(labels)
                labels.append(c)
    position = np.searchsorted(ids, panoptic_ids)
    return make_target(
        semantic=semantic_lut[position],
        instance=instance_lut[position],
        labels=np.array(labels, dtype=np.int64),
        crowd_boxes=index_boxes(crowd_lut[position], num_crowd),
        image_id=image_id,
    )


def check_category_ids(segments_info: list[dict], known: dict[int, int], image_id) -> None:
    """Raise a ValueError naming the first segment whose category id is not in ``known``."""
    for segment in segments_info:
        if segment["category_id"] not in known:
            raise ValueError(f"image {image_id}: segment {segment['id']} has category id "
                             f"{segment['category_id']}, which is not in the category list")


def read_coco_json(
    path: str | Path, required: tuple[str, ...] = ("images", "annotations", "categories")
) -> dict:
    """Read a COCO panoptic JSON file, checking that it has the ``required`` keys."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"annotation file not found: {path}")
    data = json.loads(path.read_text())
    missing = [key for key in required if key not in data]
    if missing:
        raise ValueError(f"{path}: not a COCO panoptic file, the keys {missing} are missing")
    return data


class CocoPanoptic(torch.utils.data.Dataset):
    """A COCO-format panoptic data set; item i is ``(image, target)``.

    ``image`` is an (H, W, 3) uint8 RGB numpy array and ``target`` a :class:`PanopticTarget`,
    both passed through ``transform(image, target)`` when given. ``categories`` (default: the
    JSON's) fixes the contiguous training indices: list order = semantic channel order.
    """

    def __init__(
        self,
        image_dir: str | Path,
        annotation_json: str | Path,
        panoptic_dir: str | Path,
        categories: list[Category] | None = None,
        transform: Callable | None = None,
    ):
        self.image_dir, self.panoptic_dir = Path(image_dir), Path(panoptic_dir)
        for folder in (self.image_dir, self.panoptic_dir):
            if not folder.is_dir():
                raise FileNotFoundError(f"folder not found: {folder}")
        data = read_coco_json(annotation_json)
        in_file = [Category.from_dict(c) for c in data.get("categories", [])]
        if categories is None:
            categories = in_file
        elif in_file:  # a dataset of other classes: refused before any image is read
            check_matching_categories(categories, in_file, "the model's", annotation_json)
        self.categories = validate_categories(list(categories))
        if len(self.categories) >= IGNORE_INDEX:
            raise ValueError(f"at most {IGNORE_INDEX - 1} categories fit next to the ignore "
                             f"index {IGNORE_INDEX}, got {len(self.categories)}")
        self.transform = transform
        known = id_to_index(self.categories)
        image_files = {im["id"]: im["file_name"] for im in data["images"]}
        self.annotations = data["annotations"]
        self.image_files = []
        for ann in self.annotations:
            if ann["image_id"] not in image_files:
                raise ValueError(f"{annotation_json}: annotation {ann['file_name']} refers to "
                                 f"image id {ann['image_id']}, which is not in 'images'")
            self.image_files.append(image_files[ann["image_id"]])
            check_category_ids(ann["segments_info"], known, ann["image_id"])

    def __len__(self) -> int:
        return len(self.annotations)

    def panoptic(self, index: int) -> tuple[np.ndarray, list[dict]]:
        """Return the segment ids (H, W) int32 and ``segments_info`` of item ``index``."""
        ann = self.annotations[index]
        return read_panoptic_png(self.panoptic_dir / ann["file_name"]), ann["segments_info"]

    def __getitem__(self, index: int) -> tuple[np.ndarray, PanopticTarget]:
        image = read_rgb(self.image_dir / self.image_files[index])
        ids, segments_info = self.panoptic(index)
        if ids.shape != image.shape[:2]:
            raise ValueError(f"{self.image_files[index]}: image is {image.shape[:2]} but its "
                             f"panoptic PNG is {ids.shape}")
        image_id = self.annotations[index]["image_id"]
        target = panoptic_to_target(ids, segments_info, self.categories, image_id)
        if self.transform is not None:
            image, target = self.transform(image, target)
        return image, target
