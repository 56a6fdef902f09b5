# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Training configuration: a plain dataclass read from YAML (paths relative to the file)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import yaml


@dataclass
class TrainConfig:
    """Everything a training run depends on. Defaults are the paper's COCO recipe (test_recipe.py).

    The paper trains with a total batch of 4 (``total_batch_size`` splits it over processes).
    Another batch keeps lr 1e-5 here: the paper gives no scaling rule, and Adam's steps do not
    grow with the batch as SGD's do, so linear scaling is not assumed; re-tune lr if you change it.
    """

    model: str  # model config name (shipped) or YAML path
    train_images: str
    train_json: str
    train_panoptic: str
    val_images: str | None = None
    val_json: str | None = None
    val_panoptic: str | None = None
    output_dir: str = "runs/train"
    epochs: int = 14
    batch_size: int = 4  # per process (per GPU); the effective batch is batch_size x processes
    total_batch_size: int | None = None  # if set, batch_size = total_batch_size / processes
    lr: float = 1e-5
    weight_decay: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.99)
    lr_steps: tuple[int, ...] = (7, 10)  # epochs after which the learning rate is multiplied by lr_gamma
    lr_gamma: float = 0.1
    loss_weights: dict = field(default_factory=dict)  # detection / semantic / center (LossWeights)
    flip_prob: float = 0.5
    seed: int = 0
    device: str = "cpu"
    num_workers: int = 2
    val_every: int = 1  # epochs; 0 = no validation
    max_val_images: int = 0  # 0 = all
    log_every: int = 10  # steps

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch_size must be >= 1")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        self.betas = tuple(self.betas)
        self.lr_steps = tuple(self.lr_steps)

    @property
    def has_validation(self) -> bool:
        """Whether a validation set is configured and validation is on."""
        return bool(self.val_every and self.val_images and self.val_json and self.val_panoptic)

    def to_dict(self) -> dict:
        """Plain dict for checkpoints and logs."""
        d = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


PATH_KEYS = (
    "train_images",
    "train_json",
    "train_panoptic",
    "val_images",
    "val_json",
    "val_panoptic",
    "output_dir",
)


def load_train_config(path: str | Path, overrides: dict | None = None) -> TrainConfig:
    """Read a training YAML; relative paths are taken relative to the YAML's folder."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"training config not found: {path}")
    data = yaml.safe_load(path.read_text()) or {}
    data.update(overrides or {})
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{path}: unknown training config keys {unknown}; known keys: {sorted(known)}")
    for key in PATH_KEYS:
        if data.get(key) and not Path(data[key]).is_absolute():
            data[key] = str((path.parent / data[key]).resolve())
    model = data.get("model")
    if model and (path.parent / model).is_file():
        data["model"] = str((path.parent / model).resolve())
    return TrainConfig(**data)
