"""A denoiser for pretrained feature maps ``(B, 128, 28, 28)``: per-position capacity plus a
little spatial context, instead of a pixel UNet scaled down.

A feature map's channels already summarize a receptive field of dozens of pixels, so what the
model must learn is mostly *which feature vectors are normal at this position*: a 3x3 input
convolution (local context), a learned position embedding (a tile's border is not its centre),
then residual blocks of 1x1 layers (an MLP applied at every position) with the timestep
injected by FiLM (scale and shift of the normalized activations, Perez et al. 2018). With
``spatial=True`` every block also mixes its 3x3 neighbourhood with a depthwise convolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from anomaly_diffusion.diffusion.unet import timestep_embedding
from anomaly_diffusion.errors import ConfigError


@dataclass(frozen=True)
class DenoiserConfig:
    """Feature-space denoiser size (used when ``features.backbone`` is not ``none``).

    Attributes:
        width: Channels of the hidden activations (the MLP is ``2 * width`` wide inside).
        depth: Residual blocks.
        spatial: Depthwise 3x3 mixing inside every block (else only the input layer sees
            neighbours).
        position: Learned position embedding (normal appearance depends on where in the frame);
            ``False``: translation-equivariant (a surface's normal texture may sit anywhere).
        groups: GroupNorm groups (must divide ``width``).
        in_channels: Feature channels; set from the data at fit time.
        grid: ``[rows, cols]`` of the feature map (the position embedding's size); set at fit.
    """

    width: int = 256
    depth: int = 4
    spatial: bool = False
    position: bool = True
    groups: int = 8
    in_channels: int = 128
    grid: tuple[int, int] = (28, 28)

    def __post_init__(self) -> None:
        if self.width < 8 or self.width % self.groups:
            raise ConfigError(
                f"denoiser.width={self.width} must be >= 8 and a multiple of "
                f"denoiser.groups={self.groups}"
            )
        if self.depth < 1:
            raise ConfigError(f"denoiser.depth={self.depth} must be >= 1")
        if len(self.grid) != 2 or min(self.grid) < 1:
            raise ConfigError(f"denoiser.grid={list(self.grid)} must be [rows, cols] >= 1")


class FiLMBlock(nn.Module):
    """``x + MLP(FiLM(GroupNorm(x), t))`` at every position (optionally after a depthwise 3x3)."""

    def __init__(self, width: int, groups: int, *, spatial: bool) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(groups, width)
        self.film = nn.Linear(width, 2 * width)
        self.mix = nn.Conv2d(width, width, 3, padding=1, groups=width) if spatial else nn.Identity()
        self.expand, self.project = nn.Conv2d(width, 2 * width, 1), nn.Conv2d(2 * width, width, 1)

    def forward(self, x: torch.Tensor, t_emb: torch.Tensor) -> torch.Tensor:
        scale, shift = self.film(t_emb)[:, :, None, None].chunk(2, dim=1)
        h = self.mix(self.norm(x) * (1 + scale) + shift)
        return x + self.project(F.silu(self.expand(h)))


class PositionDenoiser(nn.Module):
    """Noise-prediction network ``eps_theta(x_t, t)`` on feature maps:
    ``(B, C, rows, cols), (B,) -> (B, C, rows, cols)``."""

    def __init__(self, cfg: DenoiserConfig) -> None:
        super().__init__()
        self.cfg = cfg
        w = cfg.width
        self.stem = nn.Conv2d(cfg.in_channels, w, 3, padding=1)
        self.position = nn.Parameter(torch.zeros(1, w, *cfg.grid)) if cfg.position else None
        self.t_mlp = nn.Sequential(nn.Linear(128, w), nn.SiLU(), nn.Linear(w, w))
        self.blocks = nn.ModuleList(
            FiLMBlock(w, cfg.groups, spatial=cfg.spatial) for _ in range(cfg.depth)
        )
        self.out_norm, self.out = nn.GroupNorm(cfg.groups, w), nn.Conv2d(w, cfg.in_channels, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond=None) -> torch.Tensor:
        if cond is not None:
            raise ConfigError(
                "data.conditions with features.backbone: the feature-space denoiser is "
                "unconditional; set data.conditions=[] (or threshold.per=<condition>)"
            )
        if self.position is not None and tuple(x.shape[-2:]) != tuple(self.cfg.grid):
            raise ConfigError(
                f"feature map of {tuple(x.shape[-2:])} positions, the denoiser was trained on "
                f"{tuple(self.cfg.grid)}; keep features.image_size as trained"
            )
        t_emb = self.t_mlp(timestep_embedding(t.expand(x.shape[0]), 128).to(x.dtype))
        h = self.stem(x)
        if self.position is not None:
            h = h + self.position
        for block in self.blocks:
            h = block(h, t_emb)
        return self.out(F.silu(self.out_norm(h)))
