# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Panoptic head: hand-built scenes, and equality with a literal implementation of the paper."""

import numpy as np
import pytest
import torch
from conftest import TINY_CATEGORIES
from torch.nn import functional as F

from sspanoptic_ros.head import Detections, PanopticParams, Segment, panoptic_head

# TINY_CATEGORIES channels: 0 sky (id 1), 1 grass (2), 2 road (3) are stuff; 3 disc (11) and
# 4 box (12) are things.
SKY, GRASS, ROAD, DISC, BOX = range(5)
H, W = 32, 48


def detections(*rows, k=None):
    """One image's Detections from (x1, y1, x2, y2, score, channel) rows, padded to k entries."""
    k = len(rows) if k is None else k
    boxes, scores, classes = torch.zeros(1, k, 4), torch.zeros(1, k), torch.full((1, k), -1)
    for i, (x1, y1, x2, y2, score, channel) in enumerate(rows):
        boxes[0, i] = torch.tensor([x1, y1, x2, y2])
        scores[0, i], classes[0, i] = score, channel
    return Detections(boxes, scores, classes, torch.tensor([len(rows)]))


def sky_logits():
    """(C, H, W) logits: sky 1 everywhere, every other class 0."""
    sem = torch.zeros(len(TINY_CATEGORIES), H, W)
    sem[SKY] = 1.0
    return sem


def run(sem, dets, centers=None, **params):
    """Run the head on one image at its own size; no stuff area threshold unless given."""
    params.setdefault("stuff_area_threshold", 0)
    params.setdefault("overlap_policy", "highest_confidence")
    return panoptic_head(
        sem[None], dets, None if centers is None else centers[None],
        categories=TINY_CATEGORIES, output_size=(H, W), params=PanopticParams(**params),
    )[0]


def box_mask(x1, y1, x2, y2):
    """(H, W) bool mask of the integer box's pixels, columns x1..x2-1 and rows y1..y2-1."""
    mask = torch.zeros(H, W, dtype=torch.bool)
    mask[max(y1, 0):max(y2, 0), max(x1, 0):max(x2, 0)] = True
    return mask


def test_inter_class_overlap_is_decided_by_the_logits():
    sem = sky_logits()
    sem[DISC, :, :20] = 2.0
    sem[BOX, :, 20:] = 2.0
    result = run(sem, detections((0, 0, 24, 32, 0.9, DISC), (16, 0, 40, 32, 0.8, BOX)))
    expected = torch.full((H, W), 1)  # sky
    expected[:, :20] = 11  # disc, also in the overlap x = 16..19 where its logit is higher
    expected[:, 20:40] = 12  # box, also in the overlap x = 20..23
    assert torch.equal(result.category, expected.int())
    assert torch.equal(result.instance[:, :20], torch.ones(H, 20, dtype=torch.int32))
    assert torch.equal(result.instance[:, 20:40], torch.full((H, 20), 2, dtype=torch.int32))
    assert result.segments == [
        Segment(11001, 11, True, pytest.approx(0.9), (0, 0, 20, 32), 20 * 32),
        Segment(12002, 12, True, pytest.approx(0.8), (20, 0, 20, 32), 20 * 32),
        Segment(1000, 1, False, None, (40, 0, 8, 32), 8 * 32),
    ]
    assert torch.equal(result.panoptic, result.category * 1000 + result.instance)


# Two overlapping disc boxes: A = [4, 24) x [4, 20), area 320; B = [16, 40) x [8, 28), area 480.
BOX_A, BOX_B = (4, 4, 24, 20), (16, 8, 40, 28)


def overlapping_discs(score_a, score_b):
    sem = sky_logits()
    sem[DISC] = 2.0
    return sem, detections((*BOX_A, score_a, DISC), (*BOX_B, score_b, DISC))


@pytest.mark.parametrize(
    ("policy", "score_a", "score_b", "overlap_to"),
    [
        ("highest_confidence", 0.9, 0.7, 1),
        ("highest_confidence", 0.7, 0.9, 2),
        ("smallest_first", 0.7, 0.9, 1),  # A is smaller although it scores lower
    ],
)
def test_same_class_overlap_gives_a_rectangular_boundary(policy, score_a, score_b, overlap_to):
    sem, dets = overlapping_discs(score_a, score_b)
    result = run(sem, dets, overlap_policy=policy)
    a, b = box_mask(*BOX_A), box_mask(*BOX_B)
    expected = torch.zeros(H, W, dtype=torch.int32)
    expected[a] = 1
    expected[b] = 2
    expected[a & b] = overlap_to  # the whole overlap rectangle [16, 24) x [8, 20)
    assert torch.equal(result.instance, expected)
    assert torch.equal(result.category == 11, a | b)


def test_closest_center_gives_a_smooth_boundary():
    sem, dets = overlapping_discs(0.9, 0.7)
    result = run(sem, dets, torch.zeros(2, H, W), overlap_policy="closest_center")
    # Without offsets an overlap pixel goes to the nearer box centre: A (14, 12) or B (28, 18);
    # equal distances (e.g. pixel (22, 11): 8.5^2 + 0.5^2 = 5.5^2 + 6.5^2) go to A, listed first.
    ys, xs = torch.meshgrid(torch.arange(H) + 0.5, torch.arange(W) + 0.5, indexing="ij")
    nearer_a = (xs - 14) ** 2 + (ys - 12) ** 2 <= (xs - 28) ** 2 + (ys - 18) ** 2
    a, b = box_mask(*BOX_A), box_mask(*BOX_B)
    expected = torch.zeros(H, W, dtype=torch.int32)
    expected[a] = 1
    expected[b & ~(a & nearer_a)] = 2
    assert torch.equal(result.instance, expected)
    # The boundary is diagonal: the top overlap row (y = 8) is all A, the bottom one (y = 19)
    # switches to B at x = 19 (pixel centre 19.5: 5.5^2 + 7.5^2 > 8.5^2 + 1.5^2).
    assert result.instance[8, 16:24].tolist() == [1] * 8
    assert result.instance[19, 16:24].tolist() == [1, 1, 1, 2, 2, 2, 2, 2]


def test_closest_center_follows_the_predicted_offsets():
    sem, dets = overlapping_discs(0.9, 0.7)
    ys, xs = torch.meshgrid(torch.arange(H) + 0.5, torch.arange(W) + 0.5, indexing="ij")
    to_b = torch.stack([28 - xs, 18 - ys])  # every pixel points exactly at B's centre
    result = run(sem, dets, to_b, overlap_policy="closest_center")
    a, b = box_mask(*BOX_A), box_mask(*BOX_B)
    assert torch.equal(result.instance == 2, b)
    assert torch.equal(result.instance == 1, a & ~b)


def test_closest_center_without_centers_is_refused():
    sem, dets = overlapping_discs(0.9, 0.7)
    with pytest.raises(ValueError, match="closest_center.*centers"):
        run(sem, dets, overlap_policy="closest_center")


def test_detection_without_class_evidence_disappears():
    sem = sky_logits()
    sem[DISC, 0:10, 0:10] = 3.0
    dets = detections((20, 20, 30, 30, 0.95, BOX), (0, 0, 10, 10, 0.9, DISC))
    result = run(sem, dets)  # the box logit is 0 < sky inside its box: a false detection
    assert [(s.id, s.area) for s in result.segments] == [(11001, 100), (1000, H * W - 100)]
    assert torch.equal(result.instance == 1, box_mask(0, 0, 10, 10))


def test_detections_below_the_score_threshold_are_ignored():
    sem = sky_logits()
    sem[DISC] = 2.0
    result = run(sem, detections((0, 0, 10, 10, 0.39, DISC)), score_threshold=0.4)
    assert (result.category == 1).all() and [s.id for s in result.segments] == [1000]


def test_thing_pixels_without_a_box_take_stuff_or_unknown():
    sem = sky_logits()
    sem[GRASS, 16:] = 1.5
    sem[DISC, :, :24] = 4.0  # disc wins the argmax on the left half, but only one box
    dets = detections((0, 0, 8, 8, 0.9, DISC))
    default = run(sem, dets)
    expected = torch.where(torch.arange(H)[:, None] < 16, 1, 2).expand(H, W).clone()
    expected[:8, :8] = 11
    assert torch.equal(default.category, expected.int())

    unknown = run(sem, dets, unknown_for_undetected_things=True)
    expected[:, :24] = 0
    expected[:8, :8] = 11
    assert torch.equal(unknown.category, expected.int())
    assert torch.equal(unknown.panoptic == 0, unknown.category == 0)


def test_undetected_thing_beating_a_box_of_another_class_becomes_unknown():
    sem = sky_logits()
    sem[BOX] = 2.0
    sem[DISC, :, :4] = 3.0  # disc is the best class in columns 0..3, inside the box's box
    dets = detections((0, 0, 10, 10, 0.9, BOX))
    assert (run(sem, dets).category[:10, :10] == 12).all()  # Y: the box beats the stuff
    unknown = run(sem, dets, unknown_for_undetected_things=True)
    assert (unknown.category[:10, :4] == 0).all() and (unknown.category[:10, 4:10] == 12).all()


def test_small_stuff_becomes_unknown_with_the_threshold_scaled_to_the_output():
    sem = sky_logits()
    sem[GRASS, 0:4, 0:5] = 2.0  # 20 grass pixels
    # 576 * 864 / (32 * 48) = 324: a threshold t at the paper's size is t / 324 pixels here.
    kept = run(sem, detections(), stuff_area_threshold=324 * 20)
    assert [(s.category_id, s.area) for s in kept.segments] == [(1, H * W - 20), (2, 20)]
    removed = run(sem, detections(), stuff_area_threshold=324 * 20 + 1)
    assert [(s.category_id, s.area) for s in removed.segments] == [(1, H * W - 20)]
    assert torch.equal(removed.category == 0, box_mask(0, 0, 5, 4))
    assert PanopticParams(stuff_area_threshold=4096).stuff_area(288, 432) == 1024


def test_min_segment_fraction_removes_mostly_covered_detections():
    sem = sky_logits()
    sem[DISC, 0:10, 0:10] = 2.0
    sem[BOX, 0:10, 0:7] = 3.0  # the box class takes 70 % of the disc's box
    dets = detections((0, 0, 7, 10, 0.9, BOX), (0, 0, 10, 10, 0.8, DISC))
    assert [s.area for s in run(sem, dets, min_segment_fraction=0.25).segments[:2]] == [70, 30]
    result = run(sem, dets, min_segment_fraction=0.35)
    assert [s.id for s in result.segments] == [12001, 1000]
    assert torch.equal(result.category == 0, box_mask(7, 0, 10, 10))


@pytest.mark.parametrize("dets", [detections(), detections(k=3)], ids=["K=0", "num_valid=0"])
def test_no_detections_gives_stuff_only(dets):
    sem = sky_logits()
    sem[ROAD, 20:] = 2.0
    sem[DISC] = 5.0
    result = run(sem, dets)
    assert [(s.id, s.area) for s in result.segments] == [(1000, 20 * W), (3000, 12 * W)]
    assert (result.instance == 0).all()


def test_boxes_partly_outside_the_image_are_cut_at_the_border():
    sem = sky_logits()
    sem[DISC] = 2.0
    result = run(sem, detections((-10, -5, 8, 6, 0.9, DISC), (40, 25, 60, 40, 0.8, DISC)))
    assert torch.equal(result.instance == 1, box_mask(0, 0, 8, 6))
    assert torch.equal(result.instance == 2, box_mask(40, 25, 48, 32))
    assert [(s.bbox, s.area) for s in result.segments[:2]] == [((0, 0, 8, 6), 48), ((40, 25, 8, 7), 56)]


def test_fractional_boxes_hold_the_pixels_whose_centres_they_contain():
    sem = sky_logits()
    sem[DISC] = 2.0
    # Columns: centres 2.5, 3.5, 4.5 lie in [2.4, 5.5); 5.5 does not. Rows: 3.5 .. 6.5 in [3.5, 6.6).
    result = run(sem, detections((2.4, 3.5, 5.5, 6.6, 0.9, DISC)))
    assert torch.equal(result.instance == 1, box_mask(2, 3, 5, 7))
    assert result.segments[0].bbox == (2, 3, 3, 4) and result.segments[0].area == 12


def test_upsamples_low_resolution_logits_and_offsets():
    sem = torch.zeros(len(TINY_CATEGORIES), H // 4, W // 4)
    sem[SKY] = 1.0
    sem[GRASS, H // 8:] = 3.0  # bottom half at 1/4 resolution
    result = panoptic_head(
        sem[None], detections(), categories=TINY_CATEGORIES, output_size=(H, W),
        params=PanopticParams(stuff_area_threshold=0, overlap_policy="smallest_first"),
    )[0]
    # Bilinear, align_corners=False: output row y reads low-res row (y + 0.5) / 4 - 0.5. Row 15
    # reads 3.375, grass 0.375 * 3 = 1.125 > sky 1; row 14 reads 3.125, grass 0.375 < 1.
    assert (result.category[:15] == 1).all() and (result.category[15:] == 2).all()


def test_bad_arguments_are_refused():
    sem, dets = overlapping_discs(0.9, 0.7)
    with pytest.raises(ValueError, match="overlap_policy"):
        PanopticParams(overlap_policy="largest_first")
    with pytest.raises(ValueError, match="score_threshold"):
        PanopticParams(score_threshold=1.5)
    with pytest.raises(ValueError, match="min_segment_fraction"):
        PanopticParams(min_segment_fraction=-0.1)
    with pytest.raises(ValueError, match="channels for 5 categories"):
        run(sem[:4], dets)
    with pytest.raises(ValueError, match="thing channels"):
        run(sem, detections((0, 0, 4, 4, 0.9, ROAD)))


# --- Equality with the literal definition -------------------------------------------------------


def reference_head(sem, boxes, scores, classes, centers, size, params):
    """Paper definition, literally: all C maps upsampled, Y stacked, argmax, policy per pixel.

    Returns (category, instance) numpy maps and segments as tuples.
    """
    cats = TINY_CATEGORIES
    height, width = size
    x = F.interpolate(sem[None].float(), size, mode="bilinear", align_corners=False)[0].numpy()
    off = F.interpolate(centers[None].float(), size, mode="bilinear", align_corners=False)[0].numpy()
    stuff = [i for i, c in enumerate(cats) if not c.isthing]
    keep = [i for i in range(len(scores)) if scores[i] >= params.score_threshold]
    boxes, scores, classes = boxes[keep].numpy(), scores[keep].tolist(), classes[keep].tolist()
    ys, xs = np.meshgrid(np.arange(height) + 0.5, np.arange(width) + 0.5, indexing="ij")
    inside = [(xs >= b[0]) & (xs < b[2]) & (ys >= b[1]) & (ys < b[3]) for b in boxes]
    y_stack = np.stack([x[s] for s in stuff] + [np.where(m, x[c], -np.inf) for m, c in zip(inside, classes)])
    winner = y_stack.argmax(0)

    # label: 0 unknown, 1 + s stuff s, 1 + S + j detection j
    num_stuff = len(stuff)
    label = np.zeros(size, dtype=np.int64)
    for py in range(height):
        for px in range(width):
            w = int(winner[py, px])
            if w < num_stuff:
                label[py, px] = 1 + w
                continue
            cls = classes[w - num_stuff]
            cands = [j for j in range(len(classes)) if classes[j] == cls and inside[j][py, px]]

            def key(j, px=px, py=py):
                b = boxes[j]
                if params.overlap_policy == "highest_confidence":
                    return -scores[j]
                if params.overlap_policy == "smallest_first":
                    return (b[2] - b[0]) * (b[3] - b[1])
                qx, qy = px + 0.5 + off[0, py, px], py + 0.5 + off[1, py, px]
                return (qx - (b[0] + b[2]) / 2) ** 2 + (qy - (b[1] + b[3]) / 2) ** 2

            label[py, px] = 1 + num_stuff + min(cands, key=lambda j: (key(j), j))
    if params.unknown_for_undetected_things:
        full = x.argmax(0)
        for py in range(height):
            for px in range(width):
                c = int(full[py, px])
                if cats[c].isthing and not any(
                    classes[j] == c and inside[j][py, px] for j in range(len(classes))
                ):
                    label[py, px] = 0

    area = np.bincount(label.ravel(), minlength=1 + num_stuff + len(classes))
    for s in range(num_stuff):
        if area[1 + s] < params.stuff_area(height, width):
            label[label == 1 + s] = 0
    for j in range(len(classes)):
        if area[1 + num_stuff + j] < params.min_segment_fraction * inside[j].sum():
            label[label == 1 + num_stuff + j] = 0

    category, instance, segments = np.zeros(size, np.int64), np.zeros(size, np.int64), []
    order = [1 + num_stuff + j for j in range(len(classes))] + [1 + s for s in range(num_stuff)]
    for lab in order:
        mask = label == lab
        if not mask.any():
            continue
        thing = lab > num_stuff
        cat_id = cats[classes[lab - 1 - num_stuff] if thing else stuff[lab - 1]].id
        inst = sum(s[2] for s in segments) + 1 if thing else 0
        category[mask], instance[mask] = cat_id, inst
        rows, cols = np.nonzero(mask)
        bbox = (cols.min(), rows.min(), cols.max() - cols.min() + 1, rows.max() - rows.min() + 1)
        score = scores[lab - 1 - num_stuff] if thing else None
        segments.append((cat_id * 1000 + inst, cat_id, thing, score, tuple(map(int, bbox)), int(mask.sum())))
    return category, instance, segments


def random_scene(seed, batch=2, n=10):
    """Random low-resolution logits and offsets, random fractional boxes (some off-image)."""
    g = torch.Generator().manual_seed(seed)
    sem = torch.randn(batch, len(TINY_CATEGORIES), H // 4, W // 4, generator=g) * 2
    sem[:, DISC:] += 1.5  # things win often enough to overlap
    centers = torch.randn(batch, 2, H // 4, W // 4, generator=g) * 4
    x1 = torch.rand(batch, n, generator=g) * 56 - 8
    y1 = torch.rand(batch, n, generator=g) * 36 - 6
    wh = torch.rand(batch, n, 2, generator=g) * 24 + 2
    boxes = torch.stack([x1, y1, x1 + wh[..., 0], y1 + wh[..., 1]], dim=-1)
    scores = (torch.rand(batch, n, generator=g) * 0.8 + 0.2).sort(dim=1, descending=True).values
    classes = torch.randint(DISC, BOX + 1, (batch, n), generator=g)
    num_valid = torch.tensor([n, n - 3])[:batch]
    return sem, Detections(boxes, scores, classes, num_valid), centers


@pytest.mark.parametrize(
    "params",
    [
        PanopticParams(overlap_policy="closest_center", score_threshold=0.2),
        PanopticParams(overlap_policy="highest_confidence", unknown_for_undetected_things=True),
        PanopticParams(overlap_policy="smallest_first", min_segment_fraction=0.3),
        PanopticParams(
            overlap_policy="closest_center", stuff_area_threshold=20000, min_segment_fraction=0.1,
            unknown_for_undetected_things=True, score_threshold=0.0,
        ),
    ],
    ids=["cc", "hc-unknown", "sf-fraction", "cc-all"],
)
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_matches_the_literal_definition(params, seed):
    sem, dets, centers = random_scene(seed)
    results = panoptic_head(
        sem, dets, centers, categories=TINY_CATEGORIES, output_size=(H, W), params=params
    )
    for b, result in enumerate(results):
        category, instance, segments = reference_head(
            sem[b], *dets.valid(b), centers[b], (H, W), params
        )
        assert np.array_equal(result.category.numpy(), category)
        assert np.array_equal(result.instance.numpy(), instance)
        assert np.array_equal(result.panoptic.numpy(), category * 1000 + instance)
        assert [tuple(vars(s).values()) for s in result.segments] == segments
    assert sum(s.isthing for r in results for s in r.segments) >= 4  # the scenes have things


def test_fp16_and_fp32_logits_give_identical_maps():
    sem, dets, centers = random_scene(3)
    sem = sem.half()
    params = PanopticParams(overlap_policy="closest_center", stuff_area_threshold=1000)
    half, full = (
        panoptic_head(s, dets, c, categories=TINY_CATEGORIES, output_size=(H, W), params=params)
        for s, c in ((sem, centers.half()), (sem.float(), centers.half().float()))
    )
    for a, b in zip(half, full):
        assert torch.equal(a.panoptic, b.panoptic) and a.segments == b.segments


@pytest.mark.cuda
def test_cuda_gives_the_cpu_maps():
    sem, dets, centers = random_scene(4)
    params = PanopticParams(overlap_policy="closest_center", unknown_for_undetected_things=True)
    cuda_dets = Detections(*(t.cuda() for t in (dets.boxes, dets.scores, dets.classes, dets.num_valid)))
    cpu, gpu = (
        panoptic_head(s, d, c, categories=TINY_CATEGORIES, output_size=(H, W), params=params)
        for s, d, c in ((sem, dets, centers), (sem.cuda(), cuda_dets, centers.cuda()))
    )
    for a, b in zip(cpu, gpu):
        assert b.panoptic.is_cuda
        assert torch.equal(a.panoptic, b.panoptic.cpu()) and a.segments == b.segments
