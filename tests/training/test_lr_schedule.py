"""The LR cosine fits the budget actually trained: known answers for ``lr_at`` and
``budget_horizon``, and training under a fake clock (one "second" per step) whose budget fits a
known number of steps; a resumed run keeps the horizon fixed before its checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from anomaly_diffusion.config import TrainingConfig
from anomaly_diffusion.diffusion.scheduler import NoiseScheduler
from anomaly_diffusion.diffusion.schedules import linear_betas
from anomaly_diffusion.diffusion.unet import UNet, UNetConfig
from anomaly_diffusion.training.checkpoint import load_checkpoint
from anomaly_diffusion.training.loop import (
    TIMING_STEPS,
    CheckpointPlan,
    budget_horizon,
    lr_at,
    train_diffusion,
)

TINY = UNetConfig(base_channels=8, channel_mults=(1, 2), groups=4)
PEAK = 1e-3


def test_lr_at_warm_up_then_cosine_to_ten_percent_at_the_horizon():
    cfg = TrainingConfig(max_steps=10_000, learning_rate=PEAK, warmup_steps=10)
    assert lr_at(0, cfg, horizon=110) == pytest.approx(PEAK / 10)
    assert lr_at(9, cfg, horizon=110) == pytest.approx(PEAK)
    assert lr_at(10, cfg, horizon=110) == pytest.approx(PEAK)
    assert lr_at(60, cfg, horizon=110) == pytest.approx(0.55 * PEAK)  # half way: (1 + 0.1) / 2
    assert lr_at(110, cfg, horizon=110) == pytest.approx(0.1 * PEAK)
    assert lr_at(5_000, cfg, horizon=110) == pytest.approx(0.1 * PEAK)  # floor after it
    # the same step under the max_steps horizon is still near the peak
    assert lr_at(110, cfg, horizon=cfg.max_steps) > 0.99 * PEAK


def test_budget_horizon():
    assert budget_horizon(30, seconds_per_step=0.5, left_s=100.0, max_steps=10_000) == 230
    assert budget_horizon(30, seconds_per_step=0.5, left_s=100.0, max_steps=200) == 200
    assert budget_horizon(30, seconds_per_step=0.5, left_s=0.0, max_steps=200) == 30
    assert budget_horizon(30, seconds_per_step=0.0, left_s=10.0, max_steps=200) == 200


class Killed(Exception):
    """Stands in for a crash in the middle of training."""


class FakeClock:
    """Seconds that advance by ``per_step`` each time the loop logs (``log_every=1``)."""

    def __init__(self, per_step: float = 1.0, start: float = 1000.0) -> None:
        self.now, self.per_step = start, per_step

    def __call__(self) -> float:
        return self.now


def _train(
    clock: FakeClock,
    *,
    budget_steps: int,
    tmp_path: Path | None = None,
    resume: bool = False,
    kill_at: int | None = None,
    logs: dict[int, dict] | None = None,
):
    torch.manual_seed(0)
    data = [
        np.random.default_rng(i).standard_normal((1, 16, 16)).astype(np.float32) for i in range(6)
    ]
    cfg = TrainingConfig(
        max_steps=10_000,
        max_minutes=budget_steps * clock.per_step / 60.0,
        batch_size=4,
        crop=(16, 16),
        learning_rate=PEAK,
        warmup_steps=3,
        ema_decay=0.9,
        log_every=1,
        checkpoint_every=30,
    )

    def on_log(step: int, metrics: dict) -> None:
        clock.now += clock.per_step
        if logs is not None:
            logs[step] = metrics
        if step == kill_at:
            raise Killed

    plan = None
    if tmp_path is not None:
        plan = CheckpointPlan(path=tmp_path / "ckpt.safetensors", every=30, resume=resume)
    return train_diffusion(
        UNet(TINY),
        NoiseScheduler(linear_betas(100)),
        data,
        cfg,
        generator=torch.Generator().manual_seed(0),
        on_log=on_log,
        checkpoint=plan,
        clock=clock,
    )


def test_horizon_is_the_steps_the_budget_fits(one_torch_thread):
    logs: dict[int, dict] = {}
    _, result = _train(FakeClock(), budget_steps=40, logs=logs)
    assert result.stopped_by_budget
    assert result.lr_horizon == result.steps
    assert abs(result.lr_horizon - 40) <= 1  # not max_steps = 10000
    # max_steps until the timing window after the warm-up closes, then the budget horizon
    fixed_at = 3 + TIMING_STEPS
    assert all(logs[s]["lr_horizon"] == 10_000 for s in range(fixed_at - 1))
    assert all(logs[s]["lr_horizon"] == result.lr_horizon for s in range(fixed_at - 1, 40))
    # the last step trains at (nearly) the 10 % floor, not near the peak
    assert 0.1 * PEAK <= logs[result.steps - 1]["lr"] < 0.11 * PEAK


def test_resume_keeps_the_horizon(tmp_path, one_torch_thread):
    full_logs: dict[int, dict] = {}
    full, full_result = _train(FakeClock(), budget_steps=40, logs=full_logs)
    with pytest.raises(Killed):  # dies after the checkpoint taken at step 30
        _train(FakeClock(), budget_steps=40, tmp_path=tmp_path, kill_at=32)
    model = UNet(TINY)
    state = load_checkpoint(
        tmp_path / "ckpt.safetensors",
        model=model,
        ema=UNet(TINY),
        optimizer=torch.optim.AdamW(model.parameters()),
        generator=torch.Generator(),
    )
    assert (state.step, state.lr_horizon) == (30, full_result.lr_horizon)
    logs: dict[int, dict] = {}
    resumed, result = _train(
        FakeClock(start=5.0), budget_steps=40, tmp_path=tmp_path, resume=True, logs=logs
    )
    assert min(logs) == 30  # it really continued from the checkpoint
    assert (result.steps, result.lr_horizon) == (full_result.steps, full_result.lr_horizon)
    # without the saved horizon the resumed steps would decay over max_steps (near the peak)
    assert all(logs[s]["lr"] == full_logs[s]["lr"] for s in logs)
    diff = max(
        float((a - b).abs().max())
        for a, b in zip(full.state_dict().values(), resumed.state_dict().values(), strict=True)
    )
    assert diff <= 1e-6
