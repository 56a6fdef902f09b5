# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""ResNet encoder with frozen BatchNorm and an FPN producing p2..p7."""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path

import torch
from torch import nn
from torchvision.models import resnet
from torchvision.models.detection.backbone_utils import BackboneWithFPN
from torchvision.ops import FrozenBatchNorm2d
from torchvision.ops.feature_pyramid_network import LastLevelP6P7

log = logging.getLogger(__name__)

# Output channels of layer1..layer4 (c2..c5).
_STAGE_CHANNELS = {
    "resnet18": (64, 128, 256, 512),
    "resnet34": (64, 128, 256, 512),
    "resnet50": (256, 512, 1024, 2048),
    "resnet101": (256, 512, 1024, 2048),
}
_IMAGENET_WEIGHTS = {
    "resnet18": resnet.ResNet18_Weights.IMAGENET1K_V1,
    "resnet34": resnet.ResNet34_Weights.IMAGENET1K_V1,
    "resnet50": resnet.ResNet50_Weights.IMAGENET1K_V1,
    "resnet101": resnet.ResNet101_Weights.IMAGENET1K_V1,
}


def imagenet_state_dict(backbone: str, source: str, download: bool = False) -> dict:
    """Return ImageNet weights for ``backbone`` from a local file or torchvision's cache.

    ``source`` is a path to a state dict, or ``"torchvision"`` for torchvision's own weights,
    which are taken from the torch hub cache and downloaded only when ``download`` is true.
    """
    if source != "torchvision":
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"backbone weights file not found: {path}")
        return torch.load(path, map_location="cpu", weights_only=True)
    weights = _IMAGENET_WEIGHTS[backbone]
    cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
    if not cached.is_file() and not download:
        raise FileNotFoundError(
            f"ImageNet weights for {backbone} are not in torchvision's cache ({cached}); "
            "put them there, pass a local file, or allow the download (sspanoptic-train --download-weights)"
        )
    return weights.get_state_dict(progress=False)


def build_backbone(
    name: str,
    out_channels: int,
    pretrained: str | None = None,
    download_weights: bool = False,
    encoder_norm: str = "frozen_bn",
    encoder_groups: int = 32,
) -> BackboneWithFPN:
    """Build ResNet-``name`` + FPN with outputs p2..p7 of ``out_channels`` channels each.

    The encoder's BatchNorm layers are frozen (FrozenBatchNorm2d), as in the paper; an encoder
    trained from scratch uses GroupNorm with ``encoder_groups`` groups instead
    (``encoder_norm="group_norm"``). p6/p7 are computed from p5 as in RetinaNet (torchvision's
    LastLevelP6P7 with equal channels).
    """
    norm_layer = (
        FrozenBatchNorm2d if encoder_norm == "frozen_bn" else partial(nn.GroupNorm, encoder_groups)
    )
    body = getattr(resnet, name)(weights=None, norm_layer=norm_layer)
    if pretrained:
        state = imagenet_state_dict(name, pretrained, download_weights)
        missing, unexpected = body.load_state_dict(state, strict=False)
        if [k for k in missing if not k.startswith("fc.")] or unexpected:
            raise ValueError(
                f"ImageNet weights do not fit {name}: missing {missing}, unexpected {unexpected}"
            )
        log.info("loaded ImageNet weights for %s from %s", name, pretrained)
    return BackboneWithFPN(
        body,
        return_layers={"layer1": "p2", "layer2": "p3", "layer3": "p4", "layer4": "p5"},
        in_channels_list=list(_STAGE_CHANNELS[name]),
        out_channels=out_channels,
        extra_blocks=LastLevelP6P7(out_channels, out_channels),
    )
