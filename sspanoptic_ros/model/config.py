# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Model configuration: everything needed to build a network and run it on images.

A config is a plain dataclass that round-trips through a dict (YAML files, checkpoints,
ONNX metadata). Shipped configs live in ``sspanoptic_ros/configs/<name>.yaml``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import yaml

from ..categories import Category, load_categories, validate_categories

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
BACKBONES = ("resnet18", "resnet34", "resnet50", "resnet101")
ENCODER_NORMS = ("frozen_bn", "group_norm")
# The FPN's levels, finest first; the detector runs on a suffix of them (detector_levels).
FPN_LEVELS = ("p2", "p3", "p4", "p5", "p6", "p7")
DETECTOR_LEVEL_CHOICES = (FPN_LEVELS[1:], FPN_LEVELS)
# Network inputs are padded to a multiple of this: the stride of p5, the coarsest level the semantic
# and centre branches sum. p6 and p7 are stride-2 convolutions that take any size (ceil(H / 64),
# ceil(H / 128) cells), as in torchvision's RetinaNet, which also pads to 32.
SIZE_DIVISIBILITY = 32
# Stride of the semantic and centre outputs.
DENSE_STRIDE = 4
# Channels of a ResNet encoder's stem; those of every other encoder layer are multiples of it.
ENCODER_STEM_CHANNELS = 64


@dataclass
class ModelConfig:
    """Architecture, classes and input conventions of one SSPS model.

    GroupNorm has two settings: ``group_norm_groups`` for the semantic and centre branches and
    ``encoder_group_norm_groups`` for the ResNet encoder when ``encoder_norm`` is "group_norm"
    (32 by default, which the bundled demo model was trained with; configs and checkpoints
    without the key get it).
    """

    name: str
    categories: list[Category]
    backbone: str = "resnet50"
    # "frozen_bn" (the paper: ImageNet-initialised encoder with frozen BatchNorm) or "group_norm"
    # (an encoder trained from scratch, e.g. the synthetic demo model, where frozen BN is identity).
    encoder_norm: str = "frozen_bn"
    # Groups of the encoder's GroupNorm layers (encoder_norm "group_norm" only); must divide 64.
    encoder_group_norm_groups: int = 32
    fpn_channels: int = 256
    # Width of the light semantic / centre branches (detectron2's SemSegFPNHead uses 128).
    branch_channels: int = 128
    # Groups of the branches' GroupNorm layers.
    group_norm_groups: int = 32
    use_centers: bool = True
    # Resize rule of the paper: shorter side to min_size, longer side at most max_size.
    min_size: int = 576
    max_size: int = 864
    # RGB mean/std on the 0..255 scale (torchvision's ImageNet statistics).
    pixel_mean: tuple[float, float, float] = (123.675, 116.28, 103.53)
    pixel_std: tuple[float, float, float] = (58.395, 57.12, 57.375)
    # FPN levels the RetinaNet detector runs on: p3..p7 as in RetinaNet (Lin et al.), or p2..p7
    # as the paper's text says ("from 1/128 to 1/4"); README "Detector levels" measures both.
    detector_levels: tuple[str, ...] = ("p3", "p4", "p5", "p6", "p7")
    # RetinaNet anchors: one base size per detector level (None: 4 x the level's stride, so
    # 32..512 on p3..p7 and 16 on p2), 3 scales x 3 ratios.
    anchor_sizes: tuple[int, ...] | None = None
    anchor_scales: tuple[float, ...] = (1.0, 2 ** (1 / 3), 2 ** (2 / 3))
    anchor_ratios: tuple[float, ...] = (0.5, 1.0, 2.0)
    # ImageNet weights for the encoder: a local state-dict file, "torchvision" (taken from
    # torchvision's cache only, never downloaded unless download_weights), or None.
    pretrained_backbone: str | None = None
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.backbone not in BACKBONES:
            raise ValueError(f"backbone must be one of {BACKBONES}, got {self.backbone!r}")
        if self.encoder_norm not in ENCODER_NORMS:
            raise ValueError(f"encoder_norm must be one of {ENCODER_NORMS}, got {self.encoder_norm!r}")
        groups = self.encoder_group_norm_groups
        if self.encoder_norm == "group_norm" and (groups < 1 or ENCODER_STEM_CHANNELS % groups):
            raise ValueError(
                f"encoder_group_norm_groups must divide {ENCODER_STEM_CHANNELS} (the channels of the "
                f"encoder's stem; all its channel counts are multiples of it), got {groups}"
            )
        if self.fpn_channels % self.group_norm_groups or self.branch_channels % self.group_norm_groups:
            raise ValueError("fpn_channels and branch_channels must be multiples of group_norm_groups")
        if not 0 < self.min_size <= self.max_size:
            raise ValueError(f"need 0 < min_size <= max_size, got {self.min_size}, {self.max_size}")
        self.categories = validate_categories(
            [c if isinstance(c, Category) else Category.from_dict(c) for c in self.categories]
        )
        self.detector_levels = tuple(self.detector_levels)
        if self.detector_levels not in DETECTOR_LEVEL_CHOICES:
            raise ValueError(f"detector_levels must be p3..p7 or p2..p7, got {self.detector_levels}")
        if self.anchor_sizes is None:
            self.anchor_sizes = tuple(4 * stride for stride in self.detector_strides)
        for name in ("pixel_mean", "pixel_std", "anchor_sizes", "anchor_scales", "anchor_ratios"):
            setattr(self, name, tuple(getattr(self, name)))
        if len(self.anchor_sizes) != len(self.detector_levels):
            raise ValueError(
                f"anchor_sizes needs one size per detector level {self.detector_levels}, "
                f"got {self.anchor_sizes}"
            )

    @property
    def detector_strides(self) -> tuple[int, ...]:
        """Input pixels per cell of each detector level (p3: 8, ..., p7: 128)."""
        return tuple(2 ** int(level[1:]) for level in self.detector_levels)

    @property
    def num_classes(self) -> int:
        """Number of semantic classes (things and stuff)."""
        return len(self.categories)

    @property
    def num_thing_classes(self) -> int:
        """Number of detector classes."""
        return sum(c.isthing for c in self.categories)

    @property
    def num_anchors_per_location(self) -> int:
        """Anchors per feature-map location (scales x ratios)."""
        return len(self.anchor_scales) * len(self.anchor_ratios)

    def to_dict(self) -> dict:
        """Plain dict (YAML/JSON friendly)."""
        d = asdict(self)
        d["categories"] = [c.to_dict() for c in self.categories]
        for k, v in d.items():
            if isinstance(v, tuple):
                d[k] = list(v)
        return d

    @classmethod
    def from_dict(cls, d: dict, base_dir: Path | None = None) -> ModelConfig:
        """Build from a dict; ``categories`` may name a COCO category JSON file."""
        d = dict(d)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown model config keys {unknown}; known keys: {sorted(known)}")
        if "name" not in d or "categories" not in d:
            raise ValueError("a model config needs at least 'name' and 'categories'")
        if isinstance(d["categories"], str):
            d["categories"] = load_categories((base_dir or CONFIG_DIR) / d["categories"])
        return cls(**d)


def load_model_config(name_or_path: str | Path) -> ModelConfig:
    """Load a config from a YAML path, or by name from the shipped configs."""
    path = Path(name_or_path)
    if not path.is_file():
        path = CONFIG_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        shipped = sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))
        raise FileNotFoundError(f"model config {str(name_or_path)!r} not found; shipped configs: {shipped}")
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a model config must be a YAML mapping")
    return ModelConfig.from_dict(data, base_dir=path.parent)
