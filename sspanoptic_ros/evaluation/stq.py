# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Segmentation and Tracking Quality (STQ) of panoptic video, as the STEP paper defines it.

Weber et al., "STEP: Segmenting and Tracking Every Pixel" (2021), with deeplab2's
``STQuality`` as the reference implementation:

- A ground-truth track g is the set of pixels, over all frames of a sequence, of the non-crowd
  thing segments with one (category, id); a predicted track p the pixels of the predicted thing
  segments with one (category, id), except those on ground-truth crowd regions.
- TPA(p, g) = |p n g|, FPA(p, g) = |p| - TPA, FNA(p, g) = |g| - TPA, and
  IoU_id(p, g) = TPA / (TPA + FPA + FNA).
- AQ(g) = 1 / |g| * sum over the p with TPA(p, g) > 0 of TPA(p, g) * IoU_id(p, g), and AQ is
  the mean of AQ(g) over the ground-truth tracks (0 when there are none).
- SQ is the mean IoU of the semantic classes, TP / (TP + FP + FN) per class with the pixels of
  all frames, over the classes whose union is not empty. Stuff counts only here.
- STQ = sqrt(AQ * SQ).

Per sequence, the tracks and pixels of that sequence; overall, AQ is the mean over the tracks
of all sequences and SQ comes from the pixels of all sequences (not means of the sequences).

Void and crowd, as the reference: ground-truth void (id 0) belongs to no track and no class,
so SQ ignores it; a predicted thing pixel on it still belongs to its predicted track (it is an
FPA). Crowd regions (iscrowd thing segments) are in no track, ground truth or predicted, so
association is not judged there; SQ counts them with their class. A predicted void pixel on a
labelled pixel is a false negative of that pixel's class. One deliberate difference: the
reference then also counts its ignore label as an extra class of IoU 0 in SQ; here void is
never a class (the paper's mIoU is over the dataset's classes).

Besides STQ, ``id_switches`` counts identity switches as CLEAR-MOT does, with masks: in each
frame a ground-truth track and a predicted segment of its category match at IoU > 0.5; a switch
is a match to another predicted id than the track's previous match (frames in the order given).

Files: a sequence folder holds ``panoptic/`` (one COCO panoptic PNG per frame) and one JSON,
``panoptic.json`` (ground truth, as ``python -m sspanoptic_ros.data.synthetic_dataset --sequence``
writes it) or ``predictions.json`` (as ``sspanoptic-infer`` writes it); frames are matched by
image id. A folder of such folders is a set of sequences, matched by folder name.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from sspanoptic_ros.categories import Category
from sspanoptic_ros.evaluation.pq import label_frame, read_pairs

SEQUENCE_JSONS = ("panoptic.json", "predictions.json")


class STQStat:
    """Track areas, intersections and the class confusion of one sequence, frame by frame."""

    def __init__(self, categories: list[Category]):
        self.categories = list(categories)
        self._index = {c.id: i for i, c in enumerate(self.categories)}
        self._is_thing = np.array([c.isthing for c in self.categories], dtype=bool)
        n = len(self.categories) + 1  # the last row and column are void
        self.confusion = np.zeros((n, n), dtype=np.int64)
        self.gt_area: dict[tuple[int, int], int] = {}  # track (category id, id) -> pixels
        self.pred_area: dict[tuple[int, int], int] = {}
        self.intersection: dict[tuple[tuple[int, int], tuple[int, int]], int] = {}
        self.frames = 0
        self.id_switches = 0
        self._last_match: dict[tuple[int, int], tuple[int, int]] = {}

    def accumulate(
        self,
        gt_ids: np.ndarray,
        gt_segments: list[dict],
        pred_ids: np.ndarray,
        pred_segments: list[dict],
    ) -> None:
        """Add one frame: segment id maps (H, W) (0 = void) and their COCO segments_info."""
        f = label_frame(gt_ids, gt_segments, pred_ids, pred_segments, self._index)
        void = len(self.categories)
        # Segment confusion; row / column 0 are void.
        n_gt, n_pred = len(f.gt_seg_ids) + 1, len(f.pred_seg_ids) + 1
        pixels = np.bincount((f.gt_index * n_pred + f.pred_index).ravel(),
                             minlength=n_gt * n_pred).reshape(n_gt, n_pred)
        gt_class = np.concatenate([[void], f.gt_cat_index])
        pred_class = np.concatenate([[void], f.pred_cat_index])
        np.add.at(self.confusion, (gt_class[:, None], pred_class[None, :]), pixels)

        gt_thing = np.concatenate([[False], self._is_thing[f.gt_cat_index]])
        crowd = gt_thing & np.concatenate([[False], f.gt_crowd])
        gt_track = gt_thing & ~crowd
        pred_track = np.concatenate([[False], self._is_thing[f.pred_cat_index]])
        gt_key = [None] + list(zip(f.gt_cats.tolist(), f.gt_seg_ids.tolist()))
        pred_key = [None] + list(zip(f.pred_cats.tolist(), f.pred_seg_ids.tolist()))
        tracked = pixels[~crowd][:, pred_track].sum(0)  # predicted pixels off crowd regions
        for j, area in zip(np.nonzero(pred_track)[0], tracked):
            _add(self.pred_area, pred_key[j], area)
        for i in np.nonzero(gt_track)[0]:
            _add(self.gt_area, gt_key[i], pixels[i].sum())
            for j in np.nonzero(pred_track & (pixels[i] > 0))[0]:
                _add(self.intersection, (gt_key[i], pred_key[j]), pixels[i, j])

        # Identity switches: unique matches at IoU > 0.5 (whole segments, same category).
        union = pixels.sum(1)[:, None] + pixels.sum(0)[None, :] - pixels
        same = gt_class[:, None] == pred_class[None, :]
        match = same & gt_track[:, None] & pred_track[None, :] & (2 * pixels > union)
        for i, j in zip(*np.nonzero(match)):
            previous = self._last_match.get(gt_key[i])
            self.id_switches += previous is not None and previous != pred_key[j]
            self._last_match[gt_key[i]] = pred_key[j]
        self.frames += 1


def _add(counts: dict, key, value) -> None:
    counts[key] = counts.get(key, 0) + int(value)


def association_sum(stat: STQStat) -> float:
    """Sum of AQ(g) over the ground-truth tracks of ``stat``."""
    total = 0.0
    inner: dict[tuple[int, int], float] = {}
    for (g, p), tpa in stat.intersection.items():
        gt_size = stat.gt_area[g]
        inner[g] = inner.get(g, 0.0) + tpa * tpa / (stat.pred_area[p] + gt_size - tpa)
    for g, value in inner.items():
        total += value / stat.gt_area[g]
    return total


def class_iou(confusion: np.ndarray) -> np.ndarray:
    """IoU of each class (the void row and column last), NaN where the union is empty."""
    labelled = confusion[:-1]  # void ground truth is ignored
    tp = np.diag(labelled)
    fp = labelled[:, :-1].sum(0) - tp
    fn = labelled.sum(1) - tp  # includes predicted void
    union = tp + fp + fn
    return np.divide(tp, union, out=np.full(len(tp), np.nan), where=union > 0)


def quality(aq_sum: float, tracks: int, confusion: np.ndarray, categories: list[Category]) -> dict:
    """STQ, AQ, SQ (fractions) from the summed AQ(g), the track count and the class confusion."""
    aq = aq_sum / tracks if tracks else 0.0
    iou = class_iou(confusion)
    present = ~np.isnan(iou)
    sq = float(iou[present].mean()) if present.any() else 0.0
    return {
        "stq": math.sqrt(aq * sq),
        "aq": aq,
        "sq": sq,
        "tracks": tracks,
        "iou_per_class": {c.id: float(v) for c, v, p in zip(categories, iou, present) if p},
    }


def summarize(stats: dict[str, STQStat]) -> dict:
    """Per sequence and overall STQ / AQ / SQ, with frames, tracks and id_switches."""
    if not stats:
        raise ValueError("no sequences to summarize")
    categories = next(iter(stats.values())).categories
    sequences, confusion = {}, np.zeros((len(categories) + 1,) * 2, dtype=np.int64)
    aq_sum, tracks, frames, switches = 0.0, 0, 0, 0
    for name, stat in stats.items():
        if stat.categories != categories:
            raise ValueError(f"sequence {name} has other categories than the first sequence")
        seq_aq = association_sum(stat)
        sequences[name] = {**quality(seq_aq, len(stat.gt_area), stat.confusion, categories),
                           "frames": stat.frames, "id_switches": stat.id_switches}
        confusion = confusion + stat.confusion
        aq_sum, tracks = aq_sum + seq_aq, tracks + len(stat.gt_area)
        frames, switches = frames + stat.frames, switches + stat.id_switches
    overall = {**quality(aq_sum, tracks, confusion, categories), "frames": frames,
               "id_switches": switches}
    return {"sequences": sequences, "overall": overall}


def sequence_folders(root: str | Path) -> dict[str, Path]:
    """Return the sequence folders under ``root`` by name: ``root`` itself when it is one."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"folder not found: {root}")
    if (root / "panoptic").is_dir():
        return {root.name: root}
    folders = {p.name: p for p in sorted(root.iterdir()) if (p / "panoptic").is_dir()}
    if not folders:
        raise FileNotFoundError(f"{root} holds no sequence (a folder with panoptic/ and "
                                f"{' or '.join(SEQUENCE_JSONS)})")
    return folders


def sequence_json(folder: Path) -> Path:
    """Return the annotation JSON of a sequence folder."""
    for name in SEQUENCE_JSONS:
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"{folder} has no {' or '.join(SEQUENCE_JSONS)}")


def stq_compute(gt_dir: str | Path, pred_dir: str | Path) -> dict:
    """Evaluate predicted sequences against ground-truth ones, as :func:`summarize` reports it.

    Every ground-truth sequence needs a predicted one of the same folder name (when both
    arguments are single sequence folders, their names may differ).
    """
    gt = sequence_folders(gt_dir)
    pred = sequence_folders(pred_dir)
    if len(gt) == 1 and len(pred) == 1:
        pred = {next(iter(gt)): next(iter(pred.values()))}
    missing = sorted(set(gt) - set(pred))
    if missing:
        raise ValueError(f"{pred_dir} has no prediction for the sequences {missing}")
    stats = {}
    for name, gt_folder in gt.items():
        categories, pairs = read_pairs(sequence_json(gt_folder), gt_folder / "panoptic",
                                       sequence_json(pred[name]), pred[name] / "panoptic")
        stat = stats[name] = STQStat(categories)
        for pair in pairs:
            try:
                stat.accumulate(pair.gt_ids, pair.gt_segments, pair.pred_ids, pair.pred_segments)
            except ValueError as e:
                raise ValueError(f"sequence {name}, image {pair.image_id}: {e}") from None
    return summarize(stats)
