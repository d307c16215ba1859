"""Checkpoints: a training run killed with SIGKILL and resumed ends with the same weights as an
uninterrupted run with the same seed (tolerance 1e-6)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from anomaly_diffusion.config import TrainingConfig
from anomaly_diffusion.diffusion.scheduler import NoiseScheduler
from anomaly_diffusion.diffusion.schedules import linear_betas
from anomaly_diffusion.diffusion.unet import UNet, UNetConfig
from anomaly_diffusion.errors import DataError
from anomaly_diffusion.training.checkpoint import load_checkpoint
from anomaly_diffusion.training.loop import CheckpointPlan, train_diffusion

CLI = str(Path(sys.executable).parent / "anomaly-diffusion")
TINY = UNetConfig(base_channels=8, channel_mults=(1, 2), groups=4)


class Killed(Exception):
    """Stands in for a crash in the middle of training."""


def _train(
    tmp_path: Path, every: int, resume: bool, kill_at: int | None = None, seen: list | None = None
) -> torch.nn.Module:
    torch.manual_seed(0)
    data = [
        np.random.default_rng(i).standard_normal((1, 16, 16)).astype(np.float32) for i in range(6)
    ]
    cfg = TrainingConfig(
        max_steps=12,
        batch_size=4,
        crop=(16, 16),
        warmup_steps=3,
        ema_decay=0.9,
        checkpoint_every=every,
        log_every=1,
    )

    def crash(step: int, _metrics: dict) -> None:
        if seen is not None:
            seen.append(step)
        if step == kill_at:
            raise Killed

    plan = CheckpointPlan(path=tmp_path / "ckpt.safetensors", every=every, resume=resume)
    ema, _ = train_diffusion(
        UNet(TINY),
        NoiseScheduler(linear_betas(100)),
        data,
        cfg,
        generator=torch.Generator().manual_seed(0),
        checkpoint=plan,
        on_log=crash,
    )
    return ema


def _max_diff(a: torch.nn.Module, b: torch.nn.Module) -> float:
    return max(
        float((x - y).abs().max())
        for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    )


def test_resume_in_process_equals_uninterrupted(tmp_path, one_torch_thread):
    full = _train(tmp_path / "a", every=0, resume=False)
    with pytest.raises(Killed):  # dies at step 8, after the checkpoint taken at step 7
        _train(tmp_path / "b", every=7, resume=False, kill_at=8)
    seen: list[int] = []
    resumed = _train(tmp_path / "b", every=7, resume=True, seen=seen)
    assert seen == list(range(7, 12))  # it really continued from the checkpoint
    assert _max_diff(full, resumed) <= 1e-6
    fresh = _train(tmp_path / "c", every=0, resume=True)  # no checkpoint: from scratch
    assert _max_diff(full, fresh) <= 1e-6
    assert _max_diff(full, _train(tmp_path / "d", every=0, resume=False, kill_at=None)) <= 1e-6


def test_corrupt_checkpoint_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(b"not a checkpoint")
    model = UNet(TINY)
    with pytest.raises(DataError, match="cannot resume"):
        load_checkpoint(
            path,
            model=model,
            ema=UNet(TINY),
            optimizer=torch.optim.AdamW(model.parameters()),
            generator=torch.Generator(),
        )


@pytest.mark.slow
def test_cli_run_killed_with_sigkill_resumes_to_identical_weights(tmp_path, plant):
    common = [  # the vibration plant: the loop is what is tested, not the camera's encoder
        f"data.root={plant['vibration']}",
        "training=quick",
        "training.max_steps=60",
        "training.checkpoint_every=10",
        "network=tiny",
        "tracking.enabled=false",
        "max_maps=0",  # no map PNGs: three train jobs, the weights are what is compared
    ]
    subprocess.run(
        [CLI, "train", "run_dir=full", *common],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=600,
    )
    ckpt = tmp_path / "killed" / "checkpoints" / "last.safetensors"
    proc = subprocess.Popen(
        [CLI, "train", "run_dir=killed", *common],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while not ckpt.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "training finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "killed" / "model").exists()
    subprocess.run(
        [CLI, "train", "run_dir=killed", "resume=true", *common],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=600,
    )
    weights = "model/artifacts/detector/weights.safetensors"
    full = load_file(str(tmp_path / "full" / weights))
    resumed = load_file(str(tmp_path / "killed" / weights))
    assert full.keys() == resumed.keys()
    assert max(float((full[k] - resumed[k]).abs().max()) for k in full) <= 1e-6
