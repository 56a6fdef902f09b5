# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Stable instance ids from the node: a synthetic video played through the node process.

The bundled demo model runs in its own node process (tracking on, as configured by default);
this process sends the frames of a synthetic sequence one at a time and receives the panoptic
images. They must equal what the engine and the tracker give offline, and the ground-truth
objects must keep their ids where per-frame numbering changes them.
"""

import numpy as np
import pytest
import torch
from builtin_interfaces.msg import Time
from conftest import REPO
from ros_helpers import Harness, NodeProcess, image_msg, raw_pixels, stamp_of, wait_for
from sensor_msgs.msg import Image

from sspanoptic_ros.data.synthetic import THING_ID_BASE, render_sequence
from sspanoptic_ros.engine import create_engine
from sspanoptic_ros.paths import default_model_path
from sspanoptic_ros.tracking import Tracker

pytestmark = pytest.mark.ros  # runs on Kilted and Jazzy (setup.cfg)

FRAMES, SEED = 24, 3  # measured offline: 7 objects matched in >= 5 frames, every one switches per frame


@pytest.fixture(scope="module")
def sequence():
    return list(render_sequence(FRAMES, (256, 384), SEED))


@pytest.fixture(scope="module")
def node_outputs(ros_context, sequence, tmp_path_factory):
    """Send each frame and wait for its panoptic image (lockstep: no frame is dropped)."""
    harness = Harness(ros_context, reliable_topics=("seq/image",))
    harness.subscribe("seq/panoptic/panoptic", Image)
    node = NodeProcess(
        tmp_path_factory.mktemp("tracking_node") / "node.log",
        "--params-file", str(REPO / "config" / "sspanoptic.yaml"),
        "-p", "backend:=torch",
        "-p", "device:=cpu",
        "-p", "input_reliability:=reliable",
        "-p", "input_topics:=['seq/image']",
    )
    try:
        outputs = []
        # The sequence, then its first frame again stamped earlier: a bag restarting.
        stamps = [harness.next_stamp() for _ in sequence] + [Time(sec=1)]
        for (rgb, _, _), stamp in zip([*sequence, sequence[0]], stamps):
            harness.publish("seq/image", image_msg(raw_pixels(rgb, "rgb8"), rgb.shape[1], "rgb8", stamp))

            def output(stamp=stamp):
                node.check_alive()
                return next((m for m, _ in harness.received("seq/panoptic/panoptic")
                             if stamp_of(m) == (stamp.sec, stamp.nanosec)), None)

            msg = wait_for(output, "the panoptic image of a frame")
            outputs.append(np.frombuffer(bytes(msg.data), "<i4").reshape(msg.height, msg.width))
        assert node.log_text().count("stamps went back in time") == 1
        yield outputs
    finally:
        node.stop()
        harness.close()


def ids_per_object(sequence, panoptic_maps) -> dict[int, set[int]]:
    """For each ground-truth thing, the predicted ids it matched (IoU > 0.5) over the frames."""
    matched = {}
    for (_, gt, _), predicted in zip(sequence, panoptic_maps):
        for gt_id in np.unique(gt[gt >= THING_ID_BASE]):
            mask = gt == gt_id
            values, counts = np.unique(predicted[mask], return_counts=True)
            best = values[counts.argmax()]
            overlap = predicted == best
            if best % 1000 and (overlap & mask).sum() / (overlap | mask).sum() > 0.5:
                matched.setdefault(int(gt_id), []).append(int(best))
    return {gt_id: set(ids) for gt_id, ids in matched.items() if len(ids) >= 5}


def test_the_node_tracks_like_the_tracker_offline(sequence, node_outputs):
    torch.set_num_threads(1)
    engine, tracker = create_engine(default_model_path(), "torch", "cpu"), Tracker()
    for (rgb, _, _), published in zip(sequence, node_outputs):
        np.testing.assert_array_equal(published, tracker.track(engine.infer(rgb)).panoptic.numpy())
    tracker.reset()  # the stamps went back: new tracks, new ids
    restarted = tracker.track(engine.infer(sequence[0][0])).panoptic.numpy()
    np.testing.assert_array_equal(node_outputs[-1], restarted)
    assert not set(np.unique(restarted % 1000)) - {0} & set(np.unique(node_outputs[0] % 1000))


def test_ground_truth_objects_keep_their_ids(sequence, node_outputs):
    engine = create_engine(default_model_path(), "torch", "cpu")
    per_frame = ids_per_object(sequence, [engine.infer(rgb).panoptic.numpy() for rgb, _, _ in sequence])
    tracked = ids_per_object(sequence, node_outputs[:FRAMES])
    assert len(tracked) >= 5, f"precondition: objects matched in >= 5 frames: {tracked}"
    assert all(len(ids) > 1 for ids in per_frame.values()), "precondition: per-frame ids change"
    kept = [gt_id for gt_id, ids in tracked.items() if len(ids) == 1]
    switches = sum(len(ids) - 1 for ids in tracked.values())
    assert len(kept) >= 0.8 * len(tracked), tracked
    assert switches * 5 <= sum(len(ids) - 1 for ids in per_frame.values()), (tracked, per_frame)
