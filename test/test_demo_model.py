# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The bundled demo model reproduces the README's held-out table (closest-centre row)."""

import pytest
import torch

from sspanoptic_ros.data.coco import CocoPanoptic
from sspanoptic_ros.data.synthetic_dataset import write_dataset
from sspanoptic_ros.engine import create_engine
from sspanoptic_ros.evaluation.eval_cli import evaluate
from sspanoptic_ros.model import read_checkpoint
from sspanoptic_ros.paths import default_model_path

# README "Demo model on the synthetic world": 100 held-out scenes of seed 3, closest centre.
README_CC = {
    "plain": (62.5, 34.4, 83.6),
    "small-stuff removal + unknown": (72.1, 36.9, 98.6),
}


def test_demo_model_size_and_contents():
    path = default_model_path()
    assert path.stat().st_size <= 25e6
    payload = read_checkpoint(path)
    assert payload["config"]["name"] == "demo_synthetic"
    assert "optimizer" not in payload["extra"] and payload["extra"]["epoch"] == 11


def test_eval_reproduces_the_readme_table(tmp_path):
    paths = write_dataset(tmp_path / "test", 100, seed=3, height=256, width=384)
    engine = create_engine(default_model_path(), "torch")
    dataset = CocoPanoptic(*paths, categories=engine.config.categories)
    with torch.inference_mode():
        report = evaluate(engine, dataset)
    for variant, expected in README_CC.items():
        row = report["pq"]["closest_center"][variant]
        measured = (row["All"], row["Things"], row["Stuff"])
        assert measured == pytest.approx(expected, abs=0.5), f"{variant}: {measured} vs README {expected}"
    assert report["pq"]["closest_center"]["small-stuff removal + unknown"]["All"] >= 70.0
