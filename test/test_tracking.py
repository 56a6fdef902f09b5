# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The tracker: stable ids through motion, occlusion, splits and class changes; id policy."""

import numpy as np
import pytest
import torch

from sspanoptic_ros.bench.track import ground_truth_result
from sspanoptic_ros.data.synthetic import SYNTHETIC_CATEGORIES, render_sequence
from sspanoptic_ros.evaluation.evaluate import segments_info
from sspanoptic_ros.evaluation.stq import STQStat, summarize
from sspanoptic_ros.head.result import PanopticResult, Segment
from sspanoptic_ros.tracking import (
    MAX_TRACK_ID,
    Tracker,
    TrackerParams,
    apply_tracks,
    assign,
    auto_stride,
    relabel,
)

DISC, BOX = 1, 2
SIZE = (40, 60)
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(params=DEVICES)
def device(request):
    return torch.device(request.param)


def frame(things, device, size=SIZE):
    """Instance map and segments of things given as (category, (x0, y0, x1, y1)), later on top."""
    instance = torch.zeros(size, dtype=torch.int32)
    for n, (_, (x0, y0, x1, y1)) in enumerate(things, 1):
        instance[y0:y1, x0:x1] = n
    segments = [Segment(c * 1000 + n, c, True, 0.9, (0, 0, 0, 0), 0)
                for n, (c, _) in enumerate(things, 1)]
    segments.append(Segment(11000, 11, False, None, (0, 0, 0, 0), 0))  # stuff comes last
    return instance.to(device), segments


def square(x, y, side=10):
    return (x, y, x + side, y + side)


def run(tracker, frames, device):
    return [tracker.update(*frame(things, device)) for things in frames]


def test_moving_things_keep_their_ids_whatever_the_segment_order(device):
    tracker = Tracker(stride=1)
    ids = []
    for t in range(10):
        things = [(DISC, square(2 + 2 * t, 5)), (DISC, square(30 - t, 20)), (BOX, square(40, 2 + t))]
        order = [2, 0, 1] if t % 2 else [0, 1, 2]  # detection order changes from frame to frame
        got = tracker.update(*frame([things[k] for k in order], device))
        ids.append([got[order.index(k)] for k in range(3)])
    assert ids == [[1, 2, 3]] * 10
    assert sorted(tracker.track_ids) == [1, 2, 3]


def test_a_hidden_thing_gets_its_id_back_within_max_age(device):
    visible = [[(DISC, square(5, 5)), (BOX, square(30, 5))]] * 3
    hidden = [[(BOX, square(30, 5))]] * 3  # the disc is occluded for 3 frames
    for max_age, expected in ((3, 1), (2, 3)):
        tracker = Tracker(TrackerParams(max_age=max_age), stride=1)
        ids = run(tracker, visible + hidden + visible[:1], device)
        assert ids[:3] == [[1, 2]] * 3 and ids[3:6] == [[2]] * 3
        assert ids[6] == [expected, 2]  # unseen 3 frames: kept with max_age 3, ended with 2


def test_a_thing_is_continued_while_iou_reaches_min_iou(device):
    # A 10x10 square shifted by k pixels overlaps itself with IoU (10 - k) / (10 + k):
    # k = 5: 5 / 15 = 0.333 >= 0.3 (continued); k = 6: 4 / 16 = 0.25 < 0.3 (new track).
    for shift, expected in ((5, 1), (6, 2)):
        tracker = Tracker(TrackerParams(min_iou=0.3), stride=1)
        ids = run(tracker, [[(DISC, square(10, 10))], [(DISC, square(10 + shift, 10))]], device)
        assert ids == [[1], [expected]]


def test_changed_params_apply_from_the_next_frame(device):
    tracker = Tracker(TrackerParams(motion=False), stride=1)
    assert run(tracker, [[(DISC, square(10, 10))], [(DISC, square(12, 10))]], device) == [[1], [1]]
    tracker.params = TrackerParams(min_iou=0.9, motion=False)  # a 2-pixel shift: IoU 8 / 12
    assert run(tracker, [[(DISC, square(14, 10))]], device) == [[2]]


def test_motion_follows_a_fast_thing_that_overlap_alone_loses(device):
    # A 10-pixel square moving right by 5, then 8 pixels per frame. Overlap with the last mask:
    # 5 / 15 = 0.33 for the 5-pixel step, 2 / 18 = 0.11 < 0.3 for the 8-pixel steps. With motion
    # the last mask moves by the last velocity first: 8 - 5 = 3 pixels off (7 / 13 = 0.54),
    # then exactly on it (IoU 1).
    moves = [[(DISC, square(x, 10))] for x in (0, 5, 13, 21)]
    with_motion = run(Tracker(TrackerParams(min_iou=0.3), stride=1), moves, device)
    without = run(Tracker(TrackerParams(min_iou=0.3, motion=False), stride=1), moves, device)
    assert with_motion == [[1], [1], [1], [1]] and without == [[1], [1], [2], [3]]


def test_motion_carries_a_hidden_moving_thing_to_where_it_reappears(device):
    # Moving 6 pixels per frame, hidden in frames 2 and 3: it reappears 18 pixels from where it
    # was last seen (no overlap), exactly where its velocity predicts it.
    frames = [[(DISC, square(2 + 6 * t, 10))] if t not in (2, 3) else [] for t in range(5)]
    assert run(Tracker(stride=1), frames, device) == [[1], [1], [], [], [1]]
    assert run(Tracker(TrackerParams(motion=False), stride=1), frames, device) == [[1], [1], [], [], [2]]


def test_a_split_keeps_the_id_on_the_larger_part_and_a_merge_on_the_better_overlap(device):
    # Without motion: the centre of a part is not where the whole was, so a split also gives
    # the part a velocity (measured from the visible pixels), which would move it here.
    tracker = Tracker(TrackerParams(motion=False), stride=1)
    whole = (DISC, (10, 10, 30, 20))  # 20 x 10
    left, right = (DISC, (10, 10, 22, 20)), (DISC, (22, 10, 30, 20))  # IoU 120/200, 80/200
    ids = run(tracker, [[whole], [right, left], [whole]], device)
    assert ids[:2] == [[1], [2, 1]]
    # Merged again: track 1 (left, IoU 0.6) wins over track 2 (right, IoU 0.4).
    assert ids[2] == [1]


def test_same_class_only_and_a_class_change_starts_a_new_track(device):
    tracker = Tracker(TrackerParams(max_age=2), stride=1)
    place = square(10, 10)
    ids = run(tracker, [[(DISC, place)], [(BOX, place)], [(DISC, place)]], device)
    # Frame 2: a box where the disc was is a new track; frame 3: the disc track (unseen for
    # one frame) continues, the box track is unseen.
    assert ids == [[1], [2], [1]]
    assert sorted(tracker.track_ids) == [1, 2]


def test_empty_frames_age_tracks_and_return_no_ids(device):
    tracker = Tracker(TrackerParams(max_age=2), stride=1)
    ids = run(tracker, [[(DISC, square(5, 5))], [], []], device)
    assert ids == [[1], [], []] and tracker.track_ids == [1]
    assert run(tracker, [[], [(DISC, square(5, 5))]], device) == [[], [2]]  # 3 frames unseen
    assert tracker.track_ids == [2]


def test_ids_wrap_around_skipping_live_tracks(device):
    tracker = Tracker(TrackerParams(max_age=1), stride=1, max_id=4)
    a, b, c, d, e, f = (square(1 + 9 * k, 2, side=8) for k in range(6))
    ids = run(tracker, [[(DISC, a), (BOX, b)],  # A 1, B 2
                        [(BOX, b), (DISC, c)],  # C 3; A unseen once
                        [(BOX, b), (DISC, d)],  # D 4; A ends (unseen twice)
                        [(BOX, b), (DISC, e)],  # ids wrap: 1 is free again
                        [(BOX, b), (DISC, f)]],  # 2 is B's (live): skipped; C ended: 3
              device)
    assert ids == [[1, 2], [2, 3], [2, 4], [2, 1], [2, 3]]
    full = Tracker(TrackerParams(max_age=5), stride=1, max_id=2)
    with pytest.raises(RuntimeError, match="all 2 track ids are held by live tracks"):
        run(full, [[(DISC, a), (DISC, c), (DISC, e)]], device)
    assert MAX_TRACK_ID == 999  # panoptic ids stay category * 1000 + track id


def test_the_default_stride_follows_the_resolution():
    sizes = ((96, 144), (256, 384), (480, 640), (1080, 1920))
    assert [auto_stride(*size) for size in sizes] == [1, 2, 4, 9]


def test_reset_ends_tracks_but_never_reuses_ids(device):
    tracker = Tracker(stride=1)
    run(tracker, [[(DISC, square(5, 5)), (DISC, square(30, 5))]], device)
    tracker.reset()
    assert tracker.track_ids == []
    assert run(tracker, [[(DISC, square(5, 5))]], device) == [[3]]
    assert Tracker(stride=1).update(*frame([(DISC, square(5, 5))], device)) == [1]


def test_a_new_frame_size_ends_every_track(device):
    tracker = Tracker(stride=1)
    tracker.update(*frame([(DISC, square(5, 5))], device))
    assert tracker.update(*frame([(DISC, square(5, 5))], device, size=(50, 60))) == [2]


def test_reduced_resolution_matches_when_the_sampled_pixels_overlap(device):
    # Stride 4 samples pixel (2 + 4i, 2 + 4j); an 8 x 8 square moved by 2 pixels keeps IoU 1
    # on the samples (stride 2: 12 / 20), the same decision as at full resolution (48 / 80).
    for stride in (1, 2, 4):
        tracker = Tracker(stride=stride)
        ids = run(tracker, [[(DISC, square(8, 8, 8))], [(DISC, square(10, 8, 8))]], device)
        assert ids == [[1], [1]], stride


def test_assign_is_optimal_not_greedy():
    iou = np.array([[0.6, 0.5], [0.5, 0.35]])
    allowed = np.ones_like(iou, dtype=bool)
    # Greedy takes 0.6 first (total 0.95); the optimum pairs crosswise (total 1.0).
    assert sorted(assign(iou, allowed)) == [(0, 1), (1, 0)]
    allowed[0, 1] = False  # then 0.6 + 0.35 is the best left
    assert sorted(assign(iou, allowed)) == [(0, 0), (1, 1)]
    assert assign(iou, np.zeros_like(allowed)) == []


def test_relabel_and_apply_tracks(device):
    instance, segments = frame([(DISC, square(5, 5)), (BOX, square(30, 5))], device)
    np.testing.assert_array_equal(relabel(instance, [7, 65535]).cpu().numpy(),
                                  np.choose(instance.cpu().numpy(), [0, 7, 65535]))
    category = torch.where(instance == 1, DISC, torch.where(instance == 2, BOX, 11)).int()
    result = PanopticResult(category, instance, category * 1000 + instance, segments)
    tracked = apply_tracks(result, [7, 999])
    assert [s.id for s in tracked.segments] == [DISC * 1000 + 7, BOX * 1000 + 999, 11 * 1000]
    panoptic = tracked.panoptic.cpu().numpy()
    assert set(np.unique(panoptic).tolist()) == {s.id for s in tracked.segments}
    assert tracked.instance.dtype == torch.int32 and int(tracked.instance.max()) == 999
    with pytest.raises(ValueError, match="1 track ids for 2 thing segments"):
        apply_tracks(result, [7])
    wide = apply_tracks(result, [7, 65535], divisor=65536)  # the KITTI-STEP-like 16-bit layout
    assert [s.id for s in wide.segments][:2] == [DISC * 65536 + 7, BOX * 65536 + 65535]
    with pytest.raises(ValueError, match="track ids must be < divisor 1000"):
        apply_tracks(result, [7, 1000], divisor=1000)


def test_bad_inputs_are_refused(device):
    for bad in ({"max_age": -1}, {"max_age": 1.5}, {"max_age": True}, {"min_iou": 0.0},
                {"min_iou": 1.5}, {"motion": 1}):
        with pytest.raises(ValueError):
            TrackerParams(**bad)
    with pytest.raises(ValueError, match="stride"):
        Tracker(stride=0)
    tracker = Tracker(stride=1)
    instance, segments = frame([(DISC, square(5, 5))], device)
    with pytest.raises(ValueError, match="integer map"):
        tracker.update(instance.float(), segments)
    with pytest.raises(ValueError, match="integer map"):
        tracker.update(instance[None], segments)
    with pytest.raises(ValueError, match="label 1 but only 0 thing segments"):
        tracker.update(instance, segments[1:])


def test_tracking_a_scrambled_ground_truth_sequence_restores_its_identities(device):
    # Ground-truth segments numbered 1..N in a random order in every frame, as per-frame ids
    # are; the tracker's ids against those.
    rng = np.random.default_rng(0)
    stats = {"per frame": STQStat(SYNTHETIC_CATEGORIES), "tracked": STQStat(SYNTHETIC_CATEGORIES)}
    tracker = Tracker()
    for _, ids, segments in render_sequence(40, (96, 144), seed=(0, 1)):
        result = ground_truth_result(ids, segments, rng)
        tracked = apply_tracks(result, tracker.update(result.instance.to(device), result.segments))
        for name, r in (("per frame", result), ("tracked", tracked)):
            stats[name].accumulate(ids, segments, r.panoptic.cpu().numpy(), segments_info(r))
    per_frame = summarize({"0": stats["per frame"]})["overall"]
    tracked = summarize({"0": stats["tracked"]})["overall"]
    assert tracked["sq"] == per_frame["sq"] == 1.0 and tracked["tracks"] == 15
    assert tracked["id_switches"] == 0 and per_frame["id_switches"] > 100
    assert tracked["aq"] > 0.99 and per_frame["aq"] < 0.2


def test_a_restarted_tracker_has_no_tracks_and_continues_the_ids(device):
    tracker = Tracker(TrackerParams(max_age=3), stride=1)
    instance, segments = frame([(DISC, square(5, 5)), (BOX, square(30, 5))], device)
    assert tracker.update(instance, segments) == [1, 2]
    restarted = tracker.restarted()
    assert (restarted.params, restarted.stride, restarted.track_ids) == (tracker.params, 1, [])
    assert restarted.update(instance, segments) == [3, 4]  # the same things, new tracks
    assert tracker.update(instance, segments) == [1, 2]  # the old one is untouched
