# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Benchmark helpers: runs in turns, ratios of the same rounds, exact FLOP counts."""

import json
from functools import partial

import cv2
import pytest
import torch
from conftest import tiny_config

from sspanoptic_ros.bench.agreement import Variant, compare
from sspanoptic_ros.bench.engine_speed import main
from sspanoptic_ros.bench.stats import gflop, in_turns, pair_ratios
from sspanoptic_ros.data.synthetic import render_scene
from sspanoptic_ros.model import build_model
from sspanoptic_ros.paths import default_model_path


def test_calls_run_in_turns_and_ratios_pair_the_same_rounds():
    order = []
    load = iter([1, 1, 3, 3, 2, 2, 5, 5])  # the machine's load changes between rounds, not within

    def call(name, cost):
        def run():
            order.append(name)
            return cost * next(load)
        return run

    a, b = in_turns([call("a", 2.0), call("b", 1.0)], rounds=3, warmup=1)
    assert order == ["a", "b"] * 4
    assert (a, b) == ([6.0, 4.0, 10.0], [3.0, 2.0, 5.0])
    ratio = pair_ratios(a, b)
    assert (ratio["median"], ratio["min"], ratio["max"]) == (2.0, 2.0, 2.0)
    with pytest.raises(ValueError):
        pair_ratios([1.0], [1.0, 2.0])


def test_padding_to_32_saves_the_flops_of_128():
    """A 96 x 148 input costs what its 32-padded 96 x 160 costs, less than the 128-padded 128 x 256."""
    model = build_model(tiny_config()).eval()
    unpadded, padded_32, padded_128 = (
        gflop(partial(model, torch.zeros(1, 3, *size))) for size in [(96, 148), (96, 160), (128, 256)]
    )
    assert unpadded == padded_32 < padded_128


def test_engine_benchmark_compares_paddings_in_turns(tmp_path, capsys):
    """``--compare-padding 128`` runs the same model padded to 128 beside 32, FLOPs and ratios."""
    report = tmp_path / "engine.json"
    main(["--model", "demo_synthetic", "--backends", "torch", "--size", "96", "128", "--runs", "2",
          "--compare-padding", "128", "--json", str(report)])
    result = json.loads(report.read_text())
    base, padded = result["rows"]
    assert (base["input_size"], padded["input_size"]) == ([256, 352], [256, 384])  # 352 = 11 * 32
    assert base["gflop"] < padded["gflop"]
    assert [r["label"] for r in result["ratios"]] == [
        "network time torch padded to 128 / torch padded to 32",
        "total time torch padded to 128 / torch padded to 32",
    ]
    assert all(len(r["ratios"]) == 2 for r in result["ratios"])  # one per round
    assert "network time torch padded to 128 / torch padded to 32:" in capsys.readouterr().out


def test_agreement_pad128_variant_runs_the_engine_as_a_model_file_made_for_128():
    """Padding changes nothing where 32 and 128 pad alike (256 x 384), and the logits elsewhere."""
    reference = Variant.parse("torch-fp32").engine(default_model_path(), "cpu")
    padded = Variant.parse("torch-fp32-pad128").engine(default_model_path(), "cpu")
    assert (reference.backend.size_divisibility, padded.backend.size_divisibility) == (32, 128)
    scene = render_scene(101, 256, 384)[0]
    assert compare(reference, padded, scene)["max_abs_semantic_error"] == 0.0
    wide = cv2.resize(scene, (640, 360))  # network input 216 x 384: padded to 224 x 384 or 256 x 384
    assert compare(reference, padded, wide)["max_abs_semantic_error"] > 0.0
