# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""``sspanoptic-infer --track`` over a synthetic video, scored by ``sspanoptic-stq``."""

import json

import pytest

from sspanoptic_ros.data.synthetic_dataset import write_sequences
from sspanoptic_ros.evaluation.stq import stq_compute
from sspanoptic_ros.evaluation.stq_cli import main as stq_main
from sspanoptic_ros.infer import main as infer_main


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """Run the demo model on one 16-frame sequence, with and without --track, and score both."""
    root = tmp_path_factory.mktemp("infer_track")
    (sequence,) = write_sequences(root / "gt", 1, 16, seed=3)
    common = [str(sequence.image_dir), "--backend", "torch", "--device", "cpu"]
    assert infer_main([*common, "--out", str(root / "tracked" / "0000"), "--track"]) == 0
    assert infer_main([*common, "--out", str(root / "per_frame" / "0000")]) == 0
    return root, {name: stq_compute(root / "gt", root / name) for name in ("tracked", "per_frame")}


def test_track_ids_raise_association_quality(scored):
    _, results = scored
    tracked, per_frame = results["tracked"]["overall"], results["per_frame"]["overall"]
    assert tracked["sq"] == pytest.approx(per_frame["sq"])  # the same segments, other ids
    assert tracked["aq"] > 1.5 * per_frame["aq"], (tracked, per_frame)
    assert tracked["id_switches"] * 3 < per_frame["id_switches"], (tracked, per_frame)


def test_tracked_predictions_use_track_ids_as_segment_ids(scored, capsys):
    root, _ = scored
    annotations = json.loads((root / "tracked" / "0000" / "predictions.json").read_text())["annotations"]
    assert len(annotations) == 16
    things = [s["id"] for a in annotations for s in a["segments_info"] if "score" in s]
    assert things and all(0 < thing % 1000 <= 999 for thing in things)
    seen_in = {thing: sum(thing in {s["id"] for s in a["segments_info"]} for a in annotations)
               for thing in set(things)}
    assert max(seen_in.values()) >= 8  # one id kept over half the sequence
    assert stq_main(["--gt", str(root / "gt"), "--pred", str(root / "tracked")]) == 0
    assert "STQ" in capsys.readouterr().out
