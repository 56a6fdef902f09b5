# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Shared test fixtures: a tiny model config, the real COCO sample's location, a ROS context.

Tests marked ``cuda`` are skipped on machines without a CUDA device; test files marked ``ros``
(markers in setup.cfg) also run on Jazzy in ``make test``.

Plain helpers of the ROS tests (messages, the test-side node, output checks) are in ros_helpers.py.
"""

import os
from pathlib import Path

import pytest
import torch

from sspanoptic_ros.categories import Category
from sspanoptic_ros.model import ModelConfig

REPO = Path(__file__).resolve().parents[1]
COCO_SAMPLE = REPO.parent / "shared" / "data" / "coco_panoptic_sample"


def ros_env() -> dict[str, str]:
    """Environment of the ROS tests: this process (``ros_context``) and the node processes they start.

    The ROS domain is this test process's own (``bench.session.isolated_domain_id``).
    """
    from sspanoptic_ros.bench.session import isolated_domain_id, ros_environment  # imports rclpy

    return {
        **ros_environment(isolated_domain_id()),
        "RCUTILS_LOGGING_BUFFERED_STREAM": "0",
        # One torch thread per process: this 2-core machine also runs the test process (and maybe a
        # training job); oversubscribed OpenMP threads make each inference ~40x slower.
        "OMP_NUM_THREADS": "1",
    }

TINY_CATEGORIES = [
    Category(1, "sky", False, (70, 130, 180)),
    Category(2, "grass", False, (0, 160, 0)),
    Category(3, "road", False, (128, 64, 128)),
    Category(11, "disc", True, (220, 20, 60)),
    Category(12, "box", True, (0, 0, 142)),
]


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


# The summary file of this run; taken out of the environment so that the pytest runs the tests
# start themselves (the GPU check's dry run) do not write to it.
SUMMARY_FILE = os.environ.pop("TEST_SUMMARY", "")


def pytest_terminal_summary(terminalreporter):
    """End with "<TEST_LABEL or ROS_DISTRO>: N passed, ..."; ``make test`` collects these lines.

    Also appended to the file ``TEST_SUMMARY`` names, when it is set. Errors count as failures.
    """
    stats = terminalreporter.stats
    passed, skipped = len(stats.get("passed", [])), len(stats.get("skipped", []))
    failed = len(stats.get("failed", [])) + len(stats.get("error", []))
    label = os.environ.get("TEST_LABEL") or os.environ.get("ROS_DISTRO", "tests")
    line = f"{label}: {passed} passed, {failed} failed, {skipped} skipped"
    terminalreporter.write_line(line)
    if SUMMARY_FILE:
        with open(SUMMARY_FILE, "a") as out:
            out.write(line + "\n")


def tiny_config(**overrides) -> ModelConfig:
    """Return a ResNet-18 model config narrow enough to run in milliseconds on 2 CPU cores."""
    args = dict(
        name="tiny",
        categories=TINY_CATEGORIES,
        backbone="resnet18",
        fpn_channels=32,
        branch_channels=16,
        group_norm_groups=8,
        min_size=96,
        max_size=160,
    )
    args.update(overrides)
    return ModelConfig(**args)


@pytest.fixture
def coco_sample() -> Path:
    """Path of the real COCO panoptic sample; skips when the shared data is absent."""
    if not COCO_SAMPLE.is_dir():
        pytest.skip(f"COCO panoptic sample not found at {COCO_SAMPLE}")
    return COCO_SAMPLE


@pytest.fixture(scope="module")
def ros_context():
    """One ROS context per test module, with ``ros_env()`` set and one torch thread."""
    import rclpy  # here, so that the tests without ROS do not need it

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as mp:
        for key, value in ros_env().items():
            mp.setenv(key, value)
        context = rclpy.Context()
        context.init()
        yield context
        context.try_shutdown()
    torch.set_num_threads(threads)


def without_padding_key(onnx_path: Path) -> Path:
    """Make an ONNX file look exported before its input padding was in its metadata (i.e. for 128)."""
    import onnx

    from sspanoptic_ros.formats.onnx_file import PADDING_KEY

    proto = onnx.load(str(onnx_path))
    kept = [(p.key, p.value) for p in proto.metadata_props if p.key != PADDING_KEY]
    del proto.metadata_props[:]
    for key, value in kept:
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(onnx_path))
    return onnx_path


def save_detecting_tiny_model(path: Path) -> Path:
    """Save a tiny model (seed 0) whose random detector finds boxes, and return ``path``.

    A random detector scores every anchor ~0.01 (the focal-loss prior); a zero bias raises
    the scores so that detections, and so thing segments, exist.
    """
    from sspanoptic_ros.model import build_model, save_checkpoint

    torch.manual_seed(0)
    model = build_model(tiny_config())
    torch.nn.init.constant_(model.detector.classification_head.cls_logits.bias, 0.0)
    return save_checkpoint(path, model)


@pytest.fixture(scope="session")
def colcon_install(tmp_path_factory):
    """Build the package with colcon into a temporary workspace, once per test run (colcon_helpers.py).

    Skips, saying how to get them, where the real ROS 2 tools and colcon are not installed.
    """
    from colcon_helpers import build_install, missing_tools

    if reason := missing_tools():
        pytest.skip(reason)
    return build_install(tmp_path_factory.mktemp("colcon_ws"))
