# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Detector post-processing (decode_detections) and the Detections container."""

import math

import pytest
import torch
from torchvision.models.detection._utils import BoxCoder

from sspanoptic_ros.head import DecodeParams, Detections, decode_detections

THINGS = [3, 4]  # semantic channels of detector classes 0 and 1
IMAGE = (64, 96)  # height, width
# Level 0: four 16 px anchors side by side in the top row; level 1: two 32 px anchors below.
ANCHORS = torch.tensor([
    [0, 0, 16, 16], [20, 0, 36, 16], [40, 0, 56, 16], [60, 0, 76, 16],
    [0, 30, 32, 62], [40, 30, 72, 62],
], dtype=torch.float32)
PER_LEVEL = [4, 2]
CODER = BoxCoder(weights=(1.0, 1.0, 1.0, 1.0))


def logit(p):
    return math.log(p / (1 - p))


def candidate(anchor, cls, score, target=None, image=0):
    return anchor, cls, score, target, image


def raw(*candidates, batch=1):
    """Raw outputs with ``candidate`` tuples, nothing elsewhere; no target box predicts the anchor."""
    cls_logits = torch.full((batch, len(ANCHORS), len(THINGS)), -20.0)
    box_deltas = torch.zeros(batch, len(ANCHORS), 4)
    for anchor, cls, score, target, image in (candidate(*c) for c in candidates):
        cls_logits[image, anchor, cls] = logit(score)
        if target is not None:
            target = torch.tensor([target])
            box_deltas[image, anchor] = CODER.encode_single(target, ANCHORS[anchor:anchor + 1])[0]
    return cls_logits, box_deltas


def decode(cls_logits, box_deltas, **params):
    params = DecodeParams(**params)
    return decode_detections(cls_logits, box_deltas, ANCHORS, PER_LEVEL, IMAGE, THINGS, params)


def test_round_trip_through_the_box_coder():
    targets = [[22.5, 2.0, 38.0, 20.25], [35.0, 28.0, 80.0, 60.0]]
    dets = decode(*raw((1, 0, 0.9, targets[0]), (5, 1, 0.8, targets[1])))
    assert dets.num_valid.tolist() == [2]
    assert torch.allclose(dets.boxes[0, :2], torch.tensor(targets), atol=1e-4)
    assert torch.allclose(dets.scores[0, :2], torch.tensor([0.9, 0.8]))
    assert dets.classes[0, :2].tolist() == [3, 4]  # semantic channels, not detector classes


def test_candidates_must_score_above_the_threshold():
    dets = decode(*raw((0, 0, 0.06), (2, 0, 0.04)))
    assert dets.num_valid.tolist() == [1] and dets.boxes[0, 0].tolist() == [0, 0, 16, 16]
    assert decode(*raw((0, 0, 0.06)), candidate_threshold=0.07).num_valid.tolist() == [0]


def test_top_k_candidates_are_taken_per_level():
    dets = decode(
        *raw((0, 0, 0.9), (1, 0, 0.8), (2, 0, 0.7), (3, 1, 0.6), (4, 0, 0.3), (5, 1, 0.2)),
        topk_candidates=2,
    )
    # Level 0 keeps its best two; level 1 keeps both although they score below 0.7 and 0.6.
    assert torch.allclose(dets.scores[0, :4], torch.tensor([0.9, 0.8, 0.3, 0.2]))
    assert dets.boxes[0, :4, 0].tolist() == [0, 20, 0, 40]


def test_nms_is_class_wise():
    a, b = [10.0, 20.0, 30.0, 40.0], [11.0, 20.0, 31.0, 40.0]  # IoU 19/21
    same = decode(*raw((0, 0, 0.9, a), (1, 0, 0.8, b)))
    assert same.num_valid.tolist() == [1] and torch.allclose(same.boxes[0, 0], torch.tensor(a), atol=1e-4)
    other = decode(*raw((0, 0, 0.9, a), (1, 1, 0.8, b)))
    assert other.num_valid.tolist() == [2] and other.classes[0, :2].tolist() == [3, 4]
    loose = decode(*raw((0, 0, 0.9, a), (1, 0, 0.8, b)), nms_threshold=0.95)
    assert loose.num_valid.tolist() == [2]


def test_boxes_are_clipped_to_the_image():
    dets = decode(*raw((4, 0, 0.9, [-10.0, -5.0, 50.0, 80.0]), (5, 1, 0.8, [70.0, 10.0, 120.0, 40.0])))
    assert torch.allclose(dets.boxes[0, :2], torch.tensor([[0.0, 0, 50, 64], [70, 10, 96, 40]]), atol=1e-4)


def test_max_detections_keeps_the_best_and_pads_the_rest():
    scores = [0.5, 0.9, 0.3, 0.8, 0.6, 0.7]
    candidates = [(i, i % 2, s) for i, s in enumerate(scores)]
    best = decode(*raw(*candidates), max_detections=3)
    assert best.boxes.shape == (1, 3, 4) and best.num_valid.tolist() == [3]
    assert torch.allclose(best.scores[0], torch.tensor([0.9, 0.8, 0.7]))
    assert best.classes[0].tolist() == [4, 4, 4]  # anchors 1, 3, 5 hold class 1
    padded = decode(*raw(*candidates), max_detections=8)
    assert padded.num_valid.tolist() == [6]
    assert padded.classes[0, 6:].tolist() == [-1, -1] and (padded.boxes[0, 6:] == 0).all()
    assert (padded.scores[0, 6:] == 0).all()


def test_images_of_a_batch_are_decoded_separately():
    dets = decode(*raw((0, 0, 0.9, None, 0), (5, 1, 0.8, None, 1), (3, 1, 0.7, None, 1), batch=2))
    assert dets.num_valid.tolist() == [1, 2]
    assert dets.boxes[0, 0].tolist() == [0, 0, 16, 16]
    assert dets.boxes[1, :2].tolist() == [[40, 30, 72, 62], [60, 0, 76, 16]]


def test_bad_inputs_are_refused():
    cls_logits, box_deltas = raw()
    with pytest.raises(ValueError, match="anchors_per_level"):
        decode_detections(cls_logits, box_deltas, ANCHORS, [4, 1], IMAGE, THINGS)
    with pytest.raises(ValueError, match="thing channels"):
        decode_detections(cls_logits, box_deltas, ANCHORS, PER_LEVEL, IMAGE, [3])
    with pytest.raises(ValueError, match="box_deltas"):
        decode_detections(cls_logits, box_deltas[:, :5], ANCHORS, PER_LEVEL, IMAGE, THINGS)
    with pytest.raises(ValueError, match="max_detections"):
        decode(cls_logits, box_deltas, max_detections=0)


def test_from_efficient_nms_maps_classes_to_channels():
    boxes = torch.arange(24, dtype=torch.float16).view(2, 3, 4)
    dets = Detections.from_efficient_nms(
        torch.tensor([[2], [0]], dtype=torch.int32),
        boxes,
        torch.tensor([[0.9, 0.5, 0.0], [0.0, 0.0, 0.0]]),
        torch.tensor([[1, 0, 0], [0, 0, 0]], dtype=torch.int32),  # the plugin pads with zeros
        THINGS,
    )
    assert dets.num_valid.tolist() == [2, 0]
    assert dets.classes.tolist() == [[4, 3, -1], [-1, -1, -1]]
    assert dets.boxes.dtype == torch.float32 and torch.equal(dets.boxes, boxes.float())
    boxes, scores, classes = dets.valid(0)
    assert boxes.shape == (2, 4) and classes.tolist() == [4, 3] and scores.shape == (2,)
    with pytest.raises(ValueError, match="detector classes"):
        Detections.from_efficient_nms(
            torch.tensor([1]), boxes[None, :1], scores[None, :1], torch.tensor([[2]]), THINGS
        )


def test_scaled_multiplies_x_and_y():
    dets = Detections(
        torch.tensor([[[10.0, 20.0, 30.0, 40.0]]]), torch.tensor([[0.9]]), torch.tensor([[3]]),
        torch.tensor([1]),
    )
    assert dets.scaled(2.0, 0.5).boxes.tolist() == [[[20.0, 10.0, 60.0, 20.0]]]


def test_detections_check_their_fields():
    boxes, scores = torch.zeros(1, 2, 4), torch.zeros(1, 2)
    with pytest.raises(ValueError, match="num_valid"):
        Detections(boxes, scores, torch.zeros(1, 2, dtype=torch.int64), torch.tensor([3]))
    with pytest.raises(ValueError, match="classes must be int64"):
        Detections(boxes, scores, torch.zeros(1, 2, dtype=torch.int32), torch.tensor([1]))
    with pytest.raises(ValueError, match="scores"):
        Detections(boxes, torch.zeros(1, 3), torch.zeros(1, 2, dtype=torch.int64), torch.tensor([1]))
