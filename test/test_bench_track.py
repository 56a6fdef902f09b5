# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""``sspanoptic-bench track``: its timing frames, and a short run of the demo model."""

import pytest
import torch
from conftest import REPO

from sspanoptic_ros.bench.cli import main as bench_main
from sspanoptic_ros.bench.track import BASELINE, evaluate_tracking, moving_things
from sspanoptic_ros.data.synthetic import SYNTHETIC_CATEGORIES, render_sequence
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


def test_tracking_the_demo_model_removes_id_switches():
    engine = create_engine(DEMO, "torch", "cpu")
    sequences = {"0000": list(render_sequence(12, (96, 144), seed=(0, 0)))}
    run = evaluate_tracking(engine, sequences, [(None, TrackerParams())])
    baseline, tracked = (r["overall"] for r in run["results"].values())
    assert list(run["results"])[0] == BASELINE
    assert tracked["sq"] == baseline["sq"] and tracked["frames"] == baseline["frames"] == 12
    assert tracked["id_switches"] < baseline["id_switches"] and tracked["aq"] > baseline["aq"]
    assert len(run["engine_ms"]) == 12 and all(len(t) == 12 for t in run["tracker_ms"].values())


def test_command_line_prints_the_tables(capsys):
    args = ["track", "--sequences", "1", "--frames", "3", "--size", "64", "96", "--strides", "auto", "2",
            "--timing-frames", "3", "--things", "5"]
    assert bench_main(args) == 0
    out = capsys.readouterr().out
    assert "| per-frame ids |" in out and "| tracker stride 2, min IoU 0.1, max age 30 |" in out
    assert "| tracker, 5 moving things | ms per frame (median / p99) | / engine |" in out
    assert "default tracker / engine time per frame:" in out
    with pytest.raises(SystemExit):
        bench_main(["track", "--strides", "0"])
