# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""ONNX graphs made for TensorRT: EfficientNMS at the end, and fp16 with GroupNorm kept in fp32.

TensorRT cannot run here. These tests check what can be checked without it: the plugin node and
its attributes, the graph before it (run by ONNX Runtime), the plugin's documented semantics
against our torch decoding, and fp16 graphs (which ONNX Runtime runs on the CPU) against fp32.
"""

from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from conftest import REPO, tiny_config

from sspanoptic_ros.data.coco import read_rgb
from sspanoptic_ros.data.synthetic import render_scene
from sspanoptic_ros.engine import Engine
from sspanoptic_ros.engine.backends import OnnxRuntimeBackend, TorchBackend
from sspanoptic_ros.formats.nms_graph import PLUGIN_DOMAIN, PLUGIN_OP, pre_nms_graph
from sspanoptic_ros.formats.onnx_file import export_onnx, read_onnx_metadata
from sspanoptic_ros.head.decode import DecodeParams, decode_boxes, decode_detections
from sspanoptic_ros.head.efficient_nms import NMS_OUTPUT_NAMES, efficient_nms_reference
from sspanoptic_ros.model import Anchors, build_model, load_checkpoint

DEMO = REPO / "models" / "demo_synthetic.pt"
SETTINGS = DecodeParams(candidate_threshold=0.1, nms_threshold=0.6, max_detections=37)


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return build_model(tiny_config(use_centers=True)).eval()


@pytest.fixture(scope="module")
def tiny_nms_onnx(tiny, tmp_path_factory):
    return export_onnx(tiny, tmp_path_factory.mktemp("nms") / "tiny_nms.onnx", nms=SETTINGS)


def _images(coco_sample: Path) -> list[np.ndarray]:
    """Return the real photos, and synthetic scenes at the demo model's size and scaled up (not x1)."""
    photos = [read_rgb(p) for p in sorted((coco_sample / "images").glob("*.jpg"))]
    scenes = [render_scene(seed, 256, 384)[0] for seed in (101, 102)]
    return photos + scenes + [cv2.resize(render_scene(103, 256, 384)[0], (600, 400))]


def test_nms_graph_ends_in_the_plugin_with_our_settings(tiny_nms_onnx):
    proto = onnx.load(str(tiny_nms_onnx))
    plugins = [n for n in proto.graph.node if n.op_type == PLUGIN_OP]
    assert len(plugins) == 1 and plugins[0].domain == PLUGIN_DOMAIN
    attributes = {a.name: onnx.helper.get_attribute_value(a) for a in plugins[0].attribute}
    assert attributes.pop("score_threshold") == pytest.approx(0.1)
    assert attributes.pop("iou_threshold") == pytest.approx(0.6)
    assert attributes == {
        "max_output_boxes": 37, "background_class": -1, "score_activation": 1, "class_agnostic": 0,
        "box_coding": 0, "plugin_version": b"1",
    }
    assert [o.name for o in proto.graph.output] == ["semantic", "centers", *NMS_OUTPUT_NAMES]
    assert list(plugins[0].output) == list(NMS_OUTPUT_NAMES)  # the plugin's outputs are the graph's
    meta = read_onnx_metadata(tiny_nms_onnx)
    assert meta.nms == DecodeParams(0.1, nms_threshold=0.6, max_detections=37)


def test_graph_before_the_plugin_decodes_like_the_engine_at_any_size(tiny, tiny_nms_onnx):
    """Anchors and box decoding in the graph follow the input size (dynamic H/W)."""
    session = ort.InferenceSession(pre_nms_graph(tiny_nms_onnx).SerializeToString())
    names = [o.name for o in session.get_outputs()]
    assert names == ["semantic", "centers", "boxes", "logits"]
    anchors = Anchors(tiny.config)
    for height, width in [(128, 256), (256, 128), (384, 256)]:
        x = torch.randn(1, 3, height, width)
        outputs = dict(zip(names, session.run(None, {"images": x.numpy()})))
        with torch.no_grad():
            raw = tiny(x)
        expected = decode_boxes(raw.box_deltas, anchors(height, width)[0])
        expected[..., 0::2] = expected[..., 0::2].clamp(0, width)
        expected[..., 1::2] = expected[..., 1::2].clamp(0, height)
        torch.testing.assert_close(torch.from_numpy(outputs["boxes"]), expected, atol=1e-3, rtol=1e-4)
        torch.testing.assert_close(torch.from_numpy(outputs["logits"]), raw.cls_logits, atol=1e-4, rtol=1e-4)


def test_plugin_reference_suppresses_at_the_threshold_itself():
    """EfficientNMS drops a box whose IoU with a better one equals the threshold (torchvision keeps it)."""
    boxes = torch.tensor([[[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 20.0]]])
    logits = torch.tensor([[[3.0], [2.0], [1.0]]])
    num, _, scores, _ = efficient_nms_reference(boxes, logits, 0.1, 0.5, 10)  # IoU 1, 1 and 0.5
    assert num.item() == 1 and scores[0, 0] == torch.sigmoid(torch.tensor(3.0))
    num, *_ = efficient_nms_reference(boxes, logits, 0.1, 1.0, 10)  # identical boxes: IoU 1 >= 1
    assert num.item() == 2


def test_plugin_reference_matches_our_decoding():
    """EfficientNMS's documented semantics give decode_detections' detections when neither truncates."""
    g = torch.Generator().manual_seed(0)
    anchors = Anchors(tiny_config())
    anchor_boxes, per_level = anchors(256, 384)
    logits = torch.randn(2, len(anchor_boxes), 2, generator=g) * 2 - 4
    deltas = torch.randn(2, len(anchor_boxes), 4, generator=g) * 0.2
    boxes = decode_boxes(deltas, anchor_boxes)
    boxes[..., 0::2] = boxes[..., 0::2].clamp(0, 384)
    boxes[..., 1::2] = boxes[..., 1::2].clamp(0, 256)
    ours = decode_detections(
        logits, deltas, anchor_boxes, per_level, (256, 384), [3, 4],
        DecodeParams(candidate_threshold=0.3, topk_candidates=10**6, nms_threshold=0.5, max_detections=50),
    )
    num, plugin_boxes, scores, classes = efficient_nms_reference(boxes, logits, 0.3, 0.5, 50)
    assert num.dtype == classes.dtype == torch.int32 and plugin_boxes.shape == (2, 50, 4)
    assert ours.num_valid.tolist() == num[:, 0].tolist() and 0 < num.min() and num.max() == 50
    for b in range(2):
        n = int(num[b])
        torch.testing.assert_close(plugin_boxes[b, :n], ours.boxes[b, :n])
        torch.testing.assert_close(scores[b, :n], ours.scores[b, :n])
        assert (classes[b, :n].long() + 3).tolist() == ours.classes[b, :n].tolist()
        assert not plugin_boxes[b, n:].any() and not scores[b, n:].any()  # padded with zeros


def test_nms_graph_gives_the_panoptic_maps_of_torch(coco_sample, tmp_path):
    """The demo model with EfficientNMS (its graph on ONNX Runtime, the plugin's reference) vs torch."""
    model, _ = load_checkpoint(DEMO)
    path = export_onnx(model, tmp_path / "demo_nms.onnx", nms=DecodeParams(max_detections=50))
    backend = OnnxRuntimeBackend(path)
    assert backend.builtin_nms == DecodeParams(max_detections=50)
    nms_engine = Engine(backend, backend.config)
    torch_engine = Engine(TorchBackend(model), model.config, decode=DecodeParams(max_detections=50))
    things = 0
    for image in _images(coco_sample):
        a, b = nms_engine.infer(image), torch_engine.infer(image)
        assert (a.panoptic == b.panoptic).float().mean() >= 0.999
        assert [s.category_id for s in a.segments] == [s.category_id for s in b.segments]
        things += sum(s.isthing for s in a.segments)
    assert things >= 5  # the detections matter to the maps compared


def test_decode_settings_of_a_graph_with_nms_are_fixed(tiny_nms_onnx):
    backend = OnnxRuntimeBackend(tiny_nms_onnx)
    engine = Engine(backend, backend.config)
    assert engine.decode.nms_threshold == 0.6 and engine.decode.max_detections == 37
    engine.update(score_threshold=0.7)  # the panoptic head's settings still change
    assert engine.params.score_threshold == 0.7
    for change in ({"nms_threshold": 0.4}, {"topk_candidates": 5}):  # the plugin has no per-level top-k
        with pytest.raises(ValueError, match="EfficientNMS .* built in"):
            engine.update(**change)
    with pytest.raises(ValueError, match="EfficientNMS .* built in"):
        Engine(backend, backend.config, decode=DecodeParams(max_detections=100))
    assert engine.decode.nms_threshold == 0.6


def test_fp16_graph_keeps_group_norm_in_fp32_and_agrees_with_fp32(coco_sample, tmp_path):
    model, _ = load_checkpoint(DEMO)
    path = export_onnx(model, tmp_path / "demo_fp16.onnx", precision="fp16")
    proto = onnx.shape_inference.infer_shapes(onnx.load(str(path)))
    types = {v.name: v.type.tensor_type.elem_type for v in [*proto.graph.value_info, *proto.graph.input]}
    norms = [n for n in proto.graph.node if n.op_type in ("InstanceNormalization", "GroupNormalization")]
    convs = [n for n in proto.graph.node if n.op_type == "Conv"]
    assert norms and all(types[n.input[0]] == onnx.TensorProto.FLOAT for n in norms)
    assert convs and all(types[n.input[0]] == onnx.TensorProto.FLOAT16 for n in convs)
    assert types["images"] == onnx.TensorProto.FLOAT
    assert all(o.type.tensor_type.elem_type == onnx.TensorProto.FLOAT for o in proto.graph.output)
    assert read_onnx_metadata(path).precision == "fp16"
    fp16, fp32 = Engine(OnnxRuntimeBackend(path), model.config), Engine(TorchBackend(model), model.config)
    for image in _images(coco_sample):
        assert (fp16.infer(image).panoptic == fp32.infer(image).panoptic).float().mean() >= 0.999


def test_export_cli_checks_nms_and_fp16_graphs_and_refuses_misplaced_options(coco_sample, tmp_path, capsys):
    import re

    from sspanoptic_ros.export.cli import main

    photos = [str(p) for p in sorted((coco_sample / "images").glob("*.jpg"))]
    out = tmp_path / "demo.onnx"
    assert main(["onnx", str(DEMO), str(out), "--nms", "--max-detections", "50", "--check", *photos]) == 0
    printed = capsys.readouterr().out
    assert '"max_detections": 50' in printed and read_onnx_metadata(out).nms.max_detections == 50
    agreement = [float(v) for v in re.findall(r"identical panoptic pixels ([\d.]+)%", printed)]
    assert len(agreement) == 4 and min(agreement) >= 99.9  # 2 photos + 2 synthetic scenes
    for argv, words in (
        (["onnx", str(DEMO), str(out), "--max-detections", "5"], "need --nms"),
        (["tensorrt", str(out), str(tmp_path / "m.plan"), "--precision", "fp16"], "--precision fp16"),
    ):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2 and words in capsys.readouterr().err
