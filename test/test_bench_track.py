# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""``sspanoptic-bench track``: its timing frames, and a short run of the demo model."""

import numpy as np
import pytest
import torch
from conftest import REPO

from sspanoptic_ros.bench.cli import main as bench_main
from sspanoptic_ros.bench.track import (
    BASELINE,
    SOURCES,
    evaluate_tracking,
    ground_truth_result,
    moving_things,
)
from sspanoptic_ros.data.synthetic import SYNTHETIC_CATEGORIES, THING_ID_BASE, render_sequence
from sspanoptic_ros.engine import create_engine
from sspanoptic_ros.tracking import TrackerParams

DEMO = REPO / "models" / "demo_synthetic.pt"
THINGS = {c.id for c in SYNTHETIC_CATEGORIES if c.isthing}


def test_timing_frames_hold_the_requested_moving_things():
    frames = list(moving_things(5, 20, (120, 160), torch.device("cpu")))
    centres = []
    for result in frames:
        numbers = sorted(set(result.instance.unique().tolist()) - {0})
        assert numbers == list(range(1, len(result.segments) + 1))
        assert 15 <= len(result.segments) <= 20  # overlapping discs can hide one another
        for n, segment in enumerate(result.segments, 1):
            mask = result.instance == n
            assert segment.isthing and segment.category_id in THINGS and segment.area == int(mask.sum())
            assert bool((result.category[mask] == segment.category_id).all())
        assert bool(((result.instance > 0) == (result.category > 0)).all())
        centres.append(torch.nonzero(result.instance > 0).float().mean(0))
    assert 0 < float((centres[1] - centres[0]).abs().sum()) < 10


def test_tracking_the_demo_model_and_the_ground_truth_removes_id_switches():
    engine = create_engine(DEMO, "torch", "cpu")
    sequences = {"0000": list(render_sequence(12, (96, 144), seed=(0, 0)))}
    run = evaluate_tracking(engine, sequences, [(None, TrackerParams())])
    assert list(run["results"]) == list(SOURCES)
    for results in run["results"].values():
        assert list(results)[0] == BASELINE
        baseline, tracked = (r["overall"] for r in results.values())
        assert tracked["sq"] == baseline["sq"] and tracked["frames"] == baseline["frames"] == 12
        assert tracked["id_switches"] < baseline["id_switches"] and tracked["aq"] > baseline["aq"]
    truth = run["results"]["ground truth"]
    assert truth[BASELINE]["overall"]["sq"] == 1.0 and list(truth.values())[1]["overall"]["aq"] > 0.99
    assert len(run["engine_ms"]) == 12 and all(len(t) == 12 for t in run["tracker_ms"].values())


def test_ground_truth_result_numbers_things_per_frame_in_a_random_order():
    _, ids, segments = next(render_sequence(1, (64, 96), seed=(0, 0)))
    a, b = (ground_truth_result(ids, segments, np.random.default_rng(seed)) for seed in (0, 1))
    things = [s for s in segments if s["id"] >= THING_ID_BASE]
    assert len(things) > 2 and [s.isthing for s in a.segments] == [True] * len(things) + [False] * (
        len(segments) - len(things))
    assert not torch.equal(a.instance, b.instance) and torch.equal(a.category, b.category)
    for n, segment in enumerate(a.segments[:len(things)], 1):
        (gt_id,) = np.unique(ids[a.instance.numpy() == n])
        gt = next(s for s in segments if s["id"] == gt_id)
        assert segment.category_id == gt["category_id"] and segment.area == gt["area"]
    assert set(np.unique(a.panoptic.numpy())) == {s.id for s in a.segments}


def test_command_line_prints_the_tables(capsys):
    args = ["track", "--sequences", "1", "--frames", "3", "--size", "64", "96", "--strides", "auto", "2",
            "--timing-frames", "3", "--things", "5"]
    assert bench_main(args) == 0
    out = capsys.readouterr().out
    assert "| model | per-frame ids |" in out
    assert "| ground truth | tracker stride 2, min IoU 0.1, max age 30 |" in out
    assert "| tracker, 5 moving things | ms per frame (median / p99) | / engine |" in out
    assert "default tracker / engine time per frame:" in out
    with pytest.raises(SystemExit):
        bench_main(["track", "--strides", "0"])
