"""Frames -> multi-scale pretrained feature maps (the model's input when
``features.backbone=mobilenet_v2``).

PatchCore-style (Roth et al., CVPR 2022): the outputs of mid-level blocks are each 3x3
average-pooled (local context), the deeper ones bilinearly upsampled to the first one's grid,
and concatenated. A 224 x 224 frame with layers ``(6, 13)`` gives a ``(128, 28, 28)`` map.
"""

from __future__ import annotations

import copy
import itertools
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from anomaly_diffusion.config import FeatureConfig
from anomaly_diffusion.errors import ConfigError
from anomaly_diffusion.features.backbone.mobilenet_v2 import MobileNetV2Features, block_stride
from anomaly_diffusion.features.backbone.weights import read_state_dict, resolve_weights
from anomaly_diffusion.heap import HeapTrimmer
from anomaly_diffusion.precision import resolved_precision

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
__all__ = ["FeatureExtractor", "extractor_for", "fuse_batch_norms"]


def fuse_batch_norms(net: nn.Module) -> nn.Module:
    """A copy of ``net`` (in eval mode) with every ``Conv2d`` directly followed by a
    ``BatchNorm2d`` in an ``nn.Sequential`` folded into one convolution (the BN becomes an
    ``Identity``): the same function up to float rounding (~1e-6 relative), without the
    separate normalization pass that costs about 40 % of MobileNetV2's CPU time."""
    fused = copy.deepcopy(net).eval()
    for module in fused.modules():
        if not isinstance(module, nn.Sequential):
            continue
        children = list(module.named_children())
        for (name, conv), (bn_name, bn) in itertools.pairwise(children):
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                setattr(module, name, fuse_conv_bn_eval(conv, bn))
                setattr(module, bn_name, nn.Identity())
    return fused


class FeatureExtractor(nn.Module):
    """Frozen ImageNet MobileNetV2 turning ``(B, C, H, W)`` frames in [0, 1] (C = 1 gray,
    replicated to RGB, or 3) into ``(B, sum C_l, H / s, W / s)`` feature maps (``s`` = stride
    of the first layer).

    Args:
        layers: Block indices (see :class:`MobileNetV2Features`).
        pool: Side of the average-pooling window applied to each layer (1: none).
        precision: ``float32`` or ``bfloat16`` (the backbone runs as a bfloat16 copy; the
            pooling, upsampling and the output stay float32).
    """

    def __init__(
        self, layers: tuple[int, ...] = (6, 13), *, pool: int = 3, precision: str = "float32"
    ) -> None:
        super().__init__()
        if pool < 1 or pool % 2 == 0:
            raise ConfigError(f"features.backbone_pool={pool} must be an odd number >= 1")
        if precision not in ("float32", "bfloat16"):
            raise ConfigError(
                f"features.backbone_precision={precision!r}: the extractor runs float32 or "
                "bfloat16 (auto is resolved when the model is fitted)"
            )
        self.backbone = MobileNetV2Features(tuple(layers))
        self.pool = pool
        self.precision = precision
        self.register_buffer("rgb_mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("rgb_std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self._fused: nn.Module | None = None  # inference copy, built on first use
        self.eval().requires_grad_(False)

    @property
    def out_channels(self) -> int:
        return sum(self.backbone.channels)

    @property
    def stride(self) -> int:
        """Input pixels per feature-map position."""
        return block_stride(self.backbone.layers[0])

    def load_weights(self, path: str | Path | None = None) -> FeatureExtractor:
        """Load ImageNet weights (see :func:`resolve_weights` for where they are looked up)."""
        file = resolve_weights(None if path is None else str(path))
        return self.load_backbone_state(read_state_dict(file), source=str(file))

    def load_backbone_state(
        self, state: dict[str, torch.Tensor], *, source: str = "state"
    ) -> FeatureExtractor:
        """Load ``features.*`` tensors (torchvision names) for the blocks this extractor has;
        tensors of deeper blocks are ignored.

        Raises:
            ConfigError: a needed tensor is missing or has the wrong shape.
        """
        own = self.backbone.state_dict()
        missing = [k for k in own if k not in state]
        wrong = [k for k in own if k in state and state[k].shape != own[k].shape]
        if missing or wrong:
            raise ConfigError(
                f"{source}: not a MobileNetV2 (width 1.0) checkpoint: missing "
                f"{missing[:3]}, wrong shapes {wrong[:3]}; use torchvision's "
                "mobilenet_v2-b0353104.pth or the file 'make weights' stores"
            )
        self.backbone.load_state_dict({k: state[k] for k in own})
        self._fused = None
        return self

    def _inference_backbone(self) -> nn.Module:
        """The backbone with its batch norms folded into the convolutions (channels-last);
        ``self.backbone`` keeps torchvision's layout for saving."""
        if self._fused is None:
            fused = fuse_batch_norms(self.backbone).to(memory_format=torch.channels_last)
            if self.precision == "bfloat16":
                fused = fused.to(torch.bfloat16)
            # a plain attribute, not a submodule: the extractor's state stays the backbone's
            object.__setattr__(self, "_fused", fused.requires_grad_(False))
        return self._fused

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        if frames.shape[1] == 1:
            frames = frames.expand(-1, 3, -1, -1)
        x = ((frames - self.rgb_mean) / self.rgb_std).contiguous(memory_format=torch.channels_last)
        if self.precision == "bfloat16":
            x = x.to(torch.bfloat16)
        maps = [m.float() for m in self._inference_backbone()(x)]
        size = maps[0].shape[-2:]
        out = []
        for m in maps:
            if self.pool > 1:
                m = F.avg_pool2d(m, self.pool, stride=1, padding=self.pool // 2)
            if m.shape[-2:] != size:
                m = F.interpolate(m, size=size, mode="bilinear", align_corners=False)
            out.append(m)
        return torch.cat(out, dim=1)

    @torch.inference_mode()
    def encode(self, frames: np.ndarray | list[np.ndarray], *, batch_size: int = 32) -> np.ndarray:
        """Feature maps of frames ``(N, C, H, W)`` (or a list of ``(C, H, W)``), float32, in
        batches."""
        if len(frames) == 0:
            return np.zeros((0, self.out_channels, 1, 1), np.float32)
        out = None  # filled in place: no list of batches concatenated into a second copy
        trimmer = HeapTrimmer()
        for start in range(0, len(frames), batch_size):
            batch = torch.from_numpy(np.stack(frames[start : start + batch_size]))
            maps = self(batch.float()).float().numpy()
            if out is None:
                out = np.empty((len(frames), *maps.shape[1:]), dtype=np.float32)
            out[start : start + len(maps)] = maps
            trimmer.done(len(maps))
        return out


def extractor_for(features: FeatureConfig) -> FeatureExtractor | None:
    """The extractor ``features`` asks for, weights loaded (``None`` for ``backbone=none``);
    ``backbone_precision=auto`` is resolved here (see ``extractor.precision``: callers that
    fit a model save the resolved value)."""
    if features.backbone == "none":
        return None
    precision = resolved_precision(features.backbone_precision, field="features.backbone_precision")
    extractor = FeatureExtractor(
        features.backbone_layers, pool=features.backbone_pool, precision=precision
    )
    return extractor.load_weights(features.backbone_weights)
