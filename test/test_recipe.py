# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The shipped COCO recipe is the paper's, number by number.

Sources, quoted: Weber, Luiten, Leibe, "Single-Shot Panoptic Segmentation", IROS 2020, Section
IV "Experimental Setup" and Table III (as quoted in issue 15 of this project: the paper itself
cannot be fetched here); RetinaNet's settings from Lin et al., "Focal Loss for Dense Object
Detection", as their Detectron code configures them (RETINANET.BBOX_REG_BETA = 0.11, LOSS_ALPHA
0.25, LOSS_GAMMA 2.0, POSITIVE_OVERLAP 0.5, NEGATIVE_OVERLAP 0.4, PRIOR_PROB 0.01).
"""

import inspect
import json
import math
from dataclasses import replace

import pytest
import torch
import torchvision
from conftest import tiny_config
from torch.nn import functional as F

from sspanoptic_ros.data.coco import CocoPanoptic, read_rgb
from sspanoptic_ros.data.synthetic_dataset import write_dataset
from sspanoptic_ros.engine import create_engine
from sspanoptic_ros.evaluation.eval_cli import PAPER_VARIANT, evaluate, format_table, with_nocenter_rows
from sspanoptic_ros.head import PanopticParams
from sspanoptic_ros.model import build_model, load_model_config
from sspanoptic_ros.model.config import CONFIG_DIR
from sspanoptic_ros.paths import default_model_path
from sspanoptic_ros.train import loss
from sspanoptic_ros.train.config import TrainConfig, load_train_config

PAPER = {
    # "In contrast to most related work that train with a batch size of 16, we use a batch size of 4"
    "total_batch_size": 4,
    "epochs": 14,
    # learning rate x 0.1 after the 7th and the 10th of 14 epochs
    "lr_steps": (7, 10),
    "lr_gamma": 0.1,
    # Table III: lambda_o = lambda_s = 0.5; lambda_i in {0.001, 0.005, 0.01}, 0.01 best (29.9 PQ)
    "loss_weights": {"detection": 0.5, "semantic": 0.5, "center": 0.01},
}
LIN_ET_AL = {"beta": 0.11, "alpha": 0.25, "gamma": 2.0, "foreground_iou": 0.5, "background_iou": 0.4,
             "prior": 0.01}


@pytest.fixture(scope="module")
def recipe():
    return load_train_config(CONFIG_DIR / "train_resnet50_fpn_coco.yaml")


def test_the_shipped_recipe_is_the_papers(recipe):
    for key, value in PAPER.items():
        assert getattr(recipe, key) == value, key
    assert recipe.flip_prob == 0.5  # left-right flips are the only augmentation


def test_the_training_defaults_are_the_papers():
    defaults = TrainConfig(model="m", train_images="i", train_json="j", train_panoptic="p")
    assert (defaults.epochs, defaults.lr_steps, defaults.lr_gamma) == (14, (7, 10), 0.1)
    assert defaults.batch_size == PAPER["total_batch_size"]  # one process
    weights = loss.LossWeights()
    assert {k: getattr(weights, k) for k in PAPER["loss_weights"]} == PAPER["loss_weights"]


def test_the_model_configs_are_the_papers():
    model = load_model_config("resnet50_fpn_coco")
    assert (model.backbone, model.encoder_norm, model.pretrained_backbone) == ("resnet50", "frozen_bn",
                                                                               "torchvision")
    nocenter = load_model_config("resnet50_fpn_coco_nocenter")
    assert not nocenter.use_centers and model.use_centers
    assert (nocenter.backbone, nocenter.min_size, nocenter.max_size) == (model.backbone, 576, 864)


def test_retinanet_is_set_up_as_lin_et_al():
    assert (loss.SMOOTH_L1_BETA, loss.FOREGROUND_IOU, loss.BACKGROUND_IOU) == (
        LIN_ET_AL["beta"], LIN_ET_AL["foreground_iou"], LIN_ET_AL["background_iou"])
    focal = inspect.signature(torchvision.ops.sigmoid_focal_loss).parameters  # what the head calls
    assert (focal["alpha"].default, focal["gamma"].default) == (LIN_ET_AL["alpha"], LIN_ET_AL["gamma"])
    head = build_model(tiny_config()).detector.classification_head
    prior = -math.log((1 - LIN_ET_AL["prior"]) / LIN_ET_AL["prior"])
    torch.testing.assert_close(head.cls_logits.bias, torch.full_like(head.cls_logits.bias, prior))


def test_box_regression_is_smooth_l1_with_beta_011():
    model = build_model(tiny_config())
    anchors = torch.tensor([[0.0, 0.0, 10.0, 10.0], [20.0, 20.0, 40.0, 40.0], [0.0, 0.0, 5.0, 5.0]])
    boxes = [torch.tensor([[1.0, 1.0, 11.0, 12.0], [18.0, 22.0, 44.0, 38.0]])]
    matched = [torch.tensor([0, 1, -1])]  # the third anchor is background
    deltas = torch.tensor([[[0.05, -0.02, 0.3, 0.0], [0.0, 0.2, -0.5, 0.01], [9.0, 9.0, 9.0, 9.0]]])
    targets = model.detector.regression_head.box_coder.encode_single(boxes[0], anchors[:2])
    expected = F.smooth_l1_loss(deltas[0, :2], targets, beta=0.11, reduction="sum") / 2
    got = loss.box_regression_loss(model, boxes, deltas, anchors, matched)
    torch.testing.assert_close(got, expected)
    assert not torch.isclose(got, F.smooth_l1_loss(deltas[0, :2], targets, beta=1.0, reduction="sum") / 2)


def test_the_papers_stuff_area_is_in_pixels_of_the_image():
    scaled, absolute = PanopticParams(), PanopticParams(stuff_area_scaled=False)
    assert scaled.stuff_area(480, 640) == pytest.approx(4096 * 480 * 640 / (576 * 864))  # 2528 px
    assert absolute.stuff_area(480, 640) == 4096.0 == absolute.stuff_area(100, 100)
    with pytest.raises(ValueError, match="stuff_area_scaled must be a bool"):
        PanopticParams(stuff_area_scaled=1)


def test_eval_reports_the_paper_setting_on_request(tmp_path):
    paths = write_dataset(tmp_path / "scenes", 2, seed=3)
    engine = create_engine(default_model_path(), "torch", "cpu")
    dataset = CocoPanoptic(*paths, categories=engine.config.categories)
    plain = evaluate(engine, dataset)
    paper = evaluate(engine, dataset, paper_setting=True)
    assert PAPER_VARIANT[0] not in plain["pq"]["closest_center"]
    for policy, variants in plain["pq"].items():  # the other variants are unchanged
        assert {v: paper["pq"][policy][v] for v in variants} == variants
        assert PAPER_VARIANT[0] in paper["pq"][policy]
    assert "paper setting" in format_table(paper)
    evaluate(engine, dataset, tmp_path / "written", paper_setting=True)
    written = json.loads((tmp_path / "written" / "predictions.json").read_text())["annotations"]
    _, area, unknown, scaled = PAPER_VARIANT
    params = replace(engine.params, stuff_area_threshold=area, unknown_for_undetected_things=unknown,
                     stuff_area_scaled=scaled)
    for annotation, name in zip(written, dataset.image_files):
        expected = engine.merge(engine.run_network(read_rgb(dataset.image_dir / name)), params)
        assert [s["id"] for s in annotation["segments_info"]] == [s.id for s in expected.segments]


def test_each_policy_can_come_from_the_network_trained_for_it():
    policies = ("highest_confidence", "smallest_first", "closest_center")
    with_centres = {"pq": {p: {"plain": {"All": float(i)}} for i, p in enumerate(policies)}}
    without = {"pq": {p: {"plain": {"All": 10.0 + i}} for i, p in enumerate(policies[:2])}}
    merged = with_nocenter_rows(with_centres, without)
    assert [merged["pq"][p]["plain"]["All"] for p in policies] == [10.0, 11.0, 2.0]
    with pytest.raises(ValueError, match="no centre branch"):
        with_nocenter_rows(without, without)
