"""A small UNet for spectrograms ``(B, C, F, T)`` and frames ``(B, C, H, W)``, CPU-sized.

Inputs of any size are padded to a multiple of ``2 ** (levels - 1)`` and cropped back, so
non-square inputs (128 mel bins x 64 frames, sensors x time) work. The network knows the
noise schedule only through its timestep input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from anomaly_diffusion.errors import ConfigError


@dataclass(frozen=True)
class UNetConfig:
    """UNet size.

    Attributes:
        in_channels: Input channels; set from the data at fit time.
        out_channels: Output channels (``None``: ``in_channels``); an inpainting model reads
            one more channel (the mask) than it predicts.
        base_channels: Width of the first level.
        channel_mults: Width multiplier per level; ``len`` = number of resolutions.
        num_res_blocks: Residual blocks per level.
        attention: Self-attention at the lowest resolution.
        groups: GroupNorm groups (must divide every level's width).
        cond_vocab_sizes: Operating-condition embeddings, one per categorical condition (size
            includes index 0 = unknown); set from the data at fit time.
        cond_numeric: Numeric condition inputs (standardized values and their known flags, see
            :class:`~anomaly_diffusion.data.conditions.ConditionEncoder`); set at fit time.
    """

    in_channels: int = 1
    base_channels: int = 32
    channel_mults: tuple[int, ...] = (1, 2, 2)
    num_res_blocks: int = 1
    attention: bool = False
    groups: int = 8
    cond_vocab_sizes: tuple[int, ...] = ()
    cond_numeric: int = 0
    out_channels: int | None = None

    def __post_init__(self) -> None:
        widths = [self.base_channels] + [self.base_channels * m for m in self.channel_mults]
        if self.base_channels < 2 or self.base_channels % 2:
            raise ConfigError(
                f"network.base_channels={self.base_channels} must be even and >= 2 "
                "(it is also the timestep-embedding size)"
            )
        if not self.channel_mults or any(w % self.groups for w in widths):
            raise ConfigError(
                f"network.groups={self.groups} must divide every level width {widths}; "
                "change network.base_channels or network.groups"
            )
        if self.num_res_blocks < 1 or self.in_channels < 1:
            raise ConfigError("network.num_res_blocks and network.in_channels must be >= 1")


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of timesteps ``(B,)`` -> ``(B, dim)`` (Vaswani et al. 2017)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10_000.0) * torch.arange(half, device=t.device) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


class ResBlock(nn.Module):
    """GroupNorm-SiLU-conv x2 with the timestep embedding added in between."""

    def __init__(self, c_in: int, c_out: int, t_dim: int, groups: int) -> None:
        super().__init__()
        self.norm1, self.conv1 = (
            nn.GroupNorm(min(groups, c_in), c_in),
            nn.Conv2d(c_in, c_out, 3, padding=1),
        )
        self.t_proj = nn.Linear(t_dim, c_out)
        self.norm2, self.conv2 = nn.GroupNorm(groups, c_out), nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, t_emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.t_proj(t_emb)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return self.skip(x) + h


class Attention(nn.Module):
    """Single-head self-attention over all positions (used at the lowest resolution)."""

    def __init__(self, channels: int, groups: int) -> None:
        super().__init__()
        self.norm, self.qkv = nn.GroupNorm(groups, channels), nn.Conv2d(channels, 3 * channels, 1)
        self.out = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, c, h * w).unbind(1)
        y = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        return x + self.out(y.transpose(1, 2).reshape(b, c, h, w))


Conditions = tuple[torch.Tensor, torch.Tensor]
"""``(categorical (B, n_cat) int64, numeric (B, n_num) float32)`` operating conditions."""


class UNet(nn.Module):
    """Noise-prediction network ``eps_theta(x_t, t[, c])``: ``(B, C, H, W), (B,) -> (B, C, H, W)``.

    Operating conditions ``c`` (optional) are embedded and added to the timestep embedding, so
    every residual block sees them; ``c=None`` (or all-unknown values) is the unconditional model.
    """

    def __init__(self, cfg: UNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        ch, t_dim, g = cfg.base_channels, cfg.base_channels * 4, cfg.groups
        self.t_mlp = nn.Sequential(nn.Linear(ch, t_dim), nn.SiLU(), nn.Linear(t_dim, t_dim))
        self.cond_embed = nn.ModuleList(
            nn.Embedding(n, t_dim, padding_idx=0) for n in cfg.cond_vocab_sizes
        )
        self.cond_numeric = (
            nn.Linear(cfg.cond_numeric, t_dim, bias=False) if cfg.cond_numeric else None
        )
        self.stem = nn.Conv2d(cfg.in_channels, ch, 3, padding=1)
        widths = [ch * m for m in cfg.channel_mults]
        self.down, self.downsample, skips, c = nn.ModuleList(), nn.ModuleList(), [ch], ch
        for level, w in enumerate(widths):
            for _ in range(cfg.num_res_blocks):
                self.down.append(ResBlock(c, w, t_dim, g))
                c = w
                skips.append(c)
            last = level == len(widths) - 1
            self.downsample.append(
                nn.Identity() if last else nn.Conv2d(c, c, 3, stride=2, padding=1)
            )
            if not last:
                skips.append(c)
        self.mid1, self.mid2 = ResBlock(c, c, t_dim, g), ResBlock(c, c, t_dim, g)
        self.mid_attn = Attention(c, g) if cfg.attention else nn.Identity()
        self.up = nn.ModuleList()
        for w in reversed(widths):
            for _ in range(cfg.num_res_blocks + 1):
                self.up.append(ResBlock(c + skips.pop(), w, t_dim, g))
                c = w
        self.out_norm, self.out_conv = (
            nn.GroupNorm(g, c),
            nn.Conv2d(c, cfg.out_channels or cfg.in_channels, 3, padding=1),
        )
        nn.init.zeros_(self.out_conv.weight)
        nn.init.zeros_(self.out_conv.bias)

    def forward(
        self, x: torch.Tensor, t: torch.Tensor, cond: Conditions | None = None
    ) -> torch.Tensor:
        height, width = x.shape[-2:]
        h, hs, t_emb, _ = self._encode(x, t, cond)
        blocks = iter(self.up)
        for level in range(len(self.cfg.channel_mults)):
            for _ in range(self.cfg.num_res_blocks + 1):
                h = next(blocks)(torch.cat([h, hs.pop()], dim=1), t_emb)
            if level < len(self.cfg.channel_mults) - 1:
                h = F.interpolate(h, size=hs[-1].shape[-2:], mode="nearest")
        return self.out_conv(F.silu(self.out_norm(h)))[..., :height, :width]

    def encode(
        self, x: torch.Tensor, t: torch.Tensor, cond: Conditions | None = None
    ) -> list[torch.Tensor]:
        """Multi-scale encoder features: the last activation of every level and of the middle,
        ``[(B, C_l, H_l, W_l), ...]`` from full to lowest resolution (of the padded input)."""
        return self._encode(x, t, cond)[3]

    def _encode(self, x, t, cond):
        x = _pad_to_multiple(x, 2 ** (len(self.cfg.channel_mults) - 1))
        t_emb = timestep_embedding(t.expand(x.shape[0]), self.cfg.base_channels)
        t_emb = self.t_mlp(t_emb.to(x.dtype))
        if cond is not None:
            t_emb = t_emb + self._embed_conditions(*cond)
        h = self.stem(x)
        hs, blocks, levels = [h], iter(self.down), []
        for down in self.downsample:
            for _ in range(self.cfg.num_res_blocks):
                h = next(blocks)(h, t_emb)
                hs.append(h)
            levels.append(h)
            if not isinstance(down, nn.Identity):
                h = down(h)
                hs.append(h)
        h = self.mid2(self.mid_attn(self.mid1(h, t_emb)), t_emb)
        return h, hs, t_emb, [*levels, h]

    def _embed_conditions(self, cat: torch.Tensor, num: torch.Tensor) -> torch.Tensor:
        out = 0
        for j, embed in enumerate(self.cond_embed):
            out = out + embed(cat[:, j])
        if self.cond_numeric is not None:
            out = out + self.cond_numeric(num)
        return out


def _pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    pad_h, pad_w = (-x.shape[-2]) % multiple, (-x.shape[-1]) % multiple
    if not (pad_h or pad_w):
        return x
    mode = "reflect" if min(x.shape[-2:]) > max(pad_h, pad_w) else "replicate"
    return F.pad(x, (0, pad_w, 0, pad_h), mode=mode)
