# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The SSPS network: shapes, padding, frozen BN, parameter count, config and checkpoints."""

import math

import pytest
import torch
import torchvision
from conftest import tiny_config
from torch import nn
from torchvision.ops import FrozenBatchNorm2d

from sspanoptic_ros.model import (
    CheckpointError,
    ModelConfig,
    build_model,
    load_checkpoint,
    load_model_config,
    padded_size,
    read_checkpoint,
    release_checkpoint,
    save_checkpoint,
)
from sspanoptic_ros.model.backbone import imagenet_state_dict
from sspanoptic_ros.paths import default_model_path


@pytest.fixture(scope="module")
def tiny_model():
    torch.manual_seed(0)
    return build_model(tiny_config()).eval()


@pytest.mark.parametrize("size", [(128, 128), (96, 160), (100, 130), (61, 257)])
def test_output_shapes_for_any_input_size(tiny_model, size):
    h, w = size
    with torch.no_grad():
        out = tiny_model(torch.randn(2, 3, h, w))
    config = tiny_model.config
    dense = (2, math.ceil(h / 4), math.ceil(w / 4))
    assert out.semantic.shape == (dense[0], config.num_classes, *dense[1:])
    assert out.centers.shape == (dense[0], 2, *dense[1:])
    ph, pw = padded_size(h, w)
    assert ph % 32 == 0 and pw % 32 == 0 and 0 <= ph - h < 32 and 0 <= pw - w < 32
    anchors, per_level = tiny_model.anchors(ph, pw)
    # p6 and p7 have ceil(p5 / 2) and ceil(p6 / 2) cells, as their stride-2 convolutions give.
    expected = [math.ceil(ph / s) * math.ceil(pw / s) * 9 for s in (8, 16, 32, 64, 128)]
    assert per_level == expected
    assert out.cls_logits.shape == (2, sum(expected), config.num_thing_classes)
    assert out.box_deltas.shape == (2, sum(expected), 4)
    assert anchors.shape == (sum(expected), 4)


def test_inputs_are_padded_to_the_stride_of_p5_only():
    """The paper's 576 x 864 needs no padding; a VGA camera's 576 x 768 neither; odd sizes go to 32."""
    assert padded_size(576, 864) == (576, 864)
    assert padded_size(576, 768) == (576, 768)
    assert padded_size(100, 130) == (128, 160)
    assert padded_size(100, 130, 128) == (128, 256)  # model files made for 128


def test_padding_inside_matches_padding_outside(tiny_model):
    """An odd-sized image gives the same outputs as the same image padded by hand, cropped back."""
    image = torch.randn(1, 3, 100, 130)
    padded = torch.nn.functional.pad(image, (0, 160 - 130, 0, 128 - 100))
    with torch.no_grad():
        a, b = tiny_model(image), tiny_model(padded)
    torch.testing.assert_close(a.semantic, b.semantic[..., :25, :33])
    torch.testing.assert_close(a.centers, b.centers[..., :25, :33])
    torch.testing.assert_close(a.cls_logits, b.cls_logits)
    torch.testing.assert_close(a.box_deltas, b.box_deltas)


def test_anchors_match_torchvision_generator(tiny_model):
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.image_list import ImageList

    config = tiny_model.config
    sizes = tuple(tuple(s * k for k in config.anchor_scales) for s in config.anchor_sizes)
    generator = AnchorGenerator(sizes, (config.anchor_ratios,) * 5)
    features = [torch.zeros(1, 1, 256 // s, 384 // s) for s in (8, 16, 32, 64, 128)]
    expected = generator(ImageList(torch.zeros(1, 3, 256, 384), [(256, 384)]), features)[0]
    anchors, _ = tiny_model.anchors(256, 384)
    torch.testing.assert_close(anchors, expected)
    assert tiny_model.anchors(256, 384)[0] is anchors  # cached


def test_encoder_batchnorm_is_frozen():
    model = build_model(tiny_config())
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    frozen = [m for m in model.backbone.body.modules() if isinstance(m, FrozenBatchNorm2d)]
    assert len(frozen) == 20  # ResNet-18: stem + 2 per basic block x 8 + 3 downsample
    before = {k: v.clone() for k, v in model.state_dict().items() if "running" in k or "bn" in k}
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    out = model(torch.randn(2, 3, 128, 128))
    (out.semantic.mean() + out.cls_logits.mean() + out.box_deltas.mean() + out.centers.mean()).backward()
    optimizer.step()
    after = model.state_dict()
    # Frozen BN keeps its statistics as buffers, which neither training nor the optimiser touch.
    assert all(torch.equal(v, after[k]) for k, v in before.items())
    assert not [n for m in frozen for n, _ in m.named_parameters()]


def test_paper_model_parameter_count():
    """ResNet-50 RetinaNet + the p2 FPN level + semantic and centre branches, exactly."""
    config = load_model_config("resnet50_fpn_coco")
    config.pretrained_backbone = None
    assert (config.num_classes, config.num_thing_classes) == (133, 80)
    ours = build_model(config)
    retinanet = torchvision.models.detection.retinanet_resnet50_fpn(
        weights=None, weights_backbone=None, num_classes=80
    )

    def count(module):
        return sum(p.numel() for p in module.parameters())

    fpn = ours.backbone.fpn
    p2_level = count(fpn.inner_blocks[0]) + count(fpn.layer_blocks[0])
    branches = count(ours.semantic_branch) + count(ours.center_branch)
    # Without ImageNet weights torchvision trains the encoder's BN; ours is frozen (no parameters).
    retinanet_bn = sum(count(m) for m in retinanet.modules() if isinstance(m, nn.BatchNorm2d))
    assert count(ours) - branches - p2_level == count(retinanet) - retinanet_bn
    assert 33e6 < count(ours) - branches < 35e6
    assert 1e6 < branches < 4e6  # the branches are light


def test_config_round_trip_and_errors(tmp_path):
    config = tiny_config(use_centers=False)
    assert ModelConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown model config keys"):
        ModelConfig.from_dict({**config.to_dict(), "typo_key": 1})
    with pytest.raises(ValueError, match="backbone must be one of"):
        tiny_config(backbone="vgg16")
    with pytest.raises(FileNotFoundError, match="shipped configs"):
        load_model_config("no_such_model")


def group_counts(module: nn.Module) -> set[int]:
    return {m.num_groups for m in module.modules() if isinstance(m, nn.GroupNorm)}


def test_encoder_group_norm_groups_are_configurable(tmp_path):
    config = tiny_config(encoder_norm="group_norm", encoder_group_norm_groups=16)
    model = build_model(config)
    assert group_counts(model.backbone.body) == {16}
    assert group_counts(model.semantic_branch) == {8}  # group_norm_groups, for the branches only
    assert group_counts(build_model(tiny_config(encoder_norm="group_norm")).backbone.body) == {32}
    loaded, _ = load_checkpoint(save_checkpoint(tmp_path / "m.pt", model))
    assert loaded.config == config and group_counts(loaded.backbone.body) == {16}
    older = config.to_dict()
    del older["encoder_group_norm_groups"]  # configs and checkpoints from before the field
    assert ModelConfig.from_dict(older).encoder_group_norm_groups == 32
    for groups in (0, 48, 128):
        with pytest.raises(ValueError, match="encoder_group_norm_groups must divide 64"):
            tiny_config(encoder_norm="group_norm", encoder_group_norm_groups=groups)


def test_demo_checkpoint_keeps_its_32_encoder_groups():
    """The demo model was trained with 32 encoder groups and 16 branch groups; its config lacks the key."""
    assert "encoder_group_norm_groups" not in read_checkpoint(default_model_path())["config"]
    model, _ = load_checkpoint(default_model_path())
    assert group_counts(model.backbone.body) == {32}
    assert group_counts(model.semantic_branch) == group_counts(model.center_branch) == {16}
    assert load_model_config("demo_synthetic") == model.config


def test_checkpoint_round_trip(tmp_path):
    torch.manual_seed(1)
    model = build_model(tiny_config()).eval()
    path = save_checkpoint(tmp_path / "m.pt", model, extra={"epoch": 3})
    loaded, extra = load_checkpoint(path)
    assert extra == {"epoch": 3}
    assert loaded.config == model.config
    image = torch.randn(1, 3, 96, 160)
    with torch.no_grad():
        for a, b in zip(model(image), loaded(image)):
            assert torch.equal(a, b)


def test_release_checkpoint_is_fp16_without_optimizer_state(tmp_path):
    torch.manual_seed(2)
    model = build_model(tiny_config()).eval()
    path = save_checkpoint(tmp_path / "train.pt", model, extra={"epoch": 5, "optimizer": {"state": {}}})
    released = release_checkpoint(path, tmp_path / "release.pt")
    payload = torch.load(released, weights_only=True)
    assert payload["extra"] == {"epoch": 5}
    assert all(v.dtype == torch.float16 for v in payload["model"].values() if v.is_floating_point())
    assert released.stat().st_size < 0.6 * path.stat().st_size
    loaded, _ = load_checkpoint(released)
    image = torch.randn(1, 3, 96, 160)
    with torch.no_grad():
        a, b = model(image).semantic, loaded(image).semantic
    assert next(loaded.parameters()).dtype == torch.float32
    torch.testing.assert_close(b, a, rtol=1e-2, atol=1e-2 * a.abs().max().item())


def test_bad_checkpoints_are_refused_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "missing.pt")
    path = save_checkpoint(tmp_path / "m.pt", build_model(tiny_config()))
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_checkpoint(truncated)
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {}}, foreign)
    with pytest.raises(CheckpointError, match="not an sspanoptic_ros checkpoint"):
        load_checkpoint(foreign)
    payload = torch.load(path, weights_only=True)
    torch.save({**payload, "config": None}, tmp_path / "noconfig.pt")
    with pytest.raises(CheckpointError, match="lacks its 'config'"):
        load_checkpoint(tmp_path / "noconfig.pt")
    torch.save({**payload, "config": {**payload["config"], "backbone": 3}}, tmp_path / "badconfig.pt")
    with pytest.raises(CheckpointError, match="config stored in it is invalid"):
        load_checkpoint(tmp_path / "badconfig.pt")
    payload["config"]["fpn_channels"] = 64
    torch.save(payload, tmp_path / "mismatch.pt")
    with pytest.raises(CheckpointError, match="do not match the config"):
        load_checkpoint(tmp_path / "mismatch.pt")


def test_imagenet_weights_are_never_downloaded_implicitly(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="not in torchvision's cache.*--download-weights"):
        imagenet_state_dict("resnet18", "torchvision")
    state = torchvision.models.resnet18().state_dict()
    torch.save(state, tmp_path / "r18.pt")
    model = build_model(tiny_config(pretrained_backbone=str(tmp_path / "r18.pt")))
    assert torch.equal(model.backbone.body.conv1.weight, state["conv1.weight"])
