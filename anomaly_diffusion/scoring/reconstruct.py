"""Partial re-projection (AnoDDPM, Wyatt et al. 2022): noise a sample to ``t_start``, denoise it
back with DDIM, and keep what the model could not reproduce."""

from __future__ import annotations

import torch
from torch import nn

from anomaly_diffusion.diffusion.scheduler import NoiseScheduler


@torch.no_grad()
def reproject(
    model: nn.Module,
    scheduler: NoiseScheduler,
    x_0: torch.Tensor,
    *,
    noise: torch.Tensor,
    t_start: int,
    n_steps: int,
) -> torch.Tensor:
    """Re-projection ``x_0 -> x_{t_start} -> x_0_hat`` in ``n_steps`` DDIM steps (eta = 0).

    With ``n_steps=1`` this is the one-step x_0 prediction, whose residual equals the
    noise-prediction error scaled by ``sqrt((1 - abar) / abar)`` (DDIM eq. 9).

    Args:
        x_0: Normalized batch ``(B, C, H, W)``.
        noise: Gaussian noise of the same shape.

    Returns:
        ``x_0_hat`` of the same shape.
    """
    x_t = scheduler.add_noise(x_0, noise, t_start)
    timesteps = scheduler.set_timesteps(n_steps, t_start=t_start)
    for i, t in enumerate(timesteps):
        t_prev = timesteps[i + 1] if i + 1 < len(timesteps) else 0
        model_output = model(x_t, torch.full((x_0.shape[0],), t, dtype=torch.long))
        x_t, _ = scheduler.step(model_output, t, x_t, t_prev=t_prev)
    return x_t


@torch.no_grad()
def residual_maps(
    model: nn.Module,
    scheduler: NoiseScheduler,
    x_0: torch.Tensor,
    *,
    noise: torch.Tensor,
    t_start: int,
    n_steps: int,
) -> torch.Tensor:
    """Squared re-projection residual averaged over channels and noise draws.

    Args:
        x_0: Normalized batch ``(B, C, H, W)``.
        noise: ``(R, B, C, H, W)``: R independent draws (``scoring.n_repeats``).

    Returns:
        ``(B, H, W)`` float32 maps; network evaluations = ``n_repeats * n_steps`` per item.
    """
    total = torch.zeros(x_0.shape[0], *x_0.shape[2:])
    for draw in noise:
        x_hat = reproject(model, scheduler, x_0, noise=draw, t_start=t_start, n_steps=n_steps)
        total += (x_0 - x_hat).pow(2).mean(dim=1)
    return total / noise.shape[0]
