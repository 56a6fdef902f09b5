# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The training loop: Adam, step decay, checkpoints with resume, periodic validation PQ.

One code path serves a single process and torch DistributedDataParallel (launched by torchrun):
the data are always split by a DistributedSampler (one replica without torchrun), gradients are
all-reduced by DDP, and rank 0 alone logs, validates and writes checkpoints.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler

from ..data.coco import CocoPanoptic
from ..data.transforms import TrainTransform, collate
from ..model import SSPSNetwork, build_model, load_model_config, read_checkpoint, save_checkpoint
from ..model.config import SIZE_DIVISIBILITY
from .config import TrainConfig
from .loss import LossWeights, ssps_loss

log = logging.getLogger(__name__)
LAST = "last.pt"


def normalize(images: torch.Tensor, image_sizes: list[tuple[int, int]], model: SSPSNetwork) -> torch.Tensor:
    """uint8 (B, 3, H, W) RGB -> float input normalised with the model's mean and std.

    The padding right and below each image becomes 0 (the mean colour), as the engine's
    pre-processing pads at inference.
    """
    mean = torch.tensor(model.config.pixel_mean, device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(model.config.pixel_std, device=images.device).view(1, 3, 1, 1)
    x = (images.float() - mean) / std
    for i, (h, w) in enumerate(image_sizes):
        x[i, :, h:, :] = 0
        x[i, :, :, w:] = 0
    return x


def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)


def _worker_seed(worker_id: int) -> None:
    np.random.seed(torch.initial_seed() % 2**32)


class _Progress:
    """One status line per ``every`` steps: losses, throughput and learning rate."""

    def __init__(self, epoch: int, epochs: int, steps: int, every: int):
        self.epoch, self.epochs, self.steps, self.every = epoch, epochs, steps, every
        self.start, self.images = time.perf_counter(), 0
        self.sums: dict[str, float] = {}

    def update(self, step: int, losses: dict, batch_images: int, lr: float) -> None:
        self.images += batch_images
        for k, v in losses.items():
            self.sums[k] = self.sums.get(k, 0.0) + float(v)
        if (step + 1) % self.every and step + 1 != self.steps:
            return
        means = " ".join(f"{k} {v / (step + 1):.4f}" for k, v in self.sums.items())
        rate = self.images / (time.perf_counter() - self.start)
        bar = "#" * (20 * (step + 1) // self.steps)
        print(
            f"epoch {self.epoch + 1}/{self.epochs} [{bar:<20}] {step + 1}/{self.steps} {means} "
            f"| {rate:.1f} img/s lr {lr:.2e}",
            file=sys.stderr,
            flush=True,
        )

    def means(self, steps: int) -> dict[str, float]:
        return {k: v / steps for k, v in self.sums.items()}


def _dataset(images, json_path, panoptic, categories, transform=None) -> CocoPanoptic:
    return CocoPanoptic(images, json_path, panoptic, categories=categories, transform=transform)


def train(config: TrainConfig, resume: bool = False, download_weights: bool = False) -> Path:
    """Train as ``config`` says and return the path of the last checkpoint.

    ``download_weights`` lets torchvision download the ImageNet backbone weights the model
    config names when they are not in its cache (local rank 0 of each machine downloads, the
    other ranks wait; torchrun ends them all if a download fails).

    With ``resume``, training continues from ``output_dir/last.pt`` (weights, optimiser,
    scheduler, epoch): data order per epoch depends only on (seed, epoch), so a resumed run
    sees the same samples as an uninterrupted one. ``epochs`` and the step schedule are taken
    from ``config``, so a finished run can be extended.
    """
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed and not dist.is_initialized():
        dist.init_process_group("nccl" if config.device.startswith("cuda") else "gloo")
    rank, world = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
    device = torch.device(config.device)
    if device.type == "cuda" and distributed:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    batch_size = config.batch_size
    if config.total_batch_size:
        if config.total_batch_size % world:
            raise ValueError(
                f"total_batch_size {config.total_batch_size} does not split over {world} processes"
            )
        batch_size = config.total_batch_size // world
    _seed_everything(config.seed)
    output = Path(config.output_dir)
    model_config = load_model_config(config.model)
    if download_weights and int(os.environ.get("LOCAL_RANK", "0")) == 0:
        build_model(model_config, download_weights=True)  # fills this machine's torchvision cache
    if distributed:
        dist.barrier()
    model = build_model(model_config).to(device)
    categories = model_config.categories
    transform = TrainTransform(model_config.min_size, model_config.max_size, config.flip_prob)
    train_set = _dataset(config.train_images, config.train_json, config.train_panoptic, categories, transform)
    sampler = DistributedSampler(train_set, num_replicas=world, rank=rank, shuffle=True, seed=config.seed)
    loader = DataLoader(
        train_set,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=config.num_workers,
        collate_fn=lambda b: collate(b, SIZE_DIVISIBILITY),
        worker_init_fn=_worker_seed,
        drop_last=len(train_set) >= batch_size * world,
    )
    optimizer = torch.optim.Adam(
        model.parameters(), lr=config.lr, betas=config.betas, weight_decay=config.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, list(config.lr_steps), config.lr_gamma)
    start_epoch, history = 0, []
    if resume and not (output / LAST).is_file() and rank == 0:
        log.warning("--resume: no %s yet, starting from scratch", output / LAST)
    if not resume and rank == 0:
        (output / "train_log.jsonl").unlink(missing_ok=True)  # a fresh run starts a fresh log
    if resume and (output / LAST).is_file():
        state = read_checkpoint(output / LAST)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["extra"]["optimizer"])
        scheduler.load_state_dict(state["extra"]["scheduler"])
        # The schedule comes from the config, so a run can be resumed with more epochs and later
        # steps; while the steps so far are the same, this equals training with the new config.
        scheduler.milestones = Counter(config.lr_steps)
        scheduler.gamma = config.lr_gamma
        start_epoch, history = state["extra"]["epoch"], state["extra"]["history"]
        if rank == 0:
            log.info("resuming from %s at epoch %d", output / LAST, start_epoch + 1)
    net = torch.nn.parallel.DistributedDataParallel(model) if distributed else model
    weights = LossWeights(**config.loss_weights)
    if rank == 0:
        output.mkdir(parents=True, exist_ok=True)
        log.info(
            "training %s on %d images: %d process(es) x batch %d = effective batch %d, lr %.2e",
            model_config.name,
            len(train_set),
            world,
            batch_size,
            world * batch_size,
            config.lr,
        )
    for epoch in range(start_epoch, config.epochs):
        _seed_everything(config.seed * 1000 + epoch + rank * 7919)
        sampler.set_epoch(epoch)
        net.train()
        progress = _Progress(epoch, config.epochs, len(loader), config.log_every)
        for step, batch in enumerate(loader):
            outputs = net(normalize(batch["images"].to(device), batch["image_sizes"], model))
            losses = ssps_loss(model, outputs, batch, weights)
            optimizer.zero_grad(set_to_none=True)
            losses["total"].backward()
            optimizer.step()
            if rank == 0:
                progress.update(
                    step,
                    {k: v.item() for k, v in losses.items()},
                    len(batch["images"]) * world,
                    scheduler.get_last_lr()[0],
                )
        lr = scheduler.get_last_lr()[0]  # the rate this epoch trained at
        scheduler.step()
        if distributed:
            _check_replicas_in_sync(model)
        if rank == 0:
            record = {"epoch": epoch + 1, "lr": lr, **progress.means(len(loader))}
            if config.has_validation and (epoch + 1) % config.val_every == 0:
                record["val"] = validate(model, config)
                log.info("epoch %d validation PQ %.2f", epoch + 1, record["val"]["All"]["pq"] * 100)
            history.append(record)
            with open(output / "train_log.jsonl", "a") as f:
                f.write(json.dumps(record) + "\n")
            extra = {
                "epoch": epoch + 1,
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "history": history,
                "train_config": config.to_dict(),
            }
            save_checkpoint(output / LAST, model, extra)
        if distributed:
            dist.barrier()
    return output / LAST


def _check_replicas_in_sync(model: SSPSNetwork) -> None:
    """Fail loudly if the processes' weights differ (DDP must keep them identical)."""
    flat = torch.cat([p.detach().flatten().double() for p in model.parameters()])
    checksum = torch.stack([flat.sum(), (flat * flat).sum(), flat.abs().max()]).cpu()
    gathered = [torch.zeros_like(checksum) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, checksum)
    if any(not torch.equal(g, gathered[0]) for g in gathered):
        raise RuntimeError(
            f"model replicas diverged across processes: checksums {[g.tolist() for g in gathered]}"
        )
    log.info("rank %d: weights identical on all %d processes", dist.get_rank(), dist.get_world_size())


def validate(model: SSPSNetwork, config: TrainConfig) -> dict:
    """PQ of ``model`` on the validation set (with the default panoptic parameters)."""
    from ..engine import Engine
    from ..engine.backends import TorchBackend
    from ..evaluation.evaluate import panoptic_quality

    dataset = _dataset(config.val_images, config.val_json, config.val_panoptic, model.config.categories)
    engine = Engine(TorchBackend(model, str(next(model.parameters()).device)), model.config)
    result = panoptic_quality(engine, dataset, config.max_val_images or None)
    model.train()
    return {k: v for k, v in result.items() if k != "per_class"}
