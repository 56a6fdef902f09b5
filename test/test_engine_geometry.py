# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The engine maps boxes and centre offsets from network-input pixels back to the image's pixels.

A fake backend stands in for the network: its detector fires on two hand-picked anchors (zero box
deltas, so each box is its anchor) and its centre offsets are (x, -y) at dense cell (y, x). The
expected boxes and offsets are worked out by hand for images shrunk and enlarged to the input.
"""

import numpy as np
import pytest
import torch
from conftest import tiny_config

from sspanoptic_ros.engine import Engine
from sspanoptic_ros.engine.preprocess import network_input_size
from sspanoptic_ros.model import Anchors, ModelConfig, RawOutputs
from sspanoptic_ros.model.config import SIZE_DIVISIBILITY

# tiny_config: min_size 96, max_size 160; the first level (stride 8) has 32 x 32 anchors of ratio 1,
# [8c - 16, 8r - 16, 8c + 16, 8r + 16] at grid cell (r, c).
CASES = [
    # image (H, W); network input (h, w): shorter side to 96, longer rounded to a multiple of 4;
    # an anchor inside the input; an anchor across its bottom-right corner (clipped to it).
    ((150, 230), (96, 148), (64, 32, 96, 64), (120, 72, 152, 104)),  # scale 0.64: 230 -> 147.2 -> 148
    ((50, 70), (96, 136), (64, 32, 96, 64), (112, 72, 144, 104)),  # scale 1.92: 70 -> 134.4 -> 136
]
PADDED = (96, 160)  # both inputs padded to multiples of 32 (p5's stride), not of 128
LOGITS = (10.0, 8.0)  # of the inside and the corner box; every other anchor scores sigmoid(-20)


class FakeBackend:
    """A network whose detector fires on given anchors, as given detector classes.

    ``hits`` maps an anchor box (x1, y1, x2, y2) in input pixels to (detector class, logit).
    """

    name = "fake"
    device = torch.device("cpu")
    dtype = torch.float32
    precision = "fp32"
    builtin_nms = None
    size_divisibility = SIZE_DIVISIBILITY

    def __init__(self, config: ModelConfig, hits: dict[tuple, tuple[int, float]]):
        self.config = config
        self.hits = hits
        self.input_shapes = []

    def __call__(self, images: torch.Tensor) -> RawOutputs:
        self.input_shapes.append(tuple(images.shape))
        height, width = images.shape[-2:]
        anchors, _ = Anchors(self.config)(height, width)
        cls_logits = torch.full((1, len(anchors), self.config.num_thing_classes), -20.0)
        for box, (detector_class, logit) in self.hits.items():
            (index,) = torch.nonzero((anchors == torch.tensor(box, dtype=torch.float32)).all(1))
            cls_logits[0, index, detector_class] = logit
        dense_h, dense_w = height // 4, width // 4
        ys, xs = torch.meshgrid(torch.arange(dense_h), torch.arange(dense_w), indexing="ij")
        centers = torch.stack([xs, -ys]).float()[None]
        semantic = torch.zeros(1, self.config.num_classes, dense_h, dense_w)
        return RawOutputs(semantic, cls_logits, torch.zeros(1, len(anchors), 4), centers)


@pytest.mark.parametrize("image_size, input_size, inside, corner", CASES)
def test_boxes_and_centre_offsets_come_back_in_image_pixels(image_size, input_size, inside, corner):
    config = tiny_config()
    assert network_input_size(*image_size, config) == input_size
    height, width = image_size
    h, w = input_size
    sx, sy = width / w, height / h
    things = [c.name for c in config.categories if c.isthing]
    channel = {c.name: i for i, c in enumerate(config.categories)}
    backend = FakeBackend(config, {inside: (things.index("box"), LOGITS[0]),
                                   corner: (things.index("disc"), LOGITS[1])})

    result = Engine(backend, config).run_network(np.zeros((height, width, 3), np.uint8))

    assert backend.input_shapes == [(1, 3, *PADDED)]
    assert result.size == image_size
    boxes, scores, classes = result.detections.valid(0)
    expected = torch.tensor([
        [inside[0] * sx, inside[1] * sy, inside[2] * sx, inside[3] * sy],
        [corner[0] * sx, corner[1] * sy, width, height],  # the input's edge is the image's edge
    ])
    torch.testing.assert_close(boxes, expected)
    torch.testing.assert_close(scores, torch.sigmoid(torch.tensor(LOGITS)))
    assert classes.tolist() == [channel["box"], channel["disc"]]

    # Dense outputs: cropped to the input's h/4 x w/4 cells; offsets (x, -y) scaled by (sx, sy).
    assert result.semantic.shape == (1, config.num_classes, h // 4, w // 4)
    assert result.centers.shape == (1, 2, h // 4, w // 4)
    ys, xs = torch.meshgrid(torch.arange(h // 4), torch.arange(w // 4), indexing="ij")
    torch.testing.assert_close(result.centers[0, 0], xs * sx, check_dtype=False)
    torch.testing.assert_close(result.centers[0, 1], -ys * sy, check_dtype=False)
