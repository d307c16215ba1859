"""Partial re-projection (AnoDDPM, Wyatt et al. 2022): noise a sample to ``t_start``, denoise it
back with DDIM (optionally steered toward the input, as in DDAD), and keep what the model could
not reproduce, in pixel space and in the denoiser's own feature space."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from anomaly_diffusion.diffusion.scheduler import NoiseScheduler
from anomaly_diffusion.diffusion.unet import Conditions
from anomaly_diffusion.features.sensor_whitening import sensor_contributions

FEATURE_T = 1
"""Timestep at which the denoiser's encoder embeds clean inputs and reconstructions."""


def _call(model: nn.Module, x: torch.Tensor, t: int, cond: Conditions | None) -> torch.Tensor:
    ts = torch.full((x.shape[0],), t, dtype=torch.long)
    return model(x, ts) if cond is None else model(x, ts, cond)


@torch.no_grad()
def reproject(
    model: nn.Module,
    scheduler: NoiseScheduler,
    x_0: torch.Tensor,
    *,
    noise: torch.Tensor,
    t_start: int,
    n_steps: int,
    guidance: float = 0.0,
    cond: Conditions | None = None,
) -> torch.Tensor:
    """Re-projection ``x_0 -> x_{t_start} -> x_0_hat`` in ``n_steps`` DDIM steps (eta = 0).

    With ``n_steps=1`` this is the one-step x_0 prediction, whose residual equals the
    noise-prediction error scaled by ``sqrt((1 - abar) / abar)`` (DDIM eq. 9). With
    ``guidance > 0`` each step after the first is pulled toward ``x_0`` noised with the same
    noise to the same level (:meth:`NoiseScheduler.guided_step`), which keeps normal detail.

    Args:
        x_0: Normalized batch ``(B, C, H, W)``.
        noise: Noise of the same shape (the scheduler's kind).
        cond: Operating conditions of the batch, or ``None``.

    Returns:
        ``x_0_hat`` of the same shape.
    """
    x_t = scheduler.add_noise(x_0, noise, t_start)
    timesteps = scheduler.set_timesteps(n_steps, t_start=t_start)
    for i, t in enumerate(timesteps):
        t_prev = timesteps[i + 1] if i + 1 < len(timesteps) else 0
        output = _call(model, x_t, t, cond)
        if guidance > 0:
            y_t = scheduler.add_noise(x_0, noise, t)
            x_t, _ = scheduler.guided_step(output, t, x_t, t_prev=t_prev, y_t=y_t, weight=guidance)
        else:
            x_t, _ = scheduler.step(output, t, x_t, t_prev=t_prev)
    return x_t


@torch.no_grad()
def feature_distance(
    model: nn.Module, x: torch.Tensor, x_hat: torch.Tensor, *, cond: Conditions | None = None
) -> torch.Tensor:
    """Multi-scale feature map: ``1 - cos`` between the denoiser's encoder features of ``x`` and
    ``x_hat`` at every level (channels compared per position), upsampled to the input size and
    averaged over levels. No pretrained network needed: the model of normal data is its own
    feature extractor. ``(B, C, H, W) x 2 -> (B, H, W)``, values in [0, 2]."""
    b, _, h, w = x.shape
    both_cond = None if cond is None else tuple(torch.cat([c, c]) for c in cond)
    ts = torch.full((2 * b,), FEATURE_T, dtype=torch.long)
    levels = model.encode(torch.cat([x, x_hat]), ts, both_cond)
    total = torch.zeros(b, h, w)
    padded = levels[0].shape[-2:]
    for feats in levels:
        dist = 1 - F.cosine_similarity(feats[:b], feats[b:], dim=1, eps=1e-6)
        up = F.interpolate(dist[:, None], size=padded, mode="bilinear", align_corners=False)
        total += up[:, 0, :h, :w]
    return total / len(levels)


@torch.no_grad()
def anomaly_maps(
    model: nn.Module,
    scheduler: NoiseScheduler,
    x_0: torch.Tensor,
    *,
    noise: torch.Tensor,
    t_start: int,
    n_steps: int,
    map_type: str = "residual",
    guidance: float = 0.0,
    cond: Conditions | None = None,
    sensor_matrix: torch.Tensor | None = None,
) -> torch.Tensor:
    """Raw anomaly maps averaged over noise draws.

    Args:
        x_0: Normalized batch ``(B, C, H, W)``.
        noise: ``(R, B, C, H, W)``: R independent draws (``scoring.n_repeats``).
        map_type: ``residual`` (squared residual, mean over channels), ``feature``
            (:func:`feature_distance`) or ``combined`` (both).
        sensor_matrix: The ``(S, S)`` sensor whitening of a process model: the residual part
            is then each sensor's reconstruction-based contribution
            (:func:`~anomaly_diffusion.features.sensor_whitening.sensor_contributions`), not
            the squared whitened residual.

    Returns:
        ``(B, K, H, W)`` float32 with K = 1 (residual or feature) or 2 (residual, feature);
        network evaluations per item = ``R * n_steps`` (+ ``R`` encoder passes of two inputs
        for feature maps).
    """
    parts = {"residual": ("residual",), "feature": ("feature",)}.get(
        map_type, ("residual", "feature")
    )
    total = torch.zeros(x_0.shape[0], len(parts), *x_0.shape[2:])
    for draw in noise:
        x_hat = reproject(
            model,
            scheduler,
            x_0,
            noise=draw,
            t_start=t_start,
            n_steps=n_steps,
            guidance=guidance,
            cond=cond,
        )
        for k, part in enumerate(parts):
            if part == "residual" and sensor_matrix is not None:
                total[:, k] += sensor_contributions(x_0 - x_hat, sensor_matrix).mean(dim=1)
            elif part == "residual":
                total[:, k] += (x_0 - x_hat).pow(2).mean(dim=1)
            else:
                total[:, k] += feature_distance(model, x_0, x_hat, cond=cond)
    return total / noise.shape[0]


def residual_maps(model, scheduler, x_0, *, noise, t_start, n_steps) -> torch.Tensor:
    """Squared re-projection residual ``(B, H, W)`` (see :func:`anomaly_maps`)."""
    return anomaly_maps(model, scheduler, x_0, noise=noise, t_start=t_start, n_steps=n_steps)[:, 0]
