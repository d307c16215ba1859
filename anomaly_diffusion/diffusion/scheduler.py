"""Noise scheduler: forward noising and DDIM/DDPM reverse steps. It never holds the network.

Notation follows DDPM (Ho et al. 2020) and DDIM (Song et al. 2021): ``x_t = sqrt(abar_t) x_0 +
sqrt(1 - abar_t) eps`` (DDPM eq. 4) with ``abar = alphas_cumprod``; timestep ``t`` runs over
``0..T`` where ``t = 0`` is clean data.
"""

from __future__ import annotations

import torch

from anomaly_diffusion.config import SchedulerConfig
from anomaly_diffusion.diffusion.noise import make_noise
from anomaly_diffusion.diffusion.schedules import alphas_cumprod_from, cosine_betas, linear_betas


class NoiseScheduler:
    """DDIM scheduler (``eta = 0``: deterministic DDIM, ``eta = 1``: DDPM ancestral sampling).

    Args:
        betas: ``(T,)`` schedule from :mod:`~anomaly_diffusion.diffusion.schedules`.
        prediction_type: What the network predicts: ``epsilon`` or ``v_prediction``.
        noise: Noise kind for training and scoring: ``gaussian`` or ``simplex``
            (:mod:`~anomaly_diffusion.diffusion.noise`).
    """

    def __init__(
        self, betas: torch.Tensor, *, prediction_type: str = "epsilon", noise: str = "gaussian"
    ) -> None:
        self.alphas_cumprod = alphas_cumprod_from(betas).float()
        self.num_train_timesteps = int(betas.shape[0])
        self.prediction_type = prediction_type
        self.noise = noise

    def sample_noise(self, shape: tuple[int, ...], *, generator: torch.Generator) -> torch.Tensor:
        """Noise of this scheduler's kind, ``shape`` float32, drawn from ``generator``."""
        return make_noise(self.noise, shape, generator=generator)

    @classmethod
    def from_config(cls, cfg: SchedulerConfig) -> NoiseScheduler:
        if cfg.beta_schedule == "cosine":
            betas = cosine_betas(cfg.num_train_timesteps)
        else:
            betas = linear_betas(
                cfg.num_train_timesteps, beta_start=cfg.beta_start, beta_end=cfg.beta_end
            )
        return cls(betas, prediction_type=cfg.prediction_type, noise=cfg.noise)

    def _abar(self, t: torch.Tensor | int, like: torch.Tensor) -> torch.Tensor:
        t = torch.as_tensor(t, device=self.alphas_cumprod.device).long()
        abar = self.alphas_cumprod[t].to(like.device, like.dtype)
        return abar.reshape(-1, *([1] * (like.ndim - 1))) if abar.ndim else abar

    def add_noise(
        self, x_0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor | int
    ) -> torch.Tensor:
        """Forward process ``q(x_t | x_0)`` (DDPM eq. 4); ``t`` scalar or ``(B,)``."""
        abar = self._abar(t, x_0)
        return abar.sqrt() * x_0 + (1 - abar).sqrt() * noise

    def training_target(
        self, x_0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor
    ) -> torch.Tensor:
        """What the network should output: ``eps`` or ``v = sqrt(abar) eps - sqrt(1-abar) x_0``."""
        if self.prediction_type == "epsilon":
            return noise
        abar = self._abar(t, x_0)
        return abar.sqrt() * noise - (1 - abar).sqrt() * x_0

    def predict_x0_eps(
        self, model_output: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor | int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x_0_hat, eps_hat)`` from the network output at ``x_t`` (DDIM eq. 9)."""
        abar = self._abar(t, x_t)
        if self.prediction_type == "epsilon":
            eps = model_output
            x_0 = (x_t - (1 - abar).sqrt() * eps) / abar.sqrt()
        else:
            x_0 = abar.sqrt() * x_t - (1 - abar).sqrt() * model_output
            eps = (1 - abar).sqrt() * x_t + abar.sqrt() * model_output
        return x_0, eps

    def set_timesteps(self, n_steps: int, *, t_start: int | None = None) -> list[int]:
        """Descending timesteps ``[t_start, ..., > 0]`` of an ``n_steps`` reverse walk to 0."""
        t_start = self.num_train_timesteps if t_start is None else t_start
        if not 1 <= n_steps <= t_start <= self.num_train_timesteps:
            raise ValueError(
                f"need 1 <= n_steps ({n_steps}) <= t_start ({t_start}) <= "
                f"{self.num_train_timesteps}"
            )
        grid = torch.linspace(t_start, 0, n_steps + 1).round().long().tolist()
        return grid[:-1]

    def step(
        self,
        model_output: torch.Tensor,
        t: int,
        x_t: torch.Tensor,
        *,
        t_prev: int,
        eta: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One reverse step ``x_t -> x_{t_prev}`` (DDIM eq. 12); returns ``(x_prev, x_0_hat)``."""
        x_0, eps = self.predict_x0_eps(model_output, x_t, t)
        abar_t, abar_prev = self._abar(t, x_t), self._abar(t_prev, x_t)
        sigma = (
            eta * ((1 - abar_prev) / (1 - abar_t) * (1 - abar_t / abar_prev)).clamp(min=0).sqrt()
        )
        x_prev = abar_prev.sqrt() * x_0 + (1 - abar_prev - sigma**2).clamp(min=0).sqrt() * eps
        if eta > 0 and t_prev > 0:
            z = torch.randn(x_t.shape, generator=generator, dtype=x_t.dtype, device=x_t.device)
            x_prev = x_prev + sigma * z
        return x_prev, x_0

    def guided_step(
        self,
        model_output: torch.Tensor,
        t: int,
        x_t: torch.Tensor,
        *,
        t_prev: int,
        y_t: torch.Tensor,
        weight: float,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Input-conditioned DDIM step (DDAD, Mousakhan et al. 2023, eq. 8): the noise estimate is
        pulled toward the target's noised version ``y_t`` at the same ``t``,
        ``eps' = eps - weight * sqrt(1 - abar_t) * (y_t - x_t)``, then a plain DDIM step (eta 0).
        Returns ``(x_prev, x_0_hat)``."""
        _, eps = self.predict_x0_eps(model_output, x_t, t)
        abar_t, abar_prev = self._abar(t, x_t), self._abar(t_prev, x_t)
        eps = eps - weight * (1 - abar_t).sqrt() * (y_t - x_t)
        x_0 = (x_t - (1 - abar_t).sqrt() * eps) / abar_t.sqrt()
        return abar_prev.sqrt() * x_0 + (1 - abar_prev).sqrt() * eps, x_0
