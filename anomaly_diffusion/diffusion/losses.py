"""Training objective: the simple DDPM loss (Ho et al. 2020, eq. 14)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from anomaly_diffusion.diffusion.scheduler import NoiseScheduler
from anomaly_diffusion.diffusion.unet import Conditions


def noised_batch(
    scheduler: NoiseScheduler, x_0: torch.Tensor, *, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(t, noise, x_t)`` of a training batch ``x_0 (B, C, H, W)``: ``t (B,)`` uniform in 1..T,
    then the noise (drawn in that order from ``generator``)."""
    t = torch.randint(1, scheduler.num_train_timesteps + 1, (x_0.shape[0],), generator=generator)
    noise = scheduler.sample_noise(tuple(x_0.shape), generator=generator)
    return t, noise, scheduler.add_noise(x_0, noise, t)


def diffusion_loss(
    model: nn.Module,
    scheduler: NoiseScheduler,
    x_0: torch.Tensor,
    *,
    generator: torch.Generator,
    cond: Conditions | None = None,
) -> torch.Tensor:
    """MSE between the network output and its target (noise or v) at uniform ``t`` in 1..T.

    Args:
        x_0: Clean normalized batch ``(B, C, H, W)``.
        cond: Operating conditions of the batch (``None``: unconditional model).
    """
    t, noise, x_t = noised_batch(scheduler, x_0, generator=generator)
    output = model(x_t, t) if cond is None else model(x_t, t, cond)
    return F.mse_loss(output, scheduler.training_target(x_0, noise, t))
