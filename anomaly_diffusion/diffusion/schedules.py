"""Pure beta schedules: ``betas[i]`` is the noise variance added by forward step ``i + 1``."""

from __future__ import annotations

import math

import torch


def linear_betas(
    num_timesteps: int, *, beta_start: float = 1e-4, beta_end: float = 0.02
) -> torch.Tensor:
    """Linear schedule of Ho et al. 2020 (DDPM), ``(num_timesteps,)`` float64."""
    return torch.linspace(beta_start, beta_end, num_timesteps, dtype=torch.float64)


def cosine_betas(num_timesteps: int, *, s: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    """Cosine schedule of Nichol & Dhariwal 2021 (improved DDPM, eq. 17), ``(num_timesteps,)``."""
    steps = torch.arange(num_timesteps + 1, dtype=torch.float64) / num_timesteps
    f = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
    alphas_cumprod = f / f[0]
    return (1 - alphas_cumprod[1:] / alphas_cumprod[:-1]).clamp(max=max_beta)


def alphas_cumprod_from(betas: torch.Tensor) -> torch.Tensor:
    """``alphas_cumprod[t] = prod_{s<=t} (1 - beta_s)`` with a leading 1 for ``t = 0`` (clean
    data), shape ``(T + 1,)``: timestep ``t`` in ``0..T`` is the number of noising steps taken."""
    return torch.cat([torch.ones(1, dtype=betas.dtype), torch.cumprod(1 - betas, dim=0)])
