# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The synthetic panoptic world: exact ground truth, variety, and the COCO round trip."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from sspanoptic_ros.categories import load_categories
from sspanoptic_ros.data.coco import CocoPanoptic
from sspanoptic_ros.data.synthetic import (
    MIN_VISIBLE_PIXELS,
    SYNTHETIC_CATEGORIES,
    THING_ID_BASE,
    render_scene,
    render_sequence,
)
from sspanoptic_ros.data.synthetic_dataset import main, write_dataset
from sspanoptic_ros.evaluation.pq import pq_compute

CONFIGS = Path(__file__).resolve().parents[1] / "sspanoptic_ros" / "configs"
NAME = {c.id: c.name for c in SYNTHETIC_CATEGORIES}
THINGS = {c.id for c in SYNTHETIC_CATEGORIES if c.isthing}
SIZE = (96, 144)


@pytest.fixture(scope="module")
def scenes():
    return [render_scene(seed, *SIZE) for seed in range(12)]


def _interior_colour(image, mask):
    """Median colour of a mask's pixels away from its (darker) outline."""
    inner = cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    return np.median(image[inner if inner.any() else mask], axis=0)


def test_category_file_matches_the_module():
    assert load_categories(CONFIGS / "demo_synthetic_categories.json") == SYNTHETIC_CATEGORIES
    assert sum(c.isthing for c in SYNTHETIC_CATEGORIES) >= 3
    assert sum(not c.isthing for c in SYNTHETIC_CATEGORIES) >= 3
    ids = [c.id for c in SYNTHETIC_CATEGORIES]
    assert min(ids) > 0 and len(set(ids)) == len(ids)


def test_scenes_are_deterministic_per_seed():
    image, ids, segments = render_scene(5, *SIZE)
    again = render_scene(5, *SIZE)
    np.testing.assert_array_equal(image, again[0])
    np.testing.assert_array_equal(ids, again[1])
    assert segments == again[2]
    assert not np.array_equal(image, render_scene(6, *SIZE)[0])


def test_ground_truth_is_exact_and_complete(scenes):
    for image, ids, segments in scenes:
        assert image.shape == (*SIZE, 3) and image.dtype == np.uint8
        assert ids.shape == SIZE and ids.dtype == np.int32
        assert set(np.unique(ids).tolist()) == {s["id"] for s in segments}  # no void
        for s in segments:
            ys, xs = np.nonzero(ids == s["id"])
            assert s["area"] == len(ys)
            assert s["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1,
                                 ys.max() - ys.min() + 1]
            if s["category_id"] in THINGS:
                assert s["area"] >= MIN_VISIBLE_PIXELS and s["id"] >= THING_ID_BASE
            else:
                assert s["id"] == s["category_id"]  # one segment per stuff class


def test_thing_pixels_show_their_class_colour(scenes):
    for image, ids, segments in scenes:
        for s in segments:
            r, g, b = _interior_colour(image, ids == s["id"])
            name = NAME[s["category_id"]]
            if name == "disc":
                assert r > 1.5 * g and r > 1.5 * b
            elif name == "box":
                assert b > 1.5 * r and b > g
            elif name == "triangle":
                assert r > 2 * b and g > 2 * b


def test_all_classes_appear_with_varied_sizes(scenes):
    categories = {s["category_id"] for _, _, segments in scenes for s in segments}
    assert categories == {c.id for c in SYNTHETIC_CATEGORIES}
    areas = [s["area"] for _, _, segments in scenes for s in segments
             if s["category_id"] in THINGS]
    assert min(areas) < 150 and max(areas) > 1500  # the image has 13824 pixels


def _touching_same_class_pairs(ids, segments):
    """Count pairs of same-class thing segments that share a 4-neighbour boundary."""
    category = {s["id"]: s["category_id"] for s in segments}
    pairs = set()
    for a, b in ((ids[:, :-1], ids[:, 1:]), (ids[:-1], ids[1:])):
        for u, v in zip(a[a != b].tolist(), b[a != b].tolist()):
            if category[u] == category[v] and category[u] in THINGS:
                pairs.add((min(u, v), max(u, v)))
    return len(pairs)


def test_same_class_things_often_overlap(scenes):
    with_overlap = [_touching_same_class_pairs(ids, segments) > 0 for _, ids, segments in scenes]
    assert sum(with_overlap) >= 4


def test_written_dataset_loads_and_evaluates_to_pq_100(tmp_path):
    paths = write_dataset(tmp_path / "world", num_images=3, seed=1, height=64, width=96)
    dataset = CocoPanoptic(*paths)
    assert len(dataset) == 3 and dataset.categories == SYNTHETIC_CATEGORIES
    image, target = dataset[2]
    np.testing.assert_array_equal(image, render_scene((1, 2), 64, 96)[0])
    assert (target.semantic != 255).all()
    _, segments = dataset.panoptic(2)
    things = [s["bbox"] for s in segments if s["category_id"] in THINGS]
    np.testing.assert_array_equal(target.boxes.reshape(-1, 4),
                                  [[x, y, x + w, y + h] for x, y, w, h in things])
    results = pq_compute(paths.annotation_json, paths.panoptic_dir,
                         paths.annotation_json, paths.panoptic_dir)
    assert results["All"]["pq"] == 1.0 and results["All"]["n"] >= 4


def test_command_line_writes_the_requested_images(tmp_path, capsys):
    main(["--out", str(tmp_path), "--num", "2", "--seed", "4", "--size", "48x64"])
    assert sorted(p.name for p in (tmp_path / "panoptic").iterdir()) == ["000000.png",
                                                                         "000001.png"]
    assert "wrote 2 images" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path), "--size", "48by64"])


def test_sequence_pans_over_one_world_with_stable_ids():
    frames = list(render_sequence(16, size=(64, 96), seed=2))
    assert len(frames) == 16
    category_of = {}
    for image, ids, segments in frames:
        assert image.shape == (64, 96, 3) and ids.shape == (64, 96)
        assert set(np.unique(ids).tolist()) == {s["id"] for s in segments}
        for s in segments:
            assert category_of.setdefault(s["id"], s["category_id"]) == s["category_id"]
    first, second, last = (f[0].astype(np.int64) for f in (frames[0], frames[1], frames[-1]))
    assert 0 < np.abs(first - second).mean() < np.abs(first - last).mean()


def test_bad_sizes_are_rejected():
    with pytest.raises(ValueError, match="at least 32x32"):
        render_scene(0, 16, 96)
    with pytest.raises(ValueError, match="num_frames"):
        next(render_sequence(0))


def test_sequences_are_written_per_folder_with_moving_occluding_and_returning_things(tmp_path, capsys):
    main(["--out", str(tmp_path), "--sequence", "60", "--num", "2", "--seed", "0", "--size", "96x144"])
    assert "wrote 2 sequences of 60 frames" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0000", "0001"]
    for k, folder in enumerate(sorted(tmp_path.iterdir())):
        dataset = CocoPanoptic(folder / "images", folder / "panoptic.json", folder / "panoptic")
        assert len(dataset) == 60 and dataset.image_files[0] == "000000.png"
        frames = list(render_sequence(60, (96, 144), seed=(0, k)))
        seen, pairs = {}, 0
        for i, (_, ids, segments) in enumerate(frames):
            np.testing.assert_array_equal(dataset.panoptic(i)[0], ids)
            assert dataset.panoptic(i)[1] == segments
            for s in segments:
                if s["category_id"] in THINGS:
                    seen.setdefault(s["id"], []).append(i)
            pairs += _touching_same_class_pairs(ids, segments)
        np.testing.assert_array_equal(dataset[59][0], frames[59][0])
        returning = [f for f in seen.values() if any(b - a > 1 for a, b in zip(f, f[1:]))]
        assert returning and pairs > 0  # things come back after a gap; same-class things overlap
        both = [j for j, f in seen.items() if f[:2] == [0, 1]]
        moves = [np.abs(np.argwhere(frames[1][1] == j).mean(0) - np.argwhere(frames[0][1] == j).mean(0))
                 for j in both]
        assert both and all(0 < m.sum() < 10 for m in moves)  # things move, a few pixels a frame
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path), "--sequence", "0"])
