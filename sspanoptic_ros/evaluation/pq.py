# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Panoptic quality (Kirillov et al., CVPR 2019) as computed by the COCO panoptic API.

Same rules and numbers as ``pq_compute`` of cocodataset/panopticapi: a prediction matches
a ground-truth segment of its category at IoU > 0.5, where the union leaves out the
prediction's void pixels; crowd segments are never matched; an unmatched prediction is
not a false positive when more than half of it lies on void or on a crowd region of its
category. PQ = sum(IoU of matches) / (TP + FP / 2 + FN / 2), SQ = sum(IoU) / TP,
RQ = TP / (TP + FP / 2 + FN / 2), averaged over the categories that occur.

Implemented with one confusion matrix per image, in a single process, adding IoUs in the
order of the reference's single-core loop, so that the numbers agree to the last bit. It
differs only on input the reference handles poorly: a group (All/Things/Stuff) without any
occurring category gives zeros with n = 0 instead of a ZeroDivisionError; ground-truth ids
missing from ``segments_info`` and unknown ground-truth categories are errors instead of
being skipped; all crowd segments of a category count (COCO has at most one per image; the
reference uses the last); segment areas come from the maps, not from the JSON ``area``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np

from sspanoptic_ros.categories import UNKNOWN_ID, Category, check_matching_categories, validate_categories
from sspanoptic_ros.data.coco import read_coco_json, read_panoptic_png


class FramePair(NamedTuple):
    """One image's ground truth and prediction: segment id maps (H, W) and segments_info."""

    image_id: int | str
    gt_ids: np.ndarray
    gt_segments: list[dict]
    pred_ids: np.ndarray
    pred_segments: list[dict]


def segment_table(segments: list[dict], what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ids, category ids and crowd flags of ``segments``, sorted by id."""
    try:
        rows = sorted((s["id"], s["category_id"], bool(s.get("iscrowd", 0))) for s in segments)
    except KeyError as e:
        raise ValueError(f"a {what} segment lacks the key {e}") from None
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    if len(ids) and ids[0] <= UNKNOWN_ID:
        raise ValueError(f"{what} segment ids must be > 0, got {ids[0]}")
    if len(np.unique(ids)) != len(ids):
        raise ValueError(f"duplicate {what} segment ids in {ids.tolist()}")
    categories = np.array([r[1] for r in rows], dtype=np.int64)
    crowd = np.array([r[2] for r in rows], dtype=bool)
    return ids, categories, crowd


def segment_index(id_map: np.ndarray, ids: np.ndarray, what: str) -> np.ndarray:
    """Map pixel ids to 1 + position in the sorted ``ids`` (0 = void)."""
    present, inverse = np.unique(id_map, return_inverse=True)
    position = np.minimum(np.searchsorted(ids, present), max(len(ids) - 1, 0))
    known = (ids[position] == present) if len(ids) else np.zeros(len(present), dtype=bool)
    unknown = present[~known & (present != UNKNOWN_ID)]
    if len(unknown):
        raise ValueError(f"{what} segment ids {unknown.tolist()} are in the map but not in "
                         "segments_info")
    return np.where(known, position + 1, 0)[inverse].reshape(id_map.shape)


def category_index(category_ids: np.ndarray, index: dict[int, int], what: str) -> np.ndarray:
    """Positions of ``category_ids`` in a category list, given as ``index`` (id -> position)."""
    unknown = sorted(set(category_ids.tolist()) - index.keys())
    if unknown:
        raise ValueError(f"{what} segments have category ids {unknown}, which are not in "
                         "the category list")
    return np.array([index[c] for c in category_ids.tolist()], dtype=np.int64)


class LabelledFrame(NamedTuple):
    """One image's segments as tables sorted by id, and its maps as 1 + table row (0 = void)."""

    gt_index: np.ndarray  # (H, W)
    gt_seg_ids: np.ndarray
    gt_cats: np.ndarray  # category ids
    gt_cat_index: np.ndarray  # positions in the category list
    gt_crowd: np.ndarray
    pred_index: np.ndarray
    pred_seg_ids: np.ndarray
    pred_cats: np.ndarray
    pred_cat_index: np.ndarray


def label_frame(
    gt_ids: np.ndarray,
    gt_segments: list[dict],
    pred_ids: np.ndarray,
    pred_segments: list[dict],
    index: dict[int, int],
) -> LabelledFrame:
    """Check and tabulate one image's segment id maps and segments_info.

    index: category id -> position in the category list.
    """
    if gt_ids.shape != pred_ids.shape:
        raise ValueError(f"ground truth map {gt_ids.shape} and prediction map "
                         f"{pred_ids.shape} differ in size")
    gt_seg_ids, gt_cats, gt_crowd = segment_table(gt_segments, "ground truth")
    pred_seg_ids, pred_cats, _ = segment_table(pred_segments, "prediction")
    return LabelledFrame(
        segment_index(gt_ids, gt_seg_ids, "ground truth"),
        gt_seg_ids,
        gt_cats,
        category_index(gt_cats, index, "ground truth"),
        gt_crowd,
        segment_index(pred_ids, pred_seg_ids, "prediction"),
        pred_seg_ids,
        pred_cats,
        category_index(pred_cats, index, "prediction"),
    )


class PQStat:
    """Per-category IoU sums and TP / FP / FN counts, accumulated image by image."""

    def __init__(self, categories: list[Category]):
        self.categories = list(categories)
        self._index = {c.id: i for i, c in enumerate(self.categories)}
        n = len(self.categories)
        self.iou = np.zeros(n, dtype=np.float64)
        self.tp = np.zeros(n, dtype=np.int64)
        self.fp = np.zeros(n, dtype=np.int64)
        self.fn = np.zeros(n, dtype=np.int64)

    def accumulate(
        self,
        gt_ids: np.ndarray,
        gt_segments: list[dict],
        pred_ids: np.ndarray,
        pred_segments: list[dict],
    ) -> None:
        """Add one image: segment id maps (H, W) (0 = void) and their COCO segments_info."""
        frame = label_frame(gt_ids, gt_segments, pred_ids, pred_segments, self._index)
        gt_seg_ids, gt_cats, gt_crowd = frame.gt_seg_ids, frame.gt_cats, frame.gt_crowd
        pred_seg_ids, pred_cats = frame.pred_seg_ids, frame.pred_cats
        gt_cat_index, pred_cat_index = frame.gt_cat_index, frame.pred_cat_index
        gt_index, pred_index = frame.gt_index, frame.pred_index

        # Row 0 / column 0 of the confusion matrix are void.
        n_gt, n_pred = len(gt_seg_ids) + 1, len(pred_seg_ids) + 1
        confusion = np.bincount((gt_index * n_pred + pred_index).ravel(),
                                minlength=n_gt * n_pred).reshape(n_gt, n_pred)
        pred_area = confusion[:, 1:].sum(0)
        absent = pred_seg_ids[pred_area == 0]
        if len(absent):
            raise ValueError(f"prediction segment ids {absent.tolist()} are in segments_info "
                             "but not in the map")
        gt_area = confusion[1:, :].sum(1)
        pred_on_void = confusion[0, 1:]
        overlap = confusion[1:, 1:]
        same_category = gt_cats[:, None] == pred_cats[None, :]

        union = gt_area[:, None] + pred_area[None, :] - overlap - pred_on_void[None, :]
        candidate = same_category & ~gt_crowd[:, None] & (overlap > 0)
        iou = np.divide(overlap, union, out=np.zeros(overlap.shape), where=candidate)
        gt_match, pred_match = np.nonzero(iou > 0.5)  # IoU > 0.5 makes matches unique
        np.add.at(self.iou, gt_cat_index[gt_match], iou[gt_match, pred_match])
        np.add.at(self.tp, gt_cat_index[gt_match], 1)

        missed = np.ones(len(gt_seg_ids), dtype=bool)
        missed[gt_match] = False
        np.add.at(self.fn, gt_cat_index[missed & ~gt_crowd], 1)

        on_crowd = (overlap * (same_category & gt_crowd[:, None])).sum(0)
        ignored = (pred_on_void + on_crowd) / pred_area > 0.5
        false = np.ones(len(pred_seg_ids), dtype=bool)
        false[pred_match] = False
        np.add.at(self.fp, pred_cat_index[false & ~ignored], 1)

    def summary(self) -> dict:
        """Return PQ, SQ, RQ (fractions) and n for All / Things / Stuff, and per_class.

        ``per_class`` maps each category id to its pq / sq / rq (zeros when the category
        has no TP, FP or FN; such categories do not count in n and the averages).
        """
        per_class, occurring = {}, []
        for c, iou, tp, fp, fn in zip(self.categories, self.iou, self.tp, self.fp, self.fn):
            if tp + fp + fn == 0:
                per_class[c.id] = {"pq": 0.0, "sq": 0.0, "rq": 0.0}
                continue
            denominator = tp + 0.5 * fp + 0.5 * fn
            per_class[c.id] = {"pq": float(iou / denominator),
                               "sq": float(iou / tp) if tp else 0.0,
                               "rq": float(tp / denominator)}
            occurring.append(c)
        results = {}
        for name, isthing in (("All", None), ("Things", True), ("Stuff", False)):
            group = [per_class[c.id] for c in occurring if isthing is None or c.isthing == isthing]
            n = len(group)
            results[name] = {key: sum(r[key] for r in group) / n if n else 0.0
                             for key in ("pq", "sq", "rq")}
            results[name]["n"] = n
        results["per_class"] = per_class
        return results


def read_pairs(
    gt_json: str | Path, gt_folder: str | Path, pred_json: str | Path, pred_folder: str | Path
) -> tuple[list[Category], Iterator[FramePair]]:
    """Categories of the ground truth, and its images paired with their predictions.

    Predictions are matched by image_id; every ground-truth image needs one, predictions of
    other images are ignored, as in the reference. The files are checked up front, the PNGs
    read as the pairs are iterated.
    """
    gt_json, pred_json = Path(gt_json), Path(pred_json)
    gt_folder, pred_folder = Path(gt_folder), Path(pred_folder)
    gt = read_coco_json(gt_json, ("annotations", "categories"))
    pred = read_coco_json(pred_json, ("annotations",))
    for folder in (gt_folder, pred_folder):
        if not folder.is_dir():
            raise FileNotFoundError(f"segmentation folder not found: {folder}")
    categories = validate_categories([Category.from_dict(c) for c in gt["categories"]])
    if pred.get("categories"):  # predictions of another model's classes: refused before any image
        check_matching_categories(categories, [Category.from_dict(c) for c in pred["categories"]],
                              f"the ground truth's ({gt_json})", pred_json)
    predictions = {ann["image_id"]: ann for ann in pred["annotations"]}
    missing = [ann["image_id"] for ann in gt["annotations"] if ann["image_id"] not in predictions]
    if missing:
        raise ValueError(f"{pred_json} has no prediction for the image ids {missing}")

    def pairs() -> Iterator[FramePair]:
        for gt_ann in gt["annotations"]:
            pred_ann = predictions[gt_ann["image_id"]]
            yield FramePair(
                gt_ann["image_id"],
                read_panoptic_png(gt_folder / gt_ann["file_name"]),
                gt_ann["segments_info"],
                read_panoptic_png(pred_folder / pred_ann["file_name"]),
                pred_ann["segments_info"],
            )

    return categories, pairs()


def pq_compute(
    gt_json: str | Path, gt_folder: str | Path, pred_json: str | Path, pred_folder: str | Path
) -> dict:
    """Evaluate COCO panoptic predictions against ground truth files, as :meth:`PQStat.summary`.

    Categories come from the ground-truth JSON; every ground-truth image needs a prediction
    (matched by image_id); predictions of other images are ignored, as in the reference.
    """
    categories, pairs = read_pairs(gt_json, gt_folder, pred_json, pred_folder)
    stat = PQStat(categories)
    for pair in pairs:
        try:
            stat.accumulate(pair.gt_ids, pair.gt_segments, pair.pred_ids, pair.pred_segments)
        except ValueError as e:
            raise ValueError(f"image {pair.image_id}: {e}") from None
    return stat.summary()
