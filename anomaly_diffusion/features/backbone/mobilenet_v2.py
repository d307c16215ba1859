"""MobileNetV2 (Sandler et al., CVPR 2018) in torchvision's module layout, as a multi-scale
feature extractor.

The module tree (``features.<i>...``) matches ``torchvision.models.mobilenet_v2`` key for key, so
torchvision's ``mobilenet_v2-b0353104.pth`` loads unchanged; torchvision itself is not needed
(the registry's wheel is a CUDA build that does not import with the CPU torch). Only the blocks up
to the deepest requested layer are built: ``features.6`` (32 ch, stride 8) and ``features.13``
(96 ch, stride 16) are the PatchCore-style mid-level layers.
"""

from __future__ import annotations

import torch
from torch import nn

#: (expansion t, output channels c, repeats n, first stride s) of the inverted-residual stages.
STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
          (6, 160, 3, 2), (6, 320, 1, 1))  # fmt: skip
N_BLOCKS = 19  # features.0 (stem) .. features.18 (1x1 to 1280)


def _conv_bn_relu(inp: int, out: int, *, kernel: int = 3, stride: int = 1, groups: int = 1):
    """torchvision's ``Conv2dNormActivation``: keys ``0`` (conv), ``1`` (BN), ``2`` (ReLU6)."""
    return nn.Sequential(
        nn.Conv2d(inp, out, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(out),
        nn.ReLU6(inplace=True),
    )


class InvertedResidual(nn.Module):
    """Expand (1x1) -> depthwise 3x3 -> project (1x1, linear); residual when shapes agree."""

    def __init__(self, inp: int, out: int, *, stride: int, expand: int) -> None:
        super().__init__()
        hidden = inp * expand
        self.use_res_connect = stride == 1 and inp == out
        layers = [] if expand == 1 else [_conv_bn_relu(inp, hidden, kernel=1)]
        layers += [
            _conv_bn_relu(hidden, hidden, stride=stride, groups=hidden),
            nn.Conv2d(hidden, out, 1, bias=False),
            nn.BatchNorm2d(out),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


def block_specs() -> list[tuple[int, int, int, int]]:
    """``(in, out, stride, expand)`` of ``features.1`` .. ``features.17``."""
    specs, channels = [], 32
    for t, c, n, s in STAGES:
        for i in range(n):
            specs.append((channels, c, s if i == 0 else 1, t))
            channels = c
    return specs


def block_channels(index: int) -> int:
    """Output channels of ``features.<index>``."""
    if index == 0:
        return 32
    if index == N_BLOCKS - 1:
        return 1280
    return block_specs()[index - 1][1]


def block_stride(index: int) -> int:
    """Total stride (input pixels per output position) after ``features.<index>``."""
    stride = 2
    for _, _, s, _ in block_specs()[:index]:
        stride *= s
    return stride


class MobileNetV2Features(nn.Module):
    """``features.0`` .. ``features.<last>`` of MobileNetV2, returning chosen blocks' outputs.

    Args:
        layers: Indices of the blocks whose outputs are returned, ascending (e.g. ``(6, 13)``).
    """

    def __init__(self, layers: tuple[int, ...] = (6, 13)) -> None:
        super().__init__()
        if not layers or sorted(set(layers)) != list(layers) or not layers[0] >= 0:
            raise ValueError(f"layers={layers}: give ascending block indices in 0..18")
        if layers[-1] >= N_BLOCKS:
            raise ValueError(f"layers={layers}: MobileNetV2 has blocks 0..{N_BLOCKS - 1}")
        self.layers = tuple(layers)
        blocks: list[nn.Module] = [_conv_bn_relu(3, 32, stride=2)]
        for inp, out, stride, expand in block_specs():
            blocks.append(InvertedResidual(inp, out, stride=stride, expand=expand))
        blocks.append(_conv_bn_relu(320, 1280, kernel=1))
        self.features = nn.Sequential(*blocks[: layers[-1] + 1])

    @property
    def channels(self) -> tuple[int, ...]:
        """Channels of each returned block."""
        return tuple(block_channels(i) for i in self.layers)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """``(B, 3, H, W)`` ImageNet-normalized RGB -> one ``(B, C_l, H / s_l, W / s_l)`` map
        per requested layer (``s_l`` = :func:`block_stride`)."""
        outputs = []
        for i, block in enumerate(self.features):
            x = block(x)
            if i in self.layers:
                outputs.append(x)
        return outputs
