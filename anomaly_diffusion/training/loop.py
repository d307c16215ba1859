"""Plain PyTorch training loop: AdamW, warm-up + cosine LR, EMA, gradient clipping, random crops,
a wall-clock budget and a progress bar with ETA."""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from anomaly_diffusion.config import TrainingConfig
from anomaly_diffusion.diffusion.losses import diffusion_loss
from anomaly_diffusion.diffusion.scheduler import NoiseScheduler
from anomaly_diffusion.training.batches import batch_conditions, sample_batch
from anomaly_diffusion.training.checkpoint import TrainState, load_checkpoint, save_checkpoint

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced: EMA weights are loaded into the returned model."""

    steps: int
    seconds: float
    final_loss: float
    stopped_by_budget: bool


def lr_at(step: int, cfg: TrainingConfig) -> float:
    """Linear warm-up to ``learning_rate``, then cosine decay to 10 % of it at ``max_steps``."""
    if step < cfg.warmup_steps:
        return cfg.learning_rate * (step + 1) / cfg.warmup_steps
    progress = min(1.0, (step - cfg.warmup_steps) / max(1, cfg.max_steps - cfg.warmup_steps))
    return cfg.learning_rate * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


@torch.no_grad()
def update_ema(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    """``ema = decay * ema + (1 - decay) * model`` for every parameter and buffer."""
    for e, p in zip(ema.state_dict().values(), model.state_dict().values(), strict=True):
        if e.dtype.is_floating_point:
            e.mul_(decay).add_(p, alpha=1 - decay)
        else:
            e.copy_(p)


@dataclass(frozen=True)
class CheckpointPlan:
    """Where and how often to checkpoint, and whether to resume from an existing checkpoint."""

    path: Path
    every: int
    resume: bool = False


def train_diffusion(
    model: torch.nn.Module,
    scheduler: NoiseScheduler,
    data: Sequence[np.ndarray],
    cfg: TrainingConfig,
    *,
    generator: torch.Generator,
    on_log: Callable[[int, dict[str, float]], None] | None = None,
    checkpoint: CheckpointPlan | None = None,
    cond: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[torch.nn.Module, TrainResult]:
    """Train ``model`` with the DDPM loss on normalized items ``(C, F, T)`` / ``(C, H, W)``.

    With ``checkpoint``, the full state (weights, EMA, optimizer, RNG, counters) is saved every
    ``checkpoint.every`` steps; ``checkpoint.resume`` continues from it, ending with the same
    weights as an uninterrupted run with the same seed.

    ``cond`` holds each item's encoded operating conditions ``(cat (N, n_cat), num (N, n_num))``
    (:class:`~anomaly_diffusion.data.conditions.ConditionEncoder`); ``None``: unconditional.

    Returns:
        ``(ema_model, result)``: the EMA copy is what scoring should use.
    """
    model.train()
    ema = copy.deepcopy(model).eval().requires_grad_(False)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay
    )
    state = TrainState(step=0, running_loss=float("nan"), elapsed_s=0.0)
    if checkpoint is not None and checkpoint.resume:
        state = _resume(checkpoint.path, model, ema, optimizer, generator) or state
    budget_s, start = cfg.max_minutes * 60.0, time.monotonic() - state.elapsed_s
    running, step, stopped = state.running_loss, state.step - 1, False
    bar = tqdm(total=cfg.max_steps, initial=state.step, desc="training", unit="step", leave=False)
    for step in range(state.step, cfg.max_steps):
        value = _train_step(model, ema, optimizer, scheduler, data, cfg, step, generator, cond)
        running = value if math.isnan(running) else 0.95 * running + 0.05 * value
        left = max(0.0, budget_s - (time.monotonic() - start))
        bar.update(1)
        bar.set_postfix(loss=f"{running:.4f}", budget_left=f"{left // 60:.0f}:{left % 60:02.0f}")
        if on_log is not None and (step % cfg.log_every == 0 or step == cfg.max_steps - 1):
            on_log(
                step, {"train_loss": value, "train_loss_smoothed": running, "lr": lr_at(step, cfg)}
            )
        if checkpoint is not None and checkpoint.every and (step + 1) % checkpoint.every == 0:
            save_checkpoint(
                checkpoint.path,
                model=model,
                ema=ema,
                optimizer=optimizer,
                generator=generator,
                state=TrainState(step + 1, running, time.monotonic() - start),
            )
        if left <= 0:
            stopped = True
            logger.info(
                "training budget of %.1f min reached after %d steps", cfg.max_minutes, step + 1
            )
            break
    bar.close()
    seconds = time.monotonic() - start
    return ema, TrainResult(
        steps=step + 1, seconds=seconds, final_loss=running, stopped_by_budget=stopped
    )


def _train_step(
    model,
    ema,
    optimizer,
    scheduler,
    data,
    cfg: TrainingConfig,
    step: int,
    generator: torch.Generator,
    cond: tuple[np.ndarray, np.ndarray] | None = None,
) -> float:
    """One optimizer step (LR schedule, loss, clipping, EMA); returns the loss."""
    for group in optimizer.param_groups:
        group["lr"] = lr_at(step, cfg)
    x_0, idx = sample_batch(data, batch_size=cfg.batch_size, crop=cfg.crop, generator=generator)
    batch_cond = None
    if cond is not None:
        batch_cond = batch_conditions(cond, idx, dropout=cfg.condition_dropout, generator=generator)
    loss = diffusion_loss(model, scheduler, x_0, generator=generator, cond=batch_cond)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
    optimizer.step()
    update_ema(ema, model, cfg.ema_decay if step >= cfg.warmup_steps else 0.0)
    return float(loss.detach())


def _resume(path: Path, model, ema, optimizer, generator) -> TrainState | None:
    if not path.is_file():
        logger.warning("resume=true but no checkpoint at %s: training from scratch", path)
        return None
    state = load_checkpoint(path, model=model, ema=ema, optimizer=optimizer, generator=generator)
    logger.info("resuming from %s at step %d", path, state.step)
    return state
