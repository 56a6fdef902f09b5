# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The TensorRT builder and backend code, run against a FAKE ``tensorrt`` module.

TensorRT cannot be installed on this project's machines, so this is the one place where a mock
stands in for a real part. The fake implements only the TensorRT 10/11 Python API calls that
``sspanoptic_ros/formats/tensorrt_plan.py`` and ``engine/tensorrt_backend.py`` make, as documented, and has no
TensorRT 10-only builder flags (like TensorRT 11). Its "plan" records the ONNX file and the
optimisation profile, and deserialises only with the plugin registry initialised when it holds
EfficientNMS. Its execution context runs that ONNX file with ONNX Runtime (and the EfficientNMS
reference for the plugin), reading the input from and writing the outputs to the raw addresses
the backend binds, as TensorRT does. Its timing cache refuses a cache written by another
TensorRT version. CUDA streams and the CUDA device context are replaced by no-ops.

What this checks: our calls and their order (shapes set before output shapes are read, every
output bound before execution, plugins registered before deserialising), output types (int32 NMS
outputs), the plan and timing caches and their rebuild decisions, EfficientNMS plans end to end
through the engine, and the error messages. What it
cannot check: that TensorRT itself parses, builds and runs our graphs (see README).
"""

import contextlib
import ctypes
import enum
import json
import logging
import sys
import types

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from conftest import REPO, without_padding_key

from sspanoptic_ros.engine import Engine, create_engine
from sspanoptic_ros.engine import loader as loader_module
from sspanoptic_ros.engine.backends import OnnxRuntimeBackend
from sspanoptic_ros.engine.tensorrt_backend import TensorRTBackend
from sspanoptic_ros.formats.nms_graph import pre_nms_graph
from sspanoptic_ros.formats.onnx_file import read_onnx_metadata
from sspanoptic_ros.formats.tensorrt_plan import profile_for
from sspanoptic_ros.head.decode import DecodeParams
from sspanoptic_ros.head.efficient_nms import NMS_OUTPUT_NAMES, efficient_nms_reference

DEMO = REPO / "models" / "demo_synthetic.pt"


class _DataType(enum.Enum):
    FLOAT = np.float32
    HALF = np.float16
    INT32 = np.int32
    INT64 = np.int64


class _FakeEngine:
    """Deserialised fake plan: an ONNX file run by ONNX Runtime, within a shape profile."""

    def __init__(self, trt, record: dict):
        self.trt, self.profile = trt, record["profile"]
        self.nms = read_onnx_metadata(record["onnx"]).nms
        graph = pre_nms_graph(record["onnx"]) if self.nms else onnx.load(record["onnx"])
        self.session = ort.InferenceSession(graph.SerializeToString())
        self.outputs = [o.name for o in onnx.load(record["onnx"]).graph.output]
        self.num_io_tensors = 1 + len(self.outputs)

    def get_tensor_name(self, index: int) -> str:
        return (["images"] + self.outputs)[index]

    def get_tensor_mode(self, name: str):
        return self.trt.TensorIOMode.INPUT if name == "images" else self.trt.TensorIOMode.OUTPUT

    def get_tensor_dtype(self, name: str):
        return _DataType.INT32 if name in ("num_detections", "detection_classes") else _DataType.FLOAT

    def create_execution_context(self):
        return _FakeContext(self)

    def run(self, images: np.ndarray) -> dict[str, np.ndarray]:
        names = [o.name for o in self.session.get_outputs()]
        outputs = dict(zip(names, self.session.run(None, {"images": images})))
        if self.nms:
            nms = efficient_nms_reference(
                torch.from_numpy(outputs.pop("boxes")), torch.from_numpy(outputs.pop("logits")),
                self.nms.candidate_threshold, self.nms.nms_threshold, self.nms.max_detections,
            )
            outputs.update({n: t.numpy() for n, t in zip(NMS_OUTPUT_NAMES, nms)})
        return outputs


class _FakeContext:
    def __init__(self, engine: _FakeEngine):
        self.engine, self.shape, self.addresses, self.output_shapes = engine, None, {}, {}
        self.executions = 0

    def set_input_shape(self, name: str, shape) -> bool:
        low, _, high = self.engine.profile
        if name != "images" or not all(a <= b <= c for a, b, c in zip(low, shape, high)):
            return False
        self.shape, self.addresses = tuple(shape), {}
        zeros = np.zeros(self.shape, np.float32)
        self.output_shapes = {n: o.shape for n, o in self.engine.run(zeros).items()}
        return True

    def get_tensor_shape(self, name: str):
        assert self.shape is not None, "output shapes are known only after set_input_shape"
        return self.output_shapes[name]

    def set_tensor_address(self, name: str, address: int) -> None:
        self.addresses[name] = address

    def execute_async_v3(self, stream_handle: int) -> bool:
        assert set(self.addresses) == {"images", *self.engine.outputs}, "every tensor must be bound"
        count = int(np.prod(self.shape))
        images = np.ctypeslib.as_array((ctypes.c_float * count).from_address(self.addresses["images"]))
        for name, value in self.engine.run(images.reshape(self.shape).copy()).items():
            value = np.ascontiguousarray(value.astype(self.engine.get_tensor_dtype(name).value))
            assert value.shape == tuple(self.output_shapes[name])
            ctypes.memmove(self.addresses[name], value.ctypes.data, value.nbytes)
        self.executions += 1
        return True


def _fake_tensorrt(version: str = "11.0.0-fake") -> types.ModuleType:
    """Return a ``tensorrt`` module with just the documented calls our builder and backend make."""
    trt = types.ModuleType("tensorrt")
    trt.__version__ = version
    trt.builds = []
    trt.float32, trt.float16, trt.int32, trt.int64 = _DataType
    trt.TensorIOMode = enum.Enum("TensorIOMode", "INPUT OUTPUT")
    trt.NetworkDefinitionCreationFlag = enum.IntEnum("NetworkDefinitionCreationFlag", {"STRONGLY_TYPED": 1})
    trt.MemoryPoolType = enum.Enum("MemoryPoolType", "WORKSPACE")
    trt.plugins_registered = False
    tag = f"cache of {version}:".encode()

    class Logger:
        WARNING = 2

        def __init__(self, severity):
            self.severity = severity

    def init_libnvinfer_plugins(logger, namespace):
        trt.plugins_registered = True
        return True

    class OnnxParser:
        def __init__(self, network, logger):
            self.network, self.errors = network, []

        def parse_from_file(self, path: str) -> bool:
            proto = onnx.load(path)
            if any(n.op_type == "EfficientNMS_TRT" for n in proto.graph.node) and not trt.plugins_registered:
                self.errors.append("no importer for EfficientNMS_TRT (plugins not registered)")
            self.network.update(onnx=path, inputs=[i.name for i in proto.graph.input])
            return not self.errors

        @property
        def num_errors(self):
            return len(self.errors)

        def get_error(self, index):
            return self.errors[index]

    class Profile(dict):
        def set_shape(self, name, low, opt, high):
            self[name] = (tuple(low), tuple(opt), tuple(high))

    class BuilderConfig:
        def __init__(self):
            self.profiles, self.pools, self.cache = [], {}, None

        def set_memory_pool_limit(self, pool, size):
            self.pools[pool] = size

        def add_optimization_profile(self, profile):
            self.profiles.append(profile)

        def create_timing_cache(self, data: bytes):
            return types.SimpleNamespace(data=data, serialize=lambda: tag + data.removeprefix(tag) + b"t")

        def set_timing_cache(self, cache, ignore_mismatch):
            if cache.data and not cache.data.startswith(tag):  # another TensorRT version or GPU
                return False
            self.cache = cache
            return True

        def get_timing_cache(self):
            return self.cache

    class Builder:
        def __init__(self, logger):
            pass

        def create_network(self, flags):
            return {"flags": flags}

        def create_builder_config(self):
            return BuilderConfig()

        def create_optimization_profile(self):
            return Profile()

        def build_serialized_network(self, network, config):
            assert network["flags"] == 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
            assert len(config.profiles) == 1 and set(config.profiles[0]) == set(network["inputs"])
            assert config.pools[trt.MemoryPoolType.WORKSPACE] > 0
            trt.builds.append(network["onnx"])
            record = {"onnx": network["onnx"], "profile": config.profiles[0]["images"]}
            return json.dumps(record).encode()

    class Runtime:
        def __init__(self, logger):
            pass

        def deserialize_cuda_engine(self, data: bytes):
            try:
                engine = _FakeEngine(trt, json.loads(data))
            except (ValueError, KeyError):
                return None  # what TensorRT returns for a corrupt plan
            return None if engine.nms and not trt.plugins_registered else engine  # plugin not found

    trt.Logger, trt.OnnxParser, trt.Builder, trt.Runtime = Logger, OnnxParser, Builder, Runtime
    trt.init_libnvinfer_plugins = init_libnvinfer_plugins
    return trt


class _NoStream:
    cuda_stream = 0

    def __init__(self, device=None):
        pass

    def wait_stream(self, other):
        pass


@pytest.fixture
def fake_trt(monkeypatch, tmp_path):
    """Install the fake TensorRT, no-op CUDA streams, and a fresh engine cache."""
    trt = _fake_tensorrt()
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    monkeypatch.setattr(torch.cuda, "Stream", _NoStream)
    monkeypatch.setattr(torch.cuda, "current_stream", lambda device=None: _NoStream())
    monkeypatch.setattr(torch.cuda, "device", lambda device: contextlib.nullcontext())
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Fake GPU")
    monkeypatch.setattr(loader_module, "tensorrt_available", lambda: (True, ""))
    monkeypatch.setenv("SSPANOPTIC_CACHE", str(tmp_path / "cache"))
    return trt


def _images():
    from sspanoptic_ros.data.synthetic import render_scene

    return [render_scene(seed, 256, 384)[0] for seed in (101, 102)] + [render_scene(103, 300, 500)[0]]


@pytest.mark.parametrize("nms", [False, True])
def test_tensorrt_engine_from_checkpoint_matches_onnxruntime(fake_trt, nms, caplog):
    engine = create_engine(DEMO, "tensorrt", device="cpu", tensorrt_nms=nms)
    assert isinstance(engine.backend, TensorRTBackend) and fake_trt.builds
    assert (engine.backend.builtin_nms is not None) == nms
    assert engine.backend.build_key.gpu == "Fake GPU" and engine.backend.build_key.precision == "fp32"
    if nms:
        dtypes = {n: engine.backend.outputs[n] for n in ("num_detections", "detection_classes")}
        assert set(dtypes.values()) == {torch.int32}
    onnx_path = fake_trt.builds[-1]
    reference = Engine(OnnxRuntimeBackend(onnx_path), read_onnx_metadata(onnx_path).config)
    things = 0
    for image in _images():
        a, b = engine.infer(image), reference.infer(image)
        assert torch.equal(a.panoptic, b.panoptic)
        assert [(s.id, s.score) for s in a.segments] == [(s.id, s.score) for s in b.segments]
        things += sum(s.isthing for s in a.segments)
    assert things >= 3
    # A second engine reuses the cached plan; a new TensorRT version rebuilds it, saying why.
    create_engine(DEMO, "tensorrt", device="cpu", tensorrt_nms=nms)
    assert len(fake_trt.builds) == 1
    fake_trt.__version__ = "11.1.0-fake"
    with caplog.at_level(logging.WARNING):
        create_engine(DEMO, "tensorrt", device="cpu", tensorrt_nms=nms)
    assert len(fake_trt.builds) == 2 and "stale (tensorrt_version changed)" in caplog.text


def test_nms_plan_fixes_the_decode_settings(fake_trt):
    decode = DecodeParams(nms_threshold=0.45, max_detections=20)
    engine = create_engine(DEMO, "tensorrt", device="cpu", tensorrt_nms=True, decode=decode)
    assert engine.backend.builtin_nms == decode
    engine.infer(_images()[0])
    assert engine.backend.context.get_tensor_shape("detection_boxes") == (1, 20, 4)
    with pytest.raises(ValueError, match="built in"):
        engine.update(max_detections=30)
    # The same checkpoint without NMS in the plan, or with other settings, gets its own plan.
    create_engine(DEMO, "tensorrt", device="cpu", decode=decode)
    create_engine(DEMO, "tensorrt", device="cpu", tensorrt_nms=True)
    assert len(set(fake_trt.builds)) == 3


def test_plans_keep_the_padding_of_their_onnx_file(fake_trt, tmp_path, caplog):
    """An ONNX file made for 128 gives a plan for 128-padded inputs.

    A cached plan whose metadata predates the padding field is rebuilt, saying why.
    """
    from sspanoptic_ros.formats.onnx_file import export_onnx
    from sspanoptic_ros.model import load_checkpoint

    old = without_padding_key(export_onnx(load_checkpoint(DEMO)[0], tmp_path / "old.onnx"))
    engine = create_engine(old, "tensorrt", device="cpu")
    key = engine.backend.build_key
    assert (key.size_divisibility, key.min_shape, key.opt_shape) == (128, (1, 3, 128, 128), (1, 3, 256, 384))
    reference = Engine(OnnxRuntimeBackend(old), engine.config)
    image = _images()[0][:200]  # 200 x 384, padded to 256 x 384 (to 32: 224 x 384)
    assert torch.equal(engine.infer(image).panoptic, reference.infer(image).panoptic)
    assert engine.backend.context.shape == (1, 3, 256, 384)

    create_engine(DEMO, "tensorrt", device="cpu")
    sidecar = next((tmp_path / "cache").glob("*.plan.json"))
    data = json.loads(sidecar.read_text())
    assert data["build_key"].pop("size_divisibility") == 32
    sidecar.write_text(json.dumps(data))
    with caplog.at_level(logging.WARNING):
        create_engine(DEMO, "tensorrt", device="cpu")
    assert len(fake_trt.builds) == 3 and "size_divisibility" in caplog.text


def test_tensorrt_backend_refuses_bad_plans_and_shapes(fake_trt, tmp_path):
    engine = create_engine(DEMO, "tensorrt", device="cpu")
    plan = next((tmp_path / "cache").glob("*.plan"))
    low, _, high = profile_for(engine.config)
    with pytest.raises(ValueError, match="outside the plan's optimisation profile"):
        engine.backend(torch.zeros(1, 3, high[2] + 128, high[3]))
    corrupt = tmp_path / "corrupt.plan"
    corrupt.write_bytes(b"\x00garbage")
    (tmp_path / "corrupt.plan.json").write_bytes((plan.parent / (plan.name + ".json")).read_bytes())
    with pytest.raises(ValueError, match="cannot deserialise"):
        TensorRTBackend(corrupt, "cpu")
    with pytest.raises(FileNotFoundError, match="has no metadata file"):
        (tmp_path / "bare.plan").write_bytes(plan.read_bytes())
        TensorRTBackend(tmp_path / "bare.plan", "cpu")


def test_builder_registers_plugins_before_parsing_nms_graphs(fake_trt, monkeypatch):
    monkeypatch.setattr(fake_trt, "init_libnvinfer_plugins", lambda logger, namespace: True)
    with pytest.raises(ValueError, match="cannot parse .*EfficientNMS_TRT"):
        create_engine(DEMO, "tensorrt", device="cpu", tensorrt_nms=True)


def test_a_fresh_process_loads_a_cached_nms_plan(fake_trt, monkeypatch):
    """The runtime registers TensorRT's plugins itself: the builder may have run in another process."""
    create_engine(DEMO, "tensorrt", device="cpu", tensorrt_nms=True)
    fresh = _fake_tensorrt(fake_trt.__version__)
    monkeypatch.setitem(sys.modules, "tensorrt", fresh)
    engine = create_engine(DEMO, "tensorrt", device="cpu", tensorrt_nms=True)
    assert not fresh.builds and engine.backend.builtin_nms is not None


def test_timing_cache_of_another_tensorrt_is_replaced(fake_trt, tmp_path, caplog):
    cache = tmp_path / "cache" / "timing-11.0.0_fake_Fake_GPU.cache"
    cache.parent.mkdir()
    cache.write_bytes(b"cache of 10.3.0:old")
    with caplog.at_level(logging.WARNING):
        create_engine(DEMO, "tensorrt", device="cpu")
    assert "is not for this TensorRT and GPU" in caplog.text
    assert cache.read_bytes().startswith(b"cache of 11.0.0-fake:")
    assert [p.name for p in cache.parent.glob("*.tmp")] == []  # written through temporary files


def test_nms_plans_refuse_thresholds_the_plugin_mishandles(fake_trt):
    with pytest.raises(ValueError, match="candidate threshold >= 0.007"):
        create_engine(DEMO, "tensorrt", device="cpu", tensorrt_nms=True, decode=DecodeParams(0.001))
