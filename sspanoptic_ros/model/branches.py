# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The light dense branch of SSPS, used for semantic logits and for centre offsets.

The design is detectron2's ``SemSegFPNHead``: each of p2..p5 goes through as many
(3x3 conv + GroupNorm + ReLU [+ 2x bilinear upsampling]) blocks as it needs to reach 1/4
resolution, the four maps are summed and a 1x1 conv predicts the outputs at 1/4 resolution.
"""

from __future__ import annotations

from torch import Tensor, nn
from torch.nn import functional as F

# Number of conv blocks per input level p2, p3, p4, p5 (strides 4, 8, 16, 32 -> 1/4).
_BLOCKS_PER_LEVEL = (1, 1, 2, 3)


class _ConvGNReLU(nn.Sequential):
    def __init__(self, in_channels: int, out_channels: int, groups: int):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
            nn.GroupNorm(groups, out_channels),
            nn.ReLU(inplace=True),
        )


class DenseBranch(nn.Module):
    """p2..p5 -> per-pixel predictions at 1/4 resolution (``out_channels`` maps)."""

    def __init__(self, in_channels: int, channels: int, out_channels: int, groups: int = 32):
        super().__init__()
        self.scale_heads = nn.ModuleList()
        for num_blocks in _BLOCKS_PER_LEVEL:
            blocks = [
                _ConvGNReLU(in_channels if i == 0 else channels, channels, groups) for i in range(num_blocks)
            ]
            self.scale_heads.append(nn.ModuleList(blocks))
        self.predictor = nn.Conv2d(channels, out_channels, 1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, features: list[Tensor]) -> Tensor:
        """Map [p2, p3, p4, p5] to (B, out_channels, H/4, W/4)."""
        out = None
        for level, (x, blocks) in enumerate(zip(features, self.scale_heads)):
            for block in blocks:
                x = block(x)
                if level:  # every block of p3..p5 doubles the resolution
                    x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
            out = x if out is None else out + x
        return self.predictor(out)
