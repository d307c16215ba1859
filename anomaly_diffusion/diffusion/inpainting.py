"""Inpainting diffusion for (sensors x time) windows: the denoiser fills a masked part of a
window from the rest (imputation diffusion, as in ImDiffusion, Chen et al., VLDB 2024).

The network is the plain UNet with one extra input channel: it reads
``[mask * x_t + (1 - mask) * x_0, mask]`` (the masked cells noised to ``t``, the others clean,
and the mask) and predicts the scheduler's target (noise or v) of the masked cells. A window
whose sensors no longer agree with each other, or whose stretch no longer follows from the
stretches around it, is one the model cannot fill: the nonlinear counterpart of PCA's Q
statistic (sensor groups) and of a one-step-ahead forecast error (time blocks).

Masks are ``(B, 1, H, W)`` float tensors, 1 = masked (to fill), 0 = context (given clean);
rows are sensors, columns time steps.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from anomaly_diffusion.diffusion.losses import noised_batch
from anomaly_diffusion.diffusion.scheduler import NoiseScheduler
from anomaly_diffusion.diffusion.unet import Conditions

FULL_MASK_SHARE = 0.1
"""Share of training items masked entirely (plain denoising, no context): keeps the model a
valid re-projection model too."""

MASKED_SHARE = (0.1, 0.5)
"""Range of the share of sensors (rows) or time steps (columns) one training mask covers."""


def masked_input(x_t: torch.Tensor, x_0: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The inpainting network's input ``(B, C + 1, H, W)``: masked cells from ``x_t``, the
    others from ``x_0``, and the mask as the last channel."""
    return torch.cat([mask * x_t + (1 - mask) * x_0, mask.expand_as(x_0[:, :1])], dim=1)


def training_masks(b: int, h: int, w: int, *, generator: torch.Generator) -> torch.Tensor:
    """Random masks ``(B, 1, H, W)``: per item, with probability :data:`FULL_MASK_SHARE` every
    cell; else, with equal odds, a random subset of the rows (each masked with a probability
    drawn from :data:`MASKED_SHARE`) or one contiguous block of columns (its length a share
    drawn from :data:`MASKED_SHARE`). Every mask leaves some context unless it is full."""
    masks = torch.zeros(b, 1, h, w)
    kind = torch.rand(b, generator=generator)
    share = MASKED_SHARE[0] + (MASKED_SHARE[1] - MASKED_SHARE[0]) * torch.rand(
        b, generator=generator
    )
    for i in range(b):
        if kind[i] < FULL_MASK_SHARE:
            masks[i] = 1
        elif kind[i] < (1 + FULL_MASK_SHARE) / 2 and h > 1:
            rows = torch.rand(h, generator=generator) < share[i]
            if not rows.any() or rows.all():
                rows = torch.zeros(h, dtype=torch.bool)
                rows[int(torch.randint(h, (1,), generator=generator))] = True
            masks[i, 0, rows] = 1
        else:
            length = max(1, min(w - 1, round(float(share[i]) * w))) if w > 1 else 1
            start = int(torch.randint(w - length + 1, (1,), generator=generator))
            masks[i, 0, :, start : start + length] = 1
    return masks


def scoring_masks(h: int, w: int, *, groups: int, kinds: tuple[str, ...]) -> torch.Tensor:
    """Fixed masks ``(M, 1, H, W)`` that each partition the window: for ``sensors``, ``groups``
    interleaved sensor groups (row ``r`` in group ``r % groups``, so neighbouring columns of a
    table, often related sensors, inform each other); for ``time``, ``groups`` contiguous blocks
    of time steps. Every cell is masked once per kind; groups beyond ``H`` rows or ``W``
    columns are dropped."""
    masks = []
    if "sensors" in kinds:
        for g in range(min(groups, h)):
            m = torch.zeros(1, h, w)
            m[:, g::groups] = 1
            masks.append(m)
    if "time" in kinds:
        for cols in torch.arange(w).tensor_split(min(groups, w)):
            m = torch.zeros(1, h, w)
            m[..., cols] = 1
            masks.append(m)
    return torch.stack(masks)


def inpainting_loss(
    model: nn.Module,
    scheduler: NoiseScheduler,
    x_0: torch.Tensor,
    *,
    generator: torch.Generator,
    cond: Conditions | None = None,
) -> torch.Tensor:
    """MSE between the network output and its target over the masked cells of
    :func:`training_masks`, at uniform ``t`` in 1..T (the DDPM loss restricted to the hole).

    Args:
        x_0: Clean normalized batch ``(B, C, H, W)``.
    """
    b, c, h, w = x_0.shape
    t, noise, x_t = noised_batch(scheduler, x_0, generator=generator)
    mask = training_masks(b, h, w, generator=generator)
    x_in = masked_input(x_t, x_0, mask)
    output = model(x_in, t) if cond is None else model(x_in, t, cond)
    err = F.mse_loss(output, scheduler.training_target(x_0, noise, t), reduction="none")
    return (err * mask).sum() / (mask.sum() * c).clamp(min=1)


@torch.no_grad()
def inpaint(
    model: nn.Module,
    scheduler: NoiseScheduler,
    x_0: torch.Tensor,
    mask: torch.Tensor,
    *,
    noise: torch.Tensor,
    t_start: int,
    n_steps: int,
    cond: Conditions | None = None,
) -> torch.Tensor:
    """Fill the masked cells of ``x_0``: noise them to ``t_start``, then ``n_steps`` DDIM steps
    (eta = 0) with the context given clean at every step.

    Args:
        x_0: ``(B, C, H, W)``; mask: ``(B or 1, 1, H, W)``; noise: like ``x_0``.

    Returns:
        ``(B, C, H, W)``: the filled cells where ``mask`` is 1, ``x_0`` elsewhere.
    """
    x_t = scheduler.add_noise(x_0, noise, t_start)
    timesteps = scheduler.set_timesteps(n_steps, t_start=t_start)
    for i, t in enumerate(timesteps):
        t_prev = timesteps[i + 1] if i + 1 < len(timesteps) else 0
        x_in = masked_input(x_t, x_0, mask)
        ts = torch.full((x_0.shape[0],), t, dtype=torch.long)
        output = model(x_in, ts) if cond is None else model(x_in, ts, cond)
        x_t, _ = scheduler.step(output, t, x_t, t_prev=t_prev)
    return mask * x_t + (1 - mask) * x_0
