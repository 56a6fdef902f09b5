# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The engine: camera image in, panoptic result out, whatever backend runs the network."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from ..categories import thing_channels
from ..head.decode import DecodeParams, decode_detections
from ..head.detections import Detections
from ..head.panoptic import panoptic_head
from ..head.params import PanopticParams
from ..head.result import PanopticResult
from ..model import Anchors, ModelConfig
from ..model.config import DENSE_STRIDE, SIZE_DIVISIBILITY
from .backends import DetectedOutputs
from .preprocess import DEFAULT_MAX_PIXELS, ImageUpload, check_image, network_input_size, preprocess
from .settings import effective_params, split_settings

log = logging.getLogger(__name__)


@dataclass
class StageTimes:
    """Wall time of each stage of one ``infer`` call, in seconds."""

    preprocess: float = 0.0
    network: float = 0.0
    decode: float = 0.0
    head: float = 0.0

    @property
    def total(self) -> float:
        """Sum of the stages."""
        return self.preprocess + self.network + self.decode + self.head


class Engine:
    """Runs pre-processing, a network backend, detection decoding and the panoptic head.

    ``infer`` takes an H x W x 3 uint8 image (numpy array, or a torch tensor, possibly already on
    the engine's device) and returns the panoptic result at the image's own resolution.
    """

    def __init__(
        self,
        backend,
        config: ModelConfig,
        params: PanopticParams | None = None,
        decode: DecodeParams | None = None,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        channel_order: str = "rgb",
    ):
        if channel_order not in ("rgb", "bgr"):
            raise ValueError(f"channel_order must be 'rgb' or 'bgr', got {channel_order!r}")
        if backend.size_divisibility != SIZE_DIVISIBILITY:
            log.warning(
                "this %s model file was made for inputs padded to %d: they are padded so; export it "
                "again (sspanoptic-export) for the cheaper padding to %d",
                backend.name, backend.size_divisibility, SIZE_DIVISIBILITY,
            )
        self.backend = backend
        self.config = config
        self.device = backend.device
        self.max_pixels = max_pixels
        self.channel_order = channel_order
        self._upload = ImageUpload(self.device)
        # A network that ends in NMS (EfficientNMS) fixes the decode settings.
        self._builtin_nms: DecodeParams | None = backend.builtin_nms
        decode = decode or self._builtin_nms or DecodeParams()
        if params is None:  # the model's best defaults: no warning about what nobody asked for
            params = effective_params(PanopticParams(), config)[0]
        self.settings = (params, decode)
        self._anchors = Anchors(config)
        self._thing_channels = thing_channels(config.categories)

    @property
    def params(self) -> PanopticParams:
        """Panoptic head parameters (replaced at run time through ``settings``)."""
        return self._settings[0]

    @property
    def decode(self) -> DecodeParams:
        """Detector post-processing parameters (replaced at run time through ``settings``)."""
        return self._settings[1]

    @property
    def settings(self) -> tuple[PanopticParams, DecodeParams]:
        """The (panoptic, decode) parameters as one consistent pair."""
        return self._settings

    @settings.setter
    def settings(self, settings: tuple[PanopticParams, DecodeParams]) -> None:
        """Replace both; the model's ``effective_params`` apply (with a warning when they differ)."""
        params, why = effective_params(settings[0], self.config)
        if why:
            log.warning(why)
        decode, fixed = settings[1], self._builtin_nms
        if fixed and decode != fixed:
            raise ValueError(
                f"this network runs EfficientNMS with {fixed} built in; other decode settings "
                f"({decode}) need a model exported with them, or one without NMS"
            )
        # One assignment: a frame running in another thread sees the old or the new pair, never a mix.
        self._settings = (params, decode)

    def update(self, **changes) -> None:
        """Change panoptic or decode parameters by name (``split_settings``; nothing changes on error).

        Safe to call while another thread runs ``infer``: that frame keeps the settings it began with.
        """
        self.settings = split_settings(changes, *self._settings)

    def infer(self, image: np.ndarray | Tensor) -> PanopticResult:
        """Panoptic segmentation of one image at its own resolution."""
        return self.infer_timed(image, timed=False)[0]

    @torch.inference_mode()
    def infer_timed(
        self, image: np.ndarray | Tensor, timed: bool = True
    ) -> tuple[PanopticResult, StageTimes]:
        """Like ``infer``, also returning per-stage times (synchronising CUDA between stages)."""
        times, clock = StageTimes(), _Clock(self.device, timed)
        params, decode = self._settings  # one consistent snapshot for the whole frame
        network_pass = self.run_network(image, times, clock, decode)
        result = self.merge(network_pass, params)
        times.head = clock.lap()
        return result, times

    @torch.inference_mode()
    def run_network(
        self,
        image: np.ndarray | Tensor,
        times: StageTimes | None = None,
        clock: _Clock | None = None,
        decode: DecodeParams | None = None,
    ) -> NetworkPass:
        """Pre-process, run the network and decode detections, all mapped to the image's pixels."""
        times, clock = times or StageTimes(), clock or _Clock(self.device, False)
        decode = decode or self.decode
        height, width = check_image(image, self.max_pixels)
        size = network_input_size(height, width, self.config)
        x = preprocess(
            self._upload(image, self.channel_order), size, self.config, self.backend.dtype,
            self.backend.size_divisibility,
        )
        times.preprocess = clock.lap()
        raw = self.backend(x)
        times.network = clock.lap()
        sx, sy = width / size[1], height / size[0]
        if isinstance(raw, DetectedOutputs):  # the network ends in NMS (with the backend's settings)
            detections = raw.detections.clipped(*size).scaled(sx, sy)
        else:
            anchors, per_level = self._anchors(x.shape[-2], x.shape[-1], self.device)
            detections = decode_detections(
                raw.cls_logits.float(),
                raw.box_deltas.float(),
                anchors,
                per_level,
                size,
                self._thing_channels,
                decode,
            ).scaled(sx, sy)
        dense_h, dense_w = size[0] // DENSE_STRIDE, size[1] // DENSE_STRIDE
        centers = None
        if raw.centers is not None:
            scale = torch.tensor([sx, sy], device=raw.centers.device).view(1, 2, 1, 1)
            centers = raw.centers[..., :dense_h, :dense_w].float() * scale
        times.decode = clock.lap()
        return NetworkPass(raw.semantic[..., :dense_h, :dense_w], centers, detections, (height, width))

    @torch.inference_mode()
    def merge(self, network_pass: NetworkPass, params: PanopticParams | None = None) -> PanopticResult:
        """Run the panoptic head on a network pass (with ``params``, default the engine's)."""
        return panoptic_head(
            network_pass.semantic,
            network_pass.detections,
            network_pass.centers,
            categories=self.config.categories,
            output_size=network_pass.size,
            params=params or self.params,
        )[0]


@dataclass
class NetworkPass:
    """Network outputs of one image in the image's own pixel frame.

    semantic: (1, C, h, w) logits spanning the image; centers: (1, 2, h, w) offsets in image
    pixels or None; detections: decoded boxes in image pixels; size: the image's (H, W).
    """

    semantic: Tensor
    centers: Tensor | None
    detections: Detections
    size: tuple[int, int]


class _Clock:
    """Lap timer; synchronises CUDA before reading the time when timing is on."""

    def __init__(self, device: torch.device, enabled: bool):
        self.sync = enabled and device.type == "cuda"
        self.enabled = enabled
        self.last = time.perf_counter()

    def lap(self) -> float:
        if not self.enabled:
            return 0.0
        if self.sync:
            torch.cuda.synchronize()
        now = time.perf_counter()
        elapsed, self.last = now - self.last, now
        return elapsed
