# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""STQ / AQ / SQ (STEP, Weber et al. 2021) on hand-computed cases, files and the command line."""

import json
import math
import shutil

import numpy as np
import pytest

from sspanoptic_ros.categories import Category
from sspanoptic_ros.data.coco import read_panoptic_png, write_panoptic_png
from sspanoptic_ros.data.synthetic import THING_ID_BASE
from sspanoptic_ros.data.synthetic_dataset import write_sequences
from sspanoptic_ros.evaluation.stq import STQStat, stq_compute, summarize
from sspanoptic_ros.evaluation.stq_cli import main

CAR, PERSON, SKY = 1, 2, 11
CATEGORIES = [Category(CAR, "car", True, (0, 0, 142)), Category(PERSON, "person", True, (220, 20, 60)),
              Category(SKY, "sky", False, (70, 130, 180))]
CROWD = 900


def labels(ids, category):
    """Return a one-row id map and its segments_info; ``category`` maps ids to categories."""
    ids = np.array([ids], dtype=np.int32)
    segments = [{"id": int(i), "category_id": category(int(i)), "iscrowd": int(i == CROWD)}
                for i in np.unique(ids) if i]
    return ids, segments


def by_id(i):
    """Ids 1000..1999 are cars, 2000.. persons, CROWD a crowd of cars, others sky."""
    return CAR if 1000 <= i < 2000 or i == CROWD else PERSON if i >= 2000 else SKY


def sequence(gt_frames, pred_frames):
    stat = STQStat(CATEGORIES)
    for gt, pred in zip(gt_frames, pred_frames):
        stat.accumulate(*labels(gt, by_id), *labels(pred, by_id))
    return stat


def overall(gt_frames, pred_frames):
    return summarize({"s": sequence(gt_frames, pred_frames)})["overall"]


def check(result, aq, sq):
    assert result["aq"] == pytest.approx(aq, abs=1e-12)
    assert result["sq"] == pytest.approx(sq, abs=1e-12)
    assert result["stq"] == pytest.approx(math.sqrt(aq * sq), abs=1e-12)


G = 1001  # the ground-truth car track of the single-track cases


@pytest.mark.parametrize("pred, aq", [
    # One frame, a ground-truth track g of 5 pixels. AQ(g) = 1/|g| sum_p TPA * TPA / |p u g|.
    ([1001] * 5, 1.0),  # one predicted track on all of g: 1/5 * 5 * 5/5
    ([1001, 1001, 1002, 1002, 1002], 0.52),  # 1/5 * (2 * 2/5 + 3 * 3/5) = 13/25
    ([1001, 1002, 1001, 1002, 1002], 0.52),  # the same tubes, wherever their pixels lie
    ([1001, 1002, 1003, 1004, 1005], 0.2),  # 1/5 * 5 * (1 * 1/5)
])
def test_association_of_one_track(pred, aq):
    check(overall([[G] * 5], [pred]), aq, 1.0)


def test_association_is_over_the_whole_sequence():
    # g has 4 pixels in each of 2 frames (|g| = 8); predicted id A in frame 1, B in frame 2:
    # AQ = 1/8 * (4 * 4/8 + 4 * 4/8) = 0.5. Keeping A in both frames gives 1.
    check(overall([[G] * 4, [G] * 4], [[1005] * 4, [1006] * 4]), 0.5, 1.0)
    check(overall([[G] * 4, [G] * 4], [[1005] * 4, [1005] * 4]), 1.0, 1.0)


def test_identity_and_swapped_ids():
    gt = [[1001, 1001, 1001, 1002, 1002, 1002]] * 4
    renamed = [[1007, 1007, 1007, 1003, 1003, 1003]] * 4  # other ids, one per track: perfect
    check(overall(gt, renamed), 1.0, 1.0)
    # Ids swapped from frame 3 on: each gt track (12 pixels) is half A, half B, and A and B
    # have 12 pixels each: AQ(g) = 1/12 * (6 * 6/18 + 6 * 6/18) = 1/3.
    swapped = renamed[:2] + [[1003, 1003, 1003, 1007, 1007, 1007]] * 2
    check(overall(gt, swapped), 1 / 3, 1.0)
    assert overall(gt, swapped)["id_switches"] == 2 and overall(gt, renamed)["id_switches"] == 0


def test_class_errors_lower_sq_and_tracks_of_another_class_count_for_association():
    # g = 5 car pixels; predicted: sky on the first, car A on the others.
    # AQ = 1/5 * 4 * 4/5 = 0.64. SQ: car 4 / (4 + 0 + 1) = 0.8, sky 0 / (0 + 1 + 0) = 0: 0.4.
    check(overall([[G] * 5], [[5, 1001, 1001, 1001, 1001]]), 0.64, 0.4)
    # A person track over the car: association ignores classes (AQ 1), SQ does not (car 0,
    # person 0: both have a union).
    check(overall([[G] * 5], [[2001] * 5]), 1.0, 0.0)


def test_crowd_regions_are_left_out_of_association_only():
    # Ground truth: a crowd of cars, then g (5 pixels). Predicted: car B, B, sky, A, A, A.
    # The crowd pixel leaves B with 1 pixel: AQ = 1/5 * (1 * 1/5 + 3 * 3/5) = 0.4.
    # SQ: car TP 5 (the crowd pixel counts), FN 1: 5/6; sky FP 1: 0; SQ = 5/12.
    result = overall([[CROWD, G, G, G, G, G]], [[1002, 1002, 5, 1001, 1001, 1001]])
    check(result, 0.4, 5 / 12)
    assert result["tracks"] == 1


def test_void_ground_truth_is_ignored_but_predictions_on_it_are_false_positive_association():
    # Ground truth void, then g (4 pixels); predicted car A on all 5. SQ ignores the void pixel
    # (car 4/4); A has 5 pixels: AQ = 1/4 * 4 * 4/5 = 0.8.
    check(overall([[0, G, G, G, G]], [[1001] * 5]), 0.8, 1.0)


def test_predicted_void_is_a_false_negative_not_a_class():
    # g (4 pixels), sky; predicted void, A, A, A, sky. AQ = 1/4 * 3 * 3/4 = 9/16.
    # SQ: car 3 / (3 + 0 + 1) = 0.75, sky 1: 0.875 (deeplab2 would add void as a class of
    # IoU 0: 1.75 / 3).
    check(overall([[G, G, G, G, 5]], [[0, 1001, 1001, 1001, 5]]), 9 / 16, 0.875)


def test_sequences_pool_tracks_and_pixels():
    # Sequence a: car g (4 px) and sky (4 px), predicted perfectly: AQ 1, SQ 1.
    # Sequence b: g1 (4 px) half car A, half sky; g2 (4 px) perfect; sky (4 px) perfect.
    #   AQ(g1) = 1/4 * 2 * 2/4 = 0.25, AQ(g2) = 1: AQ 0.625.
    #   SQ: car TP 6, FN 2: 0.75; sky TP 4, FP 2: 4/6; SQ = 17/24.
    # Overall: AQ = (1 + 0.25 + 1) / 3 = 0.75 (not the mean 0.8125 of the sequences);
    #   car TP 10, FN 2: 10/12, sky TP 8, FP 2: 0.8: SQ = 0.81667 (not 0.854).
    a = sequence([[G] * 4 + [5] * 4], [[1009] * 4 + [5] * 4])
    b = sequence([[1001] * 4 + [1002] * 4 + [5] * 4], [[1004, 1004, 5, 5] + [1003] * 4 + [5] * 4])
    results = summarize({"a": a, "b": b})
    check(results["sequences"]["a"], 1.0, 1.0)
    check(results["sequences"]["b"], 0.625, (0.75 + 4 / 6) / 2)
    check(results["overall"], 0.75, (10 / 12 + 0.8) / 2)
    assert results["overall"]["tracks"] == 3 and results["overall"]["frames"] == 2
    assert results["overall"]["iou_per_class"] == {CAR: pytest.approx(10 / 12), SKY: 0.8}


def test_id_switches_count_changes_of_the_matched_id():
    # g matched to A, A, -, B, A: a frame without a match is no switch; A -> B and B -> A are.
    gt = [[G] * 4] * 5
    pred = [[1005] * 4, [1005] * 4, [5] * 4, [1006] * 4, [1005] * 4]
    assert overall(gt, pred)["id_switches"] == 2
    # A prediction covering half of g (IoU 0.5) is no match, so no switch either.
    assert overall(gt[:2], [[1005] * 4, [1006, 1006, 5, 5]])["id_switches"] == 0


def test_no_ground_truth_track_gives_aq_zero():
    result = overall([[5] * 3], [[1001] * 3])
    assert result["tracks"] == 0 and result["aq"] == 0.0 and result["sq"] == 0.0


def _rewrite(folder, rename):
    """Rewrite a sequence's PNGs and JSON with ``rename(frame, id) -> id``."""
    data = json.loads((folder / "panoptic.json").read_text())
    for frame, ann in enumerate(data["annotations"]):
        png = folder / "panoptic" / ann["file_name"]
        ids = read_panoptic_png(png)
        lut = {s["id"]: rename(frame, s["id"]) for s in ann["segments_info"]}
        present = np.unique(ids)
        new = np.array([lut.get(int(i), 0) for i in present])
        write_panoptic_png(png, new[np.searchsorted(present, ids)])
        for s in ann["segments_info"]:
            s["id"] = lut[s["id"]]
    (folder / "panoptic.json").unlink()
    (folder / "predictions.json").write_text(json.dumps(data))
    return data


@pytest.fixture(scope="module")
def gt_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("sequences")
    write_sequences(root, num_sequences=2, num_frames=6, seed=3, height=48, width=64)
    return root


def test_files_perfect_renamed_and_per_frame_predictions(gt_dir, tmp_path):
    perfect = stq_compute(gt_dir, gt_dir)
    assert set(perfect["sequences"]) == {"0000", "0001"}
    assert perfect["overall"]["stq"] == 1.0 and perfect["overall"]["id_switches"] == 0
    assert perfect["overall"]["frames"] == 12 and perfect["overall"]["tracks"] > 2

    renamed = tmp_path / "renamed"
    shutil.copytree(gt_dir, renamed)
    for folder in renamed.iterdir():  # consistent new ids: still perfect
        _rewrite(folder, lambda frame, i: i + 5000 if i >= THING_ID_BASE else i)
    assert stq_compute(gt_dir, renamed)["overall"]["stq"] == 1.0

    per_frame = tmp_path / "per_frame"
    shutil.copytree(gt_dir, per_frame)
    for folder in per_frame.iterdir():  # things renumbered in every frame: association suffers
        _rewrite(folder, lambda frame, i: 1000 + (i * 7 + frame * 3) % 97 if i >= THING_ID_BASE else i)
    results = stq_compute(gt_dir, per_frame)
    assert results["overall"]["sq"] == 1.0 and results["overall"]["aq"] < 0.6
    assert results["overall"]["id_switches"] > 0


def test_command_line_prints_json_and_a_table(gt_dir, tmp_path, capsys):
    assert main(["--gt", str(gt_dir), "--pred", str(gt_dir), "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    saved = json.loads((tmp_path / "r.json").read_text())
    assert out.startswith(json.dumps(saved, indent=2))
    assert "| sequence | frames | tracks | STQ | AQ | SQ | ID switches |" in out
    assert "| overall | 12 |" in out and "| 100.0 | 100.0 | 100.0 | 0 |" in out
    # A single sequence folder on each side is matched whatever its name.
    assert main(["--gt", str(gt_dir / "0001"), "--pred", str(gt_dir / "0001")]) == 0


def test_command_line_errors(gt_dir, tmp_path):
    partial = tmp_path / "partial"
    shutil.copytree(gt_dir / "0000", partial / "0000")
    with pytest.raises(SystemExit, match=r"has no prediction for the sequences \['0001'\]"):
        main(["--gt", str(gt_dir), "--pred", str(partial)])
    (partial / "0000" / "panoptic.json").unlink()
    with pytest.raises(SystemExit, match="has no panoptic.json or predictions.json"):
        main(["--gt", str(gt_dir / "0000"), "--pred", str(partial / "0000")])
    with pytest.raises(SystemExit, match="holds no sequence"):
        main(["--gt", str(gt_dir), "--pred", str(tmp_path)])
    with pytest.raises(SystemExit, match="folder not found"):
        main(["--gt", str(gt_dir), "--pred", str(tmp_path / "absent")])
