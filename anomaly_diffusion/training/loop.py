"""Plain PyTorch training loop: AdamW, warm-up + cosine LR sized to the budget, EMA, gradient
clipping, random crops, a wall-clock budget and progress with ETA (a bar on a terminal, plain
lines in a log)."""

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

from anomaly_diffusion.config import TrainingConfig
from anomaly_diffusion.diffusion.losses import diffusion_loss
from anomaly_diffusion.diffusion.scheduler import NoiseScheduler
from anomaly_diffusion.heap import HeapTrimmer
from anomaly_diffusion.precision import use_bfloat16
from anomaly_diffusion.progress import clock_text, progress
from anomaly_diffusion.training.batches import batch_conditions, sample_batch
from anomaly_diffusion.training.checkpoint import TrainState, load_checkpoint, save_checkpoint

logger = logging.getLogger(__name__)

#: Steps after the warm-up that are timed to size the cosine to the wall-clock budget.
TIMING_STEPS = 20


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced: EMA weights are loaded into the returned model."""

    steps: int
    seconds: float
    final_loss: float
    stopped_by_budget: bool
    lr_horizon: int


def lr_at(step: int, cfg: TrainingConfig, *, horizon: int) -> float:
    """Linear warm-up to ``learning_rate``, then cosine decay to 10 % of it at step ``horizon``
    (constant after it).

    Args:
        step: Optimizer step, from 0.
        cfg: ``learning_rate`` and ``warmup_steps``.
        horizon: Step where the cosine ends: ``max_steps``, or the steps the wall-clock budget
            fits (:func:`budget_horizon`).
    """
    if step < cfg.warmup_steps:
        return cfg.learning_rate * (step + 1) / cfg.warmup_steps
    progress = min(1.0, (step - cfg.warmup_steps) / max(1, horizon - cfg.warmup_steps))
    return cfg.learning_rate * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def budget_horizon(done: int, *, seconds_per_step: float, left_s: float, max_steps: int) -> int:
    """Steps a run will have made when it stops: ``done`` plus the steps that fit in the
    ``left_s`` seconds of budget at ``seconds_per_step``, at most ``max_steps``."""
    if seconds_per_step <= 0:
        return max_steps
    return min(max_steps, done + int(left_s / seconds_per_step))


class _Horizon:
    """The cosine's horizon: ``max_steps`` until the speed over :data:`TIMING_STEPS` steps after
    the warm-up is known, then fixed once to :func:`budget_horizon`."""

    def __init__(self, cfg: TrainingConfig, *, fixed: int | None, done: int, now: float) -> None:
        self.cfg, self.fixed = cfg, fixed
        self._opened = (done, now) if done >= cfg.warmup_steps else None

    @property
    def steps(self) -> int:
        return self.cfg.max_steps if self.fixed is None else self.fixed

    def observe(self, done: int, now: float, left_s: float) -> None:
        """After a step: open the timing window, or close it and fix the horizon."""
        if self.fixed is not None:
            return
        if self._opened is None:
            if done >= self.cfg.warmup_steps:
                self._opened = (done, now)
            return
        done_0, t_0 = self._opened
        if done - done_0 >= TIMING_STEPS:
            speed = (now - t_0) / (done - done_0)
            self.fixed = budget_horizon(
                done, seconds_per_step=speed, left_s=left_s, max_steps=self.cfg.max_steps
            )
            logger.info(
                "LR cosine decays over %d steps (%.3f s/step, %.0f s of budget left, max_steps %d)",
                self.fixed,
                speed,
                left_s,
                self.cfg.max_steps,
            )


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


TRIM_STEPS = 50
"""Training steps between two heap trims (see :mod:`anomaly_diffusion.heap`)."""


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
    clock: Callable[[], float] = time.monotonic,
    loss_fn: Callable[..., torch.Tensor] = diffusion_loss,
) -> tuple[torch.nn.Module, TrainResult]:
    """Train ``model`` with the DDPM loss on normalized items ``(C, F, T)`` / ``(C, H, W)``.

    The LR cosine spans ``max_steps`` until :data:`TIMING_STEPS` steps after the warm-up have
    been timed; then it is fixed to end where the run is expected to stop: at ``max_steps`` or
    when ``max_minutes`` runs out at the measured speed, whichever comes first.

    With ``checkpoint``, the full state (weights, EMA, optimizer, RNG, counters, LR horizon) is
    saved every ``checkpoint.every`` steps; ``checkpoint.resume`` continues from it, ending with
    the same weights as an uninterrupted run with the same seed (and, when the budget binds, the
    same horizon if it was fixed before the checkpoint).

    ``cond`` holds each item's encoded operating conditions ``(cat (N, n_cat), num (N, n_num))``
    (:class:`~anomaly_diffusion.data.conditions.ConditionEncoder`); ``None``: unconditional.
    ``clock`` returns seconds (wall clock for the budget and the timing; injectable for tests).
    ``loss_fn(model, scheduler, x_0, generator=, cond=)`` is the objective: the DDPM loss, or
    :func:`~anomaly_diffusion.diffusion.inpainting.inpainting_loss`.

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
    now = clock()
    budget_s, start = cfg.max_minutes * 60.0, now - state.elapsed_s
    horizon = _Horizon(cfg, fixed=state.lr_horizon, done=state.step, now=now)
    running, step, stopped = state.running_loss, state.step - 1, False
    bar = progress(
        total=horizon.steps, initial=state.step, desc="training", unit="step", leave=False
    )
    trimmer = HeapTrimmer(every=TRIM_STEPS)
    for step in range(state.step, cfg.max_steps):
        lr = lr_at(step, cfg, horizon=horizon.steps)
        value = _train_step(
            model, ema, optimizer, scheduler, data, cfg, step, lr, generator, cond, loss_fn
        )
        trimmer.done(1)
        running = value if math.isnan(running) else 0.95 * running + 0.05 * value
        now = clock()
        left = max(0.0, budget_s - (now - start))
        horizon.observe(step + 1, now, left)
        bar.total = horizon.steps  # the steps the budget fits, once timed (not max_steps)
        bar.update(1)
        bar.set_postfix(loss=f"{running:.4f}", budget_left=clock_text(left))
        if on_log is not None and (step % cfg.log_every == 0 or step == cfg.max_steps - 1):
            on_log(
                step,
                {
                    "train_loss": value,
                    "train_loss_smoothed": running,
                    "lr": lr,
                    "lr_horizon": float(horizon.steps),
                },
            )
        if checkpoint is not None and checkpoint.every and (step + 1) % checkpoint.every == 0:
            save_checkpoint(
                checkpoint.path,
                model=model,
                ema=ema,
                optimizer=optimizer,
                generator=generator,
                state=TrainState(step + 1, running, clock() - start, horizon.fixed),
            )
        if left <= 0:
            stopped = True
            logger.info(
                "training budget of %.1f min reached after %d steps", cfg.max_minutes, step + 1
            )
            break
    bar.close()
    return ema, TrainResult(
        steps=step + 1,
        seconds=clock() - start,
        final_loss=running,
        stopped_by_budget=stopped,
        lr_horizon=horizon.steps,
    )


def _train_step(
    model,
    ema,
    optimizer,
    scheduler,
    data,
    cfg: TrainingConfig,
    step: int,
    lr: float,
    generator: torch.Generator,
    cond: tuple[np.ndarray, np.ndarray] | None = None,
    loss_fn: Callable[..., torch.Tensor] = diffusion_loss,
) -> float:
    """One optimizer step at learning rate ``lr`` (loss, clipping, EMA); returns the loss."""
    for group in optimizer.param_groups:
        group["lr"] = lr
    x_0, idx = sample_batch(data, batch_size=cfg.batch_size, crop=cfg.crop, generator=generator)
    batch_cond = None
    if cond is not None:
        batch_cond = batch_conditions(cond, idx, dropout=cfg.condition_dropout, generator=generator)
    with torch.autocast(
        "cpu", dtype=torch.bfloat16, enabled=use_bfloat16(cfg.precision, field="training.precision")
    ):
        loss = loss_fn(model, scheduler, x_0, generator=generator, cond=batch_cond)
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
