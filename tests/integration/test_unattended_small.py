"""Issue #14, item 7: a parity gate that compared nothing fails, noise draws keyed by the full
path, worker threads from the CPUs this process may use."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
import torch

from anomaly_diffusion.cpus import available_cpus
from anomaly_diffusion.data.dataset import Item
from anomaly_diffusion.data.windows import Window
from anomaly_diffusion.detector import _window_noise
from anomaly_diffusion.diffusion.scheduler import NoiseScheduler
from anomaly_diffusion.diffusion.schedules import linear_betas
from anomaly_diffusion.errors import TrackingError
from anomaly_diffusion.tracking.parity import parity_check


def test_parity_gate_that_compared_nothing_fails(tmp_path):
    expected = pd.DataFrame(
        {
            "path": ["a.wav", "b.wav"],
            "start_s": [0.0, 0.0],
            "score": [np.nan, np.nan],
            "error": ["a.wav: truncated", "b.wav: truncated"],
        }
    )
    with pytest.raises(TrackingError, match=r"compared nothing.*2 golden.*a\.wav: truncated"):
        parity_check(tmp_path / "no_model", expected, expected[["path", "start_s"]])


def _noise(path: str, start_s: float | None = 0.0) -> torch.Tensor:
    window = Window(features=np.zeros((1, 4, 4), np.float32), item=Item(path), start_s=start_s)
    return _window_noise(NoiseScheduler(linear_betas(50)), window, 0, (1, 1, 4, 4))


def test_noise_is_keyed_by_the_full_path(tmp_path, monkeypatch):
    a, b = tmp_path / "line1" / "clip.wav", tmp_path / "line2" / "clip.wav"
    assert not torch.equal(_noise(str(a)), _noise(str(b)))  # same name, other folder
    assert not torch.equal(_noise("line1/clip.wav"), _noise("line2/clip.wav"))
    assert torch.equal(_noise("./line1/clip.wav"), _noise("line1/clip.wav"))
    here = _noise("line1/clip.wav")
    monkeypatch.chdir(tmp_path)  # the same spelling from another working directory
    assert torch.equal(_noise("line1/clip.wav"), here)
    assert torch.equal(_noise(str(a), 1.5), _noise(str(a), 1.5))
    assert not torch.equal(_noise(str(a), 1.5), _noise(str(a), 3.0))


def test_available_cpus_honours_affinity_and_quota(tmp_path):
    affinity = len(os.sched_getaffinity(0))
    assert available_cpus(tmp_path / "no_cgroup") == affinity
    v2 = tmp_path / "v2"
    v2.mkdir()
    (v2 / "cpu.max").write_text("150000 100000\n")  # docker --cpus=1.5
    assert available_cpus(v2) == min(affinity, 2)
    (v2 / "cpu.max").write_text("max 100000\n")
    assert available_cpus(v2) == affinity
    v1 = tmp_path / "v1" / "cpu"
    v1.mkdir(parents=True)
    (v1 / "cpu.cfs_quota_us").write_text("50000\n")
    (v1 / "cpu.cfs_period_us").write_text("100000\n")
    assert available_cpus(tmp_path / "v1") == 1
