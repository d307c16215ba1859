"""Inpainting maps (see :mod:`anomaly_diffusion.diffusion.inpainting`): every part of a window
is masked in turn and filled from the rest; a cell's map value is its squared filling error,
averaged over the masks that covered it and the noise draws."""

from __future__ import annotations

import torch
from torch import nn

from anomaly_diffusion.diffusion.inpainting import inpaint, scoring_masks
from anomaly_diffusion.diffusion.scheduler import NoiseScheduler
from anomaly_diffusion.diffusion.unet import Conditions


@torch.no_grad()
def inpainting_maps(
    model: nn.Module,
    scheduler: NoiseScheduler,
    x_0: torch.Tensor,
    *,
    noise: torch.Tensor,
    t_start: int,
    n_steps: int,
    groups: int,
    kinds: tuple[str, ...],
    cond: Conditions | None = None,
) -> torch.Tensor:
    """Raw inpainting maps.

    Args:
        x_0: Normalized batch ``(B, C, H, W)`` (H sensors, W time steps).
        noise: ``(R, B, C, H, W)``: R draws (``scoring.n_repeats``); every mask of a draw uses
            the same noise.
        groups, kinds: The masks of :func:`~anomaly_diffusion.diffusion.inpainting.scoring_masks`.

    Returns:
        ``(B, 1, H, W)`` float32; network evaluations per item =
        ``R * n_steps * len(masks)``.
    """
    b, _, h, w = x_0.shape
    masks = scoring_masks(h, w, groups=groups, kinds=kinds)  # (M, 1, H, W)
    m = masks.shape[0]
    # all masks of the batch in one pass: item-major (B * M, ...)
    xs = x_0.repeat_interleave(m, dim=0)
    mask = masks.repeat(b, 1, 1, 1)
    conds = None if cond is None else tuple(c.repeat_interleave(m, dim=0) for c in cond)
    total = torch.zeros(b, 1, h, w)
    for draw in noise:
        filled = inpaint(
            model,
            scheduler,
            xs,
            mask,
            noise=draw.repeat_interleave(m, dim=0),
            t_start=t_start,
            n_steps=n_steps,
            cond=conds,
        )
        err = (xs - filled).pow(2).mean(dim=1, keepdim=True) * mask
        total += err.reshape(b, m, 1, h, w).sum(dim=1)
    coverage = masks.sum(dim=0, keepdim=True)  # (1, 1, H, W): masks per cell
    return total / (noise.shape[0] * coverage)
