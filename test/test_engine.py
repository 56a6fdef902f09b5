# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The engine API: backends agree, auto choice, artifacts carry metadata, bad inputs refused."""

from dataclasses import replace

import cv2
import numpy as np
import pytest
import torch
from conftest import tiny_config, without_padding_key

from sspanoptic_ros.data.synthetic import render_scene
from sspanoptic_ros.engine import ImageError, choose_backend, create_engine
from sspanoptic_ros.engine.tensorrt_backend import tensorrt_available
from sspanoptic_ros.formats.onnx_file import export_onnx, read_onnx_metadata
from sspanoptic_ros.formats.tensorrt_plan import BuildKey, plan_is_current, read_sidecar, write_sidecar
from sspanoptic_ros.head import PanopticParams
from sspanoptic_ros.model import build_model, save_checkpoint
from sspanoptic_ros.paths import default_model_path


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    model = build_model(tiny_config())
    # A random detector scores every anchor ~0.01; raise the prior so detections exist.
    torch.nn.init.constant_(model.detector.classification_head.cls_logits.bias, 0.0)
    return save_checkpoint(tmp_path_factory.mktemp("model") / "tiny.pt", model)


@pytest.fixture(scope="module")
def engines(checkpoint, tmp_path_factory):
    import os

    os.environ["SSPANOPTIC_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    return create_engine(checkpoint, "torch"), create_engine(checkpoint, "onnxruntime")


@pytest.fixture(scope="module")
def demo_engines(engines):
    """Build the bundled demo model on torch and on ONNX Runtime (exported into the test cache)."""
    return create_engine(default_model_path(), "torch"), create_engine(default_model_path(), "onnxruntime")


def photos(coco_sample):
    """Return the two real COCO photos, two held-out synthetic scenes and a noise image."""
    images = [cv2.imread(str(p))[:, :, ::-1] for p in sorted((coco_sample / "images").glob("*.jpg"))]
    images += [render_scene(seed, 256, 384)[0] for seed in (901, 902)]
    return images + [np.random.default_rng(0).integers(0, 256, (90, 150, 3), dtype=np.uint8)]


def test_onnxruntime_and_torch_agree(demo_engines, coco_sample):
    torch_engine, ort_engine = demo_engines
    for image in photos(coco_sample):
        a, _ = torch_engine.infer_timed(image)
        b, _ = ort_engine.infer_timed(image)
        assert a.category.shape == image.shape[:2]
        agree = (a.panoptic == b.panoptic).float().mean().item()
        assert agree >= 0.999, f"only {agree:.4%} identical panoptic pixels"


def test_raw_logits_agree_within_tolerance(demo_engines, coco_sample):
    torch_engine, ort_engine = demo_engines
    from sspanoptic_ros.engine.preprocess import network_input_size, preprocess

    for image in photos(coco_sample):
        image = torch.from_numpy(image.copy())
        x = preprocess(image, network_input_size(*image.shape[:2], torch_engine.config), torch_engine.config)
        for a, b in zip(torch_engine.backend(x), ort_engine.backend(x)):
            assert (a - b).abs().max().item() <= 1e-3 * a.abs().max().item()


def test_auto_picks_onnxruntime_without_gpu():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert choose_backend("auto", None) == ("onnxruntime", "cpu")
    with pytest.raises(RuntimeError, match="no usable CUDA device"):
        choose_backend("torch", "cuda")
    with pytest.raises(ValueError, match="backend must be one of"):
        choose_backend("openvino", None)


def test_bgr_order_and_tensor_input(engines):
    engine = engines[0]
    rgb = np.random.default_rng(1).integers(0, 256, (64, 96, 3), dtype=np.uint8)
    expected = engine.infer(rgb)
    engine.channel_order = "bgr"
    try:
        assert torch.equal(engine.infer(rgb[:, :, ::-1]).panoptic, expected.panoptic)
    finally:
        engine.channel_order = "rgb"
    assert torch.equal(engine.infer(torch.from_numpy(rgb)).panoptic, expected.panoptic)


@pytest.mark.parametrize(
    "image, words",
    [
        (np.zeros((40, 60), np.uint8), "grey image"),
        (np.zeros((40, 60, 4), np.uint8), "alpha channel"),
        (np.zeros((0, 60, 3), np.uint8), "zero size"),
        (np.zeros((40, 60, 3), np.float32), "uint8"),
        (np.zeros((3000, 3000, 3), np.uint8), "exceeds the maximum"),
    ],
)
def test_bad_images_are_refused(engines, image, words):
    engine = engines[0]
    engine.max_pixels = 2000 * 2000
    with pytest.raises(ImageError, match=words):
        engine.infer(image)


def test_parameters_change_and_validate(engines):
    engine = engines[0]
    engine.update(score_threshold=0.9, overlap_policy="smallest_first", nms_threshold=0.3)
    assert (engine.params.score_threshold, engine.params.overlap_policy) == (0.9, "smallest_first")
    assert engine.decode.nms_threshold == 0.3
    with pytest.raises(ValueError):
        engine.update(score_threshold=0.2, nms_threshold=7.0)
    assert engine.params.score_threshold == 0.9  # nothing changed on error
    with pytest.raises(ValueError, match="unknown engine parameters"):
        engine.update(threshold=0.5)
    engine.update(score_threshold=0.4, overlap_policy="closest_center", nms_threshold=0.5)


def test_closest_center_needs_a_centre_branch(tmp_path, caplog):
    """One behaviour everywhere: without a centre branch, closest_center runs highest_confidence."""
    path = save_checkpoint(tmp_path / "nocenter.pt", build_model(tiny_config(use_centers=False)))
    engine = create_engine(path, "torch")
    assert engine.params.overlap_policy == "highest_confidence"
    assert "no centre branch" not in caplog.text  # the model's default: nothing to warn about
    engine.update(overlap_policy="smallest_first")
    engine.update(overlap_policy="closest_center", score_threshold=0.3)
    assert (engine.params.overlap_policy, engine.params.score_threshold) == ("highest_confidence", 0.3)
    assert "no centre branch: overlap_policy closest_center falls back to highest_confidence" in caplog.text
    asked = PanopticParams(overlap_policy="closest_center")
    engine = create_engine(path, "torch", params=asked)
    assert engine.params == replace(asked, overlap_policy="highest_confidence")


def test_bad_model_files_are_refused(tmp_path, checkpoint):
    with pytest.raises(FileNotFoundError, match="model file not found"):
        create_engine(tmp_path / "missing.onnx", "onnxruntime")
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\x00not an onnx model" * 10)
    with pytest.raises(ValueError, match="not a readable ONNX model"):
        create_engine(garbage, "onnxruntime")
    with pytest.raises(ValueError, match="unknown model file type"):
        create_engine(_copy(checkpoint, tmp_path / "model.bin"), "onnxruntime")
    with pytest.raises(ValueError, match="needs a .pt checkpoint"):
        create_engine(export_onnx(build_model(tiny_config()), tmp_path / "m.onnx"), "torch")


def _copy(src, dst):
    dst.write_bytes(src.read_bytes())
    return dst


def test_foreign_onnx_without_metadata_is_refused(tmp_path):
    import onnx

    path = export_onnx(build_model(tiny_config()), tmp_path / "m.onnx")
    proto = onnx.load(str(path))
    del proto.metadata_props[:]
    onnx.save(proto, str(path))
    with pytest.raises(ValueError, match="no sspanoptic_ros metadata"):
        create_engine(path, "onnxruntime")


def test_onnx_carries_the_model_config(tmp_path):
    model = build_model(tiny_config())
    meta = read_onnx_metadata(export_onnx(model, tmp_path / "m.onnx", size=(96, 160)))
    assert meta.config == model.config and len(meta.weights_sha256) == 64
    assert (meta.precision, meta.nms, meta.size_divisibility) == ("fp32", None, 32)


def test_an_onnx_file_made_for_128_is_run_with_its_own_padding(checkpoint, tmp_path, caplog):
    """A static 128 x 256 file without the padding key: images padded to 32 (96 x 160) would not fit."""
    import logging

    from sspanoptic_ros.engine.preprocess import network_input_size, preprocess
    from sspanoptic_ros.model import load_checkpoint

    model, _ = load_checkpoint(checkpoint)
    path = without_padding_key(export_onnx(model, tmp_path / "old.onnx", size=(128, 256)))
    assert read_onnx_metadata(path).size_divisibility == 128
    with caplog.at_level(logging.WARNING):
        engine = create_engine(path, "onnxruntime")
    assert engine.backend.size_divisibility == 128 and "padded to 128" in caplog.text
    image = render_scene(5, 150, 230)[0]
    size = network_input_size(150, 230, model.config)
    x = preprocess(torch.from_numpy(image), size, model.config, divisibility=128)
    assert x.shape[-2:] == (128, 256)
    with torch.inference_mode():
        expected = model.eval()(x)
    ours = engine.backend(x)
    torch.testing.assert_close(ours.semantic, expected.semantic, atol=1e-4, rtol=1e-4)
    assert engine.infer(image).panoptic.shape == (150, 230)


def test_a_cached_onnx_file_made_for_128_is_exported_again(checkpoint, tmp_path, monkeypatch, caplog):
    import logging

    from sspanoptic_ros.engine.loader import _cached_onnx

    monkeypatch.setenv("SSPANOPTIC_CACHE", str(tmp_path))
    path = without_padding_key(_cached_onnx(checkpoint))
    with caplog.at_level(logging.WARNING):
        assert _cached_onnx(checkpoint) == path
    assert "padded to 128: exporting it again for 32" in caplog.text
    assert read_onnx_metadata(path).size_divisibility == 32


def test_tensorrt_plan_metadata_and_cache_decisions(tmp_path):
    """Everything around TensorRT that runs without it: build keys and plan metadata."""
    key = BuildKey(
        "abc", "10.9.0", "NVIDIA H100", "fp16", (1, 3, 640, 640), (1, 3, 640, 896), (1, 3, 640, 896)
    )
    plan = tmp_path / "m.plan"
    assert not plan_is_current(plan, key)
    plan.write_bytes(b"plan")
    with pytest.raises(FileNotFoundError, match="no metadata file"):
        read_sidecar(plan)
    write_sidecar(plan, tiny_config(), key)
    assert read_sidecar(plan) == (tiny_config(), key)
    assert plan_is_current(plan, key)
    newer = BuildKey(*(("abc", "10.10.0") + tuple(vars(key).values())[2:]))
    assert newer.differences(key) == ["tensorrt_version"] and newer.digest() != key.digest()
    assert not plan_is_current(plan, newer)


def test_a_plan_sidecar_without_padding_is_for_128(tmp_path):
    """Sidecars written before the padding was in the build key: read as 128, stale against 32."""
    import json

    old = BuildKey("abc", "10.9.0", "GPU", "fp32", (1, 3, 128, 128), (1, 3, 640, 896), (1, 3, 896, 896))
    plan = tmp_path / "m.plan"
    plan.write_bytes(b"plan")
    write_sidecar(plan, tiny_config(), old)
    sidecar = tmp_path / "m.plan.json"
    data = json.loads(sidecar.read_text())
    del data["build_key"]["size_divisibility"]
    sidecar.write_text(json.dumps(data))
    assert read_sidecar(plan)[1].size_divisibility == 128
    new = replace(old, size_divisibility=32, min_shape=(1, 3, 32, 32), opt_shape=(1, 3, 576, 864))
    assert not plan_is_current(plan, new)
    assert "size_divisibility" in new.differences(read_sidecar(plan)[1])


def test_tensorrt_profile_covers_every_input_the_engine_makes():
    from sspanoptic_ros.engine import network_input_size
    from sspanoptic_ros.formats.tensorrt_plan import profile_for
    from sspanoptic_ros.model import load_model_config, padded_size

    for config in (
        tiny_config(),
        load_model_config("demo_synthetic"),
        load_model_config("resnet50_fpn_coco"),
    ):
        low, _, high = profile_for(config)
        for h, w in [(480, 640), (640, 480), (1080, 1920), (1920, 1080), (100, 3000), (3000, 100), (64, 64)]:
            shape = (1, 3, *padded_size(*network_input_size(h, w, config)))
            assert all(a <= b <= c for a, b, c in zip(low, shape, high)), (config.name, (h, w), shape)
    paper = load_model_config("resnet50_fpn_coco")
    assert profile_for(paper)[1] == (1, 3, 576, 864)
    assert profile_for(paper, 128) == ((1, 3, 128, 128), (1, 3, 640, 896), (1, 3, 896, 896))


def test_tensorrt_backend_needs_tensorrt(checkpoint):
    usable, why = tensorrt_available()
    if usable:
        pytest.skip("TensorRT is installed: covered by test_tensorrt_backend_runs")
    with pytest.raises(RuntimeError, match="tensorrt backend is unavailable"):
        create_engine(checkpoint, "tensorrt")


@pytest.mark.parametrize("precision, nms, agreement", [("fp32", False, 0.999), ("fp16", True, 0.99)])
def test_tensorrt_backend_runs(checkpoint, engines, precision, nms, agreement):
    """Real TensorRT (skipped without it): plain fp32 plans, and fp16 plans with EfficientNMS."""
    usable, why = tensorrt_available()
    if not usable:
        pytest.skip(f"TensorRT unusable here: {why}")
    engine = create_engine(checkpoint, "tensorrt", precision=precision, tensorrt_nms=nms)
    assert engine.backend.build_key.precision == precision and (engine.backend.builtin_nms is not None) == nms
    image = np.random.default_rng(2).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    panoptic = engine.infer(image).panoptic.cpu()
    assert (panoptic == engines[0].infer(image).panoptic).float().mean() > agreement


@pytest.mark.cuda
def test_cuda_graph_replays_match_eager_and_keep_earlier_outputs(checkpoint):
    from torch._dynamo.utils import counters

    from sspanoptic_ros.engine.backends import TorchBackend
    from sspanoptic_ros.model import load_checkpoint

    eager = TorchBackend(load_checkpoint(checkpoint)[0], "cuda")
    graphs = TorchBackend(load_checkpoint(checkpoint)[0], "cuda", cuda_graphs=True)
    counters.clear()
    shapes = [(128, 256)] * 4 + [(256, 128)] * 3  # each size is captured once, then replayed
    inputs = [torch.randn(1, 3, *shape, device="cuda") for shape in shapes]
    outputs = [graphs(x) for x in inputs]  # later replays must not overwrite earlier outputs
    assert counters["inductor"]["cudagraph_skips"] == 0  # the graphs really were captured
    for x, out in zip(inputs, outputs):
        for a, b in zip(out, eager(x)):
            torch.testing.assert_close(a, b, atol=1e-3, rtol=1e-3)


@pytest.mark.cuda
def test_cuda_engine_gives_the_cpu_maps():
    """The demo model on CUDA, from numpy and from CUDA tensors, fp32 and fp16, against the CPU."""
    cpu = create_engine(default_model_path(), "torch", "cpu")
    fp32, fp16 = (create_engine(default_model_path(), "torch", "cuda", p) for p in ("fp32", "fp16"))
    assert fp16.backend.dtype == torch.float16
    for seed in (901, 902):
        image = render_scene(seed, 256, 384)[0]
        expected = cpu.infer(image)
        runs = [(fp32.infer(image), 0.999), (fp32.infer(torch.from_numpy(image).cuda()), 0.999),
                (fp16.infer(image), 0.99)]
        for result, agreement in runs:
            assert result.panoptic.is_cuda
            assert (result.panoptic.cpu() == expected.panoptic).float().mean().item() >= agreement


def test_cuda_graphs_need_cuda(checkpoint):
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present: covered by the replay test")
    with pytest.raises(ValueError, match="CUDA graphs need a CUDA device"):
        create_engine(checkpoint, "torch", device="cpu", cuda_graphs=True)


def _engine_in_a_new_process(cache: str) -> str:
    import os

    os.environ["SSPANOPTIC_CACHE"] = cache
    torch.set_num_threads(1)
    return create_engine(default_model_path(), "onnxruntime").config.name


def test_engines_starting_together_share_one_export(tmp_path):
    """Processes that start at once on an empty cache export once and never see a partial file."""
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(3) as pool:
        names = pool.map(_engine_in_a_new_process, [str(tmp_path)] * 3)
    assert names == ["demo_synthetic"] * 3
    assert [p.suffix for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == [".onnx"]


def test_a_broken_cached_onnx_file_is_exported_again(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("SSPANOPTIC_CACHE", str(tmp_path))
    create_engine(default_model_path(), "onnxruntime")
    (cached,) = tmp_path.glob("*.onnx")
    cached.write_bytes(cached.read_bytes()[:1000])  # e.g. a disk that filled up
    with caplog.at_level("WARNING"):
        engine = create_engine(default_model_path(), "onnxruntime")
    assert "exporting it again" in caplog.text and engine.config.name == "demo_synthetic"


def test_a_model_file_s_own_settings_win_with_a_warning(tmp_path, caplog):
    from sspanoptic_ros.engine import DecodeParams
    from sspanoptic_ros.model import load_checkpoint

    model, _ = load_checkpoint(default_model_path())
    path = export_onnx(model, tmp_path / "demo_nms.onnx", nms=DecodeParams(max_detections=30))
    with caplog.at_level("WARNING"):
        engine = create_engine(path, "onnxruntime", cuda_graphs=True, tensorrt_nms=True,
                               decode=DecodeParams(max_detections=100))
    assert engine.decode == DecodeParams(max_detections=30)
    assert caplog.text.count("WARNING") == 1
    for words in ("cuda_graphs apply to the torch backend only", "built-in EfficientNMS settings"):
        assert words in caplog.text
