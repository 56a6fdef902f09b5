# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Branch metrics beside PQ: semantic mIoU, detector box AP and the paper's centre accuracy."""

from __future__ import annotations

import contextlib
import io

import numpy as np

from ..categories import Category
from ..data.coco import IGNORE_INDEX, PanopticTarget


class SemanticIoU:
    """Confusion matrix of the semantic branch's argmax against the semantic target."""

    def __init__(self, num_classes: int):
        self.num_classes = num_classes
        self.confusion = np.zeros((num_classes, num_classes), dtype=np.int64)

    def add(self, prediction: np.ndarray, target: np.ndarray) -> None:
        """Add one image: predicted and true class indices (H, W); IGNORE_INDEX is skipped."""
        valid = target != IGNORE_INDEX
        index = target[valid].astype(np.int64) * self.num_classes + prediction[valid]
        self.confusion += np.bincount(index, minlength=self.num_classes**2).reshape(self.confusion.shape)

    def miou(self) -> float:
        """Mean IoU over the classes that occur in the target or the prediction."""
        tp = np.diag(self.confusion)
        union = self.confusion.sum(0) + self.confusion.sum(1) - tp
        present = union > 0
        return float((tp[present] / union[present]).mean()) if present.any() else 0.0


def centre_assignments(target: PanopticTarget, centers: np.ndarray) -> tuple[int, int]:
    """(correct, total) for the pixels inside several same-class ground-truth boxes.

    A pixel p of instance g counts when at least two boxes of g's class contain it; it is
    correct when p + offset(p) lies nearest (L2) to the centre of g's own box among those boxes.
    ``centers`` is the predicted (2, H, W) offset map in image pixels.
    """
    ys, xs = np.nonzero(target.instance >= 0)
    if not len(ys) or len(target.boxes) < 2:
        return 0, 0
    owner = target.instance[ys, xs]
    px, py = xs + 0.5, ys + 0.5
    boxes = target.boxes
    inside = (px[:, None] >= boxes[None, :, 0]) & (px[:, None] < boxes[None, :, 2])
    inside &= (py[:, None] >= boxes[None, :, 1]) & (py[:, None] < boxes[None, :, 3])
    inside &= target.labels[None, :] == target.labels[owner][:, None]
    several = inside.sum(1) >= 2
    if not several.any():
        return 0, 0
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    qx = px[several] + centers[0, ys[several], xs[several]]
    qy = py[several] + centers[1, ys[several], xs[several]]
    distance = np.hypot(qx[:, None] - cx[None, :], qy[:, None] - cy[None, :])
    distance[~inside[several]] = np.inf
    return int((distance.argmin(1) == owner[several]).sum()), int(several.sum())


AP_KEYS = ("AP", "AP50", "AP75", "AP_small", "AP_medium", "AP_large")


def box_ap(
    gt: list[tuple[PanopticTarget, list[dict]]], detections: list[tuple], categories: list[Category]
) -> dict:
    """COCO box AP (pycocotools) of the detector; crowd regions are ignored as in COCO.

    gt: per image (target, segments_info); detections: per image (boxes xyxy, scores, semantic
    channels) as numpy arrays. Returns AP, AP50, AP75 and AP by box size in percent.
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    things = [i for i, c in enumerate(categories) if c.isthing]
    images, annotations, results = [], [], []
    for image_id, ((target, _), (boxes, scores, channels)) in enumerate(zip(gt, detections)):
        height, width = target.semantic.shape
        images.append({"id": image_id, "height": height, "width": width})
        labelled = [(b, int(c), 0) for b, c in zip(target.boxes, target.labels)]
        # Crowd regions carry no class in the targets: they are ignored for every thing class.
        labelled += [(b, t, 1) for b in target.crowd_boxes for t in things]
        for box, channel, crowd in labelled:
            x0, y0, x1, y1 = map(float, box)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": channel,
                    "bbox": [x0, y0, x1 - x0, y1 - y0],
                    "area": (x1 - x0) * (y1 - y0),
                    "iscrowd": crowd,
                }
            )
        for (x0, y0, x1, y1), score, channel in zip(boxes.tolist(), scores.tolist(), channels.tolist()):
            results.append(
                {
                    "image_id": image_id,
                    "category_id": int(channel),
                    "bbox": [x0, y0, x1 - x0, y1 - y0],
                    "score": score,
                }
            )
    if not results:
        return {key: 0.0 for key in AP_KEYS}
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
        coco = COCO()
        coco.dataset = {
            "images": images,
            "annotations": annotations,
            "categories": [{"id": i} for i in things],
        }
        coco.createIndex()
        evaluator = COCOeval(coco, coco.loadRes(results), "bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    # COCOeval's stats: AP, AP50, AP75, then AP of small (< 32^2 px), medium and large boxes;
    # -1 where no ground truth is of that size (None here).
    return {key: 100 * value if value >= 0 else None for key, value in zip(AP_KEYS, evaluator.stats)}
