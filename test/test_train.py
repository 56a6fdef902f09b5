# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Training: losses fall, resume is exact, and DistributedDataParallel matches one process."""

import json
import os
import subprocess
import sys

import pytest
import torch
import yaml
from conftest import REPO, tiny_config

from sspanoptic_ros.data.synthetic import SYNTHETIC_CATEGORIES
from sspanoptic_ros.data.synthetic_dataset import write_dataset
from sspanoptic_ros.model import read_checkpoint
from sspanoptic_ros.train.config import load_train_config
from sspanoptic_ros.train.trainer import train


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """Write a tiny model config and eight 64x96 synthetic scenes."""
    root = tmp_path_factory.mktemp("train")
    config = tiny_config(
        categories=SYNTHETIC_CATEGORIES, min_size=64, max_size=96, anchor_sizes=[16, 32, 64, 128, 256]
    )
    (root / "model.yaml").write_text(yaml.safe_dump(config.to_dict()))
    paths = write_dataset(root / "data", 8, seed=5, height=64, width=96)
    base = {
        "model": "model.yaml",
        "train_images": str(paths.image_dir),
        "train_json": str(paths.annotation_json),
        "train_panoptic": str(paths.panoptic_dir),
        "epochs": 1,
        "batch_size": 2,
        "lr": 1e-3,
        "lr_steps": [100],
        "flip_prob": 0.0,
        "num_workers": 0,
        "val_every": 0,
        "log_every": 100,
    }
    return root, base


def write_config(root, name, **entries):
    path = root / f"{name}.yaml"
    path.write_text(yaml.safe_dump(entries))
    return path


def weights(path):
    return read_checkpoint(path)["model"]


def test_normalize_pads_with_the_mean_colour_like_the_engine():
    from sspanoptic_ros.model import build_model
    from sspanoptic_ros.train.trainer import normalize

    model = build_model(tiny_config())
    images = torch.full((2, 3, 8, 12), 200, dtype=torch.uint8)
    x = normalize(images, [(8, 12), (5, 7)], model)
    inside = (200 - torch.tensor(model.config.pixel_mean)) / torch.tensor(model.config.pixel_std)
    torch.testing.assert_close(x[0], inside.view(3, 1, 1).expand(3, 8, 12))
    torch.testing.assert_close(x[1, :, :5, :7], inside.view(3, 1, 1).expand(3, 5, 7))
    assert x[1, :, 5:].abs().max() == 0 and x[1, :, :, 7:].abs().max() == 0


def test_shipped_coco_recipe_loads():
    config = load_train_config(REPO / "sspanoptic_ros/configs/train_resnet50_fpn_coco.yaml")
    assert (config.lr, config.weight_decay, config.betas, config.epochs) == (1e-5, 1e-4, (0.9, 0.99), 14)
    assert config.train_images.endswith("coco/train2017")


def test_short_training_lowers_every_loss(setup):
    root, base = setup
    config = load_train_config(
        write_config(root, "fall", **{**base, "epochs": 8, "output_dir": "fall", "flip_prob": 0.5})
    )
    train(config)
    log = [json.loads(line) for line in (root / "fall" / "train_log.jsonl").read_text().splitlines()]
    assert len(log) == 8
    for loss in ("focal", "box", "semantic", "center", "total"):
        assert log[-1][loss] < log[0][loss], f"{loss}: {log[0][loss]} -> {log[-1][loss]}"


def test_resume_continues_exactly(setup):
    root, base = setup
    straight = load_train_config(
        write_config(root, "straight", **{**base, "epochs": 2, "output_dir": "straight"})
    )
    train(straight)
    first = load_train_config(write_config(root, "first", **{**base, "epochs": 1, "output_dir": "resumed"}))
    train(first)
    second = load_train_config(write_config(root, "second", **{**base, "epochs": 2, "output_dir": "resumed"}))
    train(second, resume=True)
    a, b = weights(root / "straight" / "last.pt"), weights(root / "resumed" / "last.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert read_checkpoint(root / "resumed" / "last.pt")["extra"]["epoch"] == 2


def read_log(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_resume_with_more_epochs_extends_the_run(setup):
    """A 1-epoch run resumed with 3 epochs and a step after epoch 2 is a straight run of that config."""
    root, base = setup
    short = {**base, "epochs": 1, "lr_steps": [100], "output_dir": "extended"}
    train(load_train_config(write_config(root, "short", **short)))
    first_log = read_log(root / "extended" / "train_log.jsonl")
    longer = {**base, "epochs": 3, "lr_steps": [2], "lr_gamma": 0.1}
    train(load_train_config(write_config(root, "longer", **longer, output_dir="extended")), resume=True)
    train(load_train_config(write_config(root, "long", **longer, output_dir="long")))

    log = read_log(root / "extended" / "train_log.jsonl")
    assert log[:1] == first_log and [r["epoch"] for r in log] == [1, 2, 3]
    lr = base["lr"]
    assert [r["lr"] for r in log] == pytest.approx([lr, lr, lr * 0.1])  # the new schedule
    extra = read_checkpoint(root / "extended" / "last.pt")["extra"]
    assert extra["epoch"] == 3 and extra["history"] == log and extra["train_config"]["epochs"] == 3
    a, b = weights(root / "long" / "last.pt"), weights(root / "extended" / "last.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert read_log(root / "long" / "train_log.jsonl") == log


def test_distributed_data_parallel_matches_one_process(setup):
    """Two gloo processes (torchrun) x batch 1 give the weights of one process with batch 2."""
    root, base = setup
    common = {**base, "epochs": 1, "lr": 1e-4}
    single = load_train_config(
        write_config(root, "single", **{**common, "output_dir": "single", "batch_size": 2})
    )
    train(single)
    ddp_config = write_config(root, "ddp", **{**common, "output_dir": "ddp", "total_batch_size": 2})
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            "-m",
            "sspanoptic_ros.train.cli",
            str(ddp_config),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "2 process(es) x batch 1 = effective batch 2" in result.stderr
    for rank in (0, 1):  # the trainer compares all ranks' weights after each epoch
        assert f"rank {rank}: weights identical on all 2 processes" in result.stderr
    a, b = weights(root / "single" / "last.pt"), weights(root / "ddp" / "last.pt")
    assert set(a) == set(b)  # no "module." prefixes
    # Adam normalises each step to about lr, so float reduction-order noise on near-zero gradients
    # can move a few elements by up to ~lr per step; everything else must agree to float precision.
    steps, lr = 2, common["lr"]
    diffs = torch.cat([(a[k] - b[k]).abs().flatten() for k in a if a[k].is_floating_point()])
    assert diffs.max() <= 2 * lr * steps
    assert (diffs <= 1e-6).float().mean() >= 0.99
