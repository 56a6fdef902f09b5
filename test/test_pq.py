# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""PQ evaluation: hand-computed cases and agreement with panopticapi's reference code."""

import copy
import json

import numpy as np
import pytest
from conftest import REPO
from panopticapi.evaluation import pq_compute_single_core

from sspanoptic_ros.categories import Category
from sspanoptic_ros.data.coco import read_panoptic_png, write_panoptic_png
from sspanoptic_ros.evaluation.pq import PQStat, pq_compute
from sspanoptic_ros.evaluation.pq_cli import main

THING, STUFF = Category(1, "thing", True, (255, 0, 0)), Category(2, "stuff", False, (0, 255, 0))
IMAGE_A, IMAGE_B = 142238, 439180  # the two images of the COCO sample
SKY = 2330219  # a stuff segment (category 184) of image A


def _gt_paths(sample):
    return sample / "panoptic_examples.json", sample / "panoptic"


def _write_prediction(tmp_path, sample, edit=None):
    """Write the ground truth, changed by ``edit(image_id, ids, segments)``, as a prediction."""
    gt_json, gt_folder = _gt_paths(sample)
    data = json.loads(gt_json.read_text())
    folder = tmp_path / "pred"
    folder.mkdir()
    for ann in data["annotations"]:
        ids = read_panoptic_png(gt_folder / ann["file_name"])
        segments = copy.deepcopy(ann["segments_info"])
        if edit is not None:
            ids, segments = edit(ann["image_id"], ids, segments)
        present = set(np.unique(ids).tolist())
        ann["segments_info"] = [s for s in segments if s["id"] in present]
        write_panoptic_png(folder / ann["file_name"], ids)
    pred_json = tmp_path / "pred.json"
    pred_json.write_text(json.dumps(data))
    return pred_json, folder


def _reference(gt_json, gt_folder, pred_json, pred_folder):
    """Run panopticapi's single-core pq_compute body and assemble its results dict."""
    gt, pred = json.loads(gt_json.read_text()), json.loads(pred_json.read_text())
    categories = {c["id"]: c for c in gt["categories"]}
    predictions = {a["image_id"]: a for a in pred["annotations"]}
    pairs = [(a, predictions[a["image_id"]]) for a in gt["annotations"]]
    stat = pq_compute_single_core(0, pairs, str(gt_folder), str(pred_folder), categories)
    results = {}
    results["All"], results["per_class"] = stat.pq_average(categories, isthing=None)
    results["Things"], _ = stat.pq_average(categories, isthing=True)
    results["Stuff"], _ = stat.pq_average(categories, isthing=False)
    return results


# Edits of the ground truth, each returning (ids, segments).
def _drop_person(image_id, ids, segments):
    if image_id == IMAGE_A:
        ids[ids == 3937500] = 0
    return ids, segments


def _merge_trucks(image_id, ids, segments):
    if image_id == IMAGE_B:
        ids[ids == 6094848] = 4587520
    return ids, segments


def _shift_person(image_id, ids, segments):
    if image_id == IMAGE_A:
        mask = ids == 4260062
        ids[mask] = 0
        ids[np.roll(mask, 12, axis=1)] = 4260062
    return ids, segments


def _relabel_person_as_truck(image_id, ids, segments):
    for s in segments:
        if image_id == IMAGE_B and s["id"] == 3937500:
            s["category_id"] = 8
    return ids, segments


def _add_false_car(image_id, ids, segments):
    if image_id == IMAGE_A:
        ids[10:30, 10:30] = 77
        segments.append({"id": 77, "category_id": 3, "iscrowd": 0})
    return ids, segments


def _car_on_void(extra_pixels):
    """Return an edit adding a car made of all void pixels of image A plus some sky."""

    def edit(image_id, ids, segments):
        if image_id == IMAGE_A:
            sky_rows, sky_cols = np.nonzero(ids == SKY)
            ids[ids == 0] = 77
            ids[sky_rows[:extra_pixels], sky_cols[:extra_pixels]] = 77
            segments.append({"id": 77, "category_id": 3, "iscrowd": 0})
        return ids, segments

    return edit


def _crowd_as_sports_ball(image_id, ids, segments):
    for s in segments:
        if image_id == IMAGE_A and s["iscrowd"]:
            s["category_id"] = 37
    return ids, segments


EDITS = [_drop_person, _merge_trucks, _shift_person, _relabel_person_as_truck, _add_false_car,
         _car_on_void(100), _car_on_void(3000), _crowd_as_sports_ball]


def test_ground_truth_against_itself_gives_pq_100_through_the_cli(coco_sample, capsys):
    gt_json, gt_folder = _gt_paths(coco_sample)
    assert main(["--gt-json", str(gt_json), "--gt-folder", str(gt_folder),
                 "--pred-json", str(gt_json), "--pred-folder", str(gt_folder)]) == 0
    results = json.loads(capsys.readouterr().out)
    # Categories present: things 1, 8, 19, 37 and stuff 125, 184, 187, 193.
    for name, n in (("All", 8), ("Things", 4), ("Stuff", 4)):
        assert results[name] == {"pq": 1.0, "sq": 1.0, "rq": 1.0, "n": n}
    assert len(results["per_class"]) == 133
    assert results["per_class"]["1"] == {"pq": 1.0, "sq": 1.0, "rq": 1.0}
    assert results["per_class"]["2"] == {"pq": 0.0, "sq": 0.0, "rq": 0.0}


@pytest.mark.parametrize("edit", EDITS, ids=lambda e: e.__qualname__.split(".")[0])
def test_edited_predictions_match_the_reference(coco_sample, tmp_path, edit):
    pred_json, pred_folder = _write_prediction(tmp_path, coco_sample, edit)
    gt_json, gt_folder = _gt_paths(coco_sample)
    ours = pq_compute(gt_json, gt_folder, pred_json, pred_folder)
    reference = _reference(gt_json, gt_folder, pred_json, pred_folder)
    assert ours == reference  # same summation order, so equal to the last bit


def _edited_results(tmp_path, sample, edit):
    return pq_compute(*_gt_paths(sample), *_write_prediction(tmp_path, sample, edit))


def test_dropped_person_is_one_false_negative(coco_sample, tmp_path):
    person = _edited_results(tmp_path, coco_sample, _drop_person)["per_class"][1]
    assert person == pytest.approx({"pq": 25 / 25.5, "sq": 1.0, "rq": 25 / 25.5})  # 26 persons


def test_merged_trucks_match_the_larger_one(coco_sample, tmp_path):
    truck = _edited_results(tmp_path, coco_sample, _merge_trucks)["per_class"][8]
    iou = 5791 / (5791 + 1680)  # the merged segment against the larger truck
    assert truck == pytest.approx({"pq": iou / 1.5, "sq": iou, "rq": 1 / 1.5})


def test_relabelled_person_is_a_miss_and_a_false_truck(coco_sample, tmp_path):
    per_class = _edited_results(tmp_path, coco_sample, _relabel_person_as_truck)["per_class"]
    assert per_class[1] == pytest.approx({"pq": 25 / 25.5, "sq": 1.0, "rq": 25 / 25.5})
    assert per_class[8] == pytest.approx({"pq": 0.8, "sq": 1.0, "rq": 0.8})  # 2 TP, 1 FP


def test_prediction_mostly_on_void_is_ignored(coco_sample, tmp_path):
    results = _edited_results(tmp_path, coco_sample, _car_on_void(100))
    assert results["per_class"][3] == {"pq": 0.0, "sq": 0.0, "rq": 0.0}
    assert (results["All"]["n"], results["Things"]["n"]) == (8, 4)


def test_prediction_mostly_off_void_is_a_false_positive(coco_sample, tmp_path):
    results = _edited_results(tmp_path, coco_sample, _car_on_void(3000))  # image A: 2712 void
    assert (results["All"]["n"], results["Things"]["n"]) == (9, 5)
    assert results["per_class"][3]["rq"] == 0.0


def test_crowd_region_ignores_only_its_own_category(coco_sample, tmp_path):
    ball = _edited_results(tmp_path, coco_sample, _crowd_as_sports_ball)["per_class"][37]
    assert ball == pytest.approx({"pq": 1 / 1.5, "sq": 1.0, "rq": 1 / 1.5})


def test_void_pixels_of_a_prediction_are_left_out_of_the_union():
    gt = np.array([[1, 1, 2, 2], [1, 1, 2, 2], [1, 1, 2, 2], [0, 0, 2, 2]])
    pred = np.array([[5, 5, 7, 7], [5, 5, 7, 7], [5, 5, 5, 7], [7, 7, 5, 7]])
    stat = PQStat([THING, STUFF])
    stat.accumulate(gt, [{"id": 1, "category_id": 2}, {"id": 2, "category_id": 1}],
                    pred, [{"id": 5, "category_id": 2}, {"id": 7, "category_id": 1}])
    results = stat.summary()
    # Stuff: 6 / (6 + 8 - 6); thing: 6 / (8 + 8 - 6 - 2 pixels of 7 on void).
    for name, n in (("All", 2), ("Things", 1), ("Stuff", 1)):
        assert results[name] == {"pq": 0.75, "sq": 0.75, "rq": 1.0, "n": n}


def test_crowd_only_image_gives_an_empty_summary():
    stat = PQStat([THING, STUFF])
    stat.accumulate(np.full((2, 2), 3), [{"id": 3, "category_id": 1, "iscrowd": 1}],
                    np.array([[9, 9], [9, 0]]), [{"id": 9, "category_id": 1}])
    assert stat.summary()["All"] == {"pq": 0.0, "sq": 0.0, "rq": 0.0, "n": 0}


@pytest.mark.parametrize(
    ("pred", "segments", "message"),
    [
        (np.array([[5, 6]]), [{"id": 5, "category_id": 1}], r"ids \[6\] are in the map"),
        (np.array([[5, 5]]), [{"id": 5, "category_id": 1}, {"id": 6, "category_id": 1}],
         r"ids \[6\] are in segments_info but not in the map"),
        (np.array([[5, 5]]), [{"id": 5, "category_id": 4}], r"category ids \[4\]"),
        (np.array([[5, 5, 5]]), [{"id": 5, "category_id": 1}], "differ in size"),
        (np.array([[5, 5]]), [{"id": 5}], "lacks the key 'category_id'"),
    ],
)
def test_bad_predictions_are_rejected(pred, segments, message):
    stat = PQStat([THING, STUFF])
    with pytest.raises(ValueError, match=message):
        stat.accumulate(np.array([[1, 1]]), [{"id": 1, "category_id": 1}], pred, segments)


def test_missing_prediction_image_is_named(coco_sample, tmp_path):
    pred_json, pred_folder = _write_prediction(tmp_path, coco_sample)
    data = json.loads(pred_json.read_text())
    data["annotations"] = [a for a in data["annotations"] if a["image_id"] != IMAGE_B]
    pred_json.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=f"no prediction for the image ids \\[{IMAGE_B}\\]"):
        pq_compute(*_gt_paths(coco_sample), pred_json, pred_folder)


def test_missing_files_are_named(coco_sample, tmp_path):
    pred_json, pred_folder = _write_prediction(tmp_path, coco_sample)
    (pred_folder / "000000439180.png").unlink()
    with pytest.raises(FileNotFoundError, match="000000439180.png"):
        pq_compute(*_gt_paths(coco_sample), pred_json, pred_folder)
    gt_json, gt_folder = _gt_paths(coco_sample)
    with pytest.raises(SystemExit, match="annotation file not found: .*absent.json"):
        main(["--gt-json", str(gt_json), "--gt-folder", str(gt_folder),
              "--pred-json", str(tmp_path / "absent.json"), "--pred-folder", str(pred_folder)])


def test_predictions_of_other_categories_are_refused_naming_both_lists(coco_sample, tmp_path, capsys):
    """The demo model's synthetic classes share ids 1, 2, 3, 11, 13, 14 with COCO: the names differ."""
    pred_json, pred_folder = _write_prediction(tmp_path, coco_sample)
    data = json.loads(pred_json.read_text())
    demo = REPO / "sspanoptic_ros" / "configs" / "demo_synthetic_categories.json"
    data["categories"] = json.loads(demo.read_text())
    pred_json.write_text(json.dumps(data))
    for png in pred_folder.iterdir():  # refused before any image is read
        png.unlink()
    gt_json, gt_folder = _gt_paths(coco_sample)
    with pytest.raises(SystemExit) as exit_info:
        main(["--gt-json", str(gt_json), "--gt-folder", str(gt_folder),
              "--pred-json", str(pred_json), "--pred-folder", str(pred_folder)])
    assert str(exit_info.value) == (
        f"sspanoptic-pq: error: the categories of {pred_json} (7 categories: 1 'disc', 2 'box', "
        "3 'triangle', 11 'sky', 12 'wall', 13 'grass', 14 'road') are not the ground truth's "
        f"({gt_json}) (133 categories: 1 'person', 2 'bicycle', 3 'car', 4 'motorcycle', 5 'airplane', "
        "6 'bus', 7 'train', 8 'truck', ... (125 more))"
    )
