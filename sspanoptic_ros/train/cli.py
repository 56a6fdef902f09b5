# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""``sspanoptic-train``: train an SSPS model from a training YAML (also under torchrun)."""

from __future__ import annotations

import argparse
import logging

import yaml

from .config import load_train_config
from .trainer import train


def _override(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"overrides look like key=value, got {text!r}")
    return key, yaml.safe_load(value)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="sspanoptic-train", description=__doc__)
    parser.add_argument("config", help="training YAML (see sspanoptic_ros/configs/train_*.yaml)")
    parser.add_argument("--resume", action="store_true", help="continue from OUTPUT_DIR/last.pt")
    parser.add_argument(
        "--download-weights",
        action="store_true",
        help="download the ImageNet backbone weights if torchvision's cache lacks them",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        type=_override,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config entry (repeatable)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        config = load_train_config(args.config, dict(args.overrides))
        print(train(config, resume=args.resume, download_weights=args.download_weights))
    except (FileNotFoundError, ValueError) as e:
        parser.exit(2, f"sspanoptic-train: error: {e}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
