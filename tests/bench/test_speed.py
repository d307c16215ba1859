"""bench/speed.py: FLOP counting, GFLOP/s and real-time measurements, and the BENCHMARKS.md
speed section (small sizes; correctness only, not timings)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from bench_modules import load_bench_module
from torch import nn

from anomaly_diffusion.calibration import AlarmRule
from anomaly_diffusion.config import FeatureConfig, ScoringConfig
from anomaly_diffusion.data.dataset import Item
from anomaly_diffusion.data.windows import extract_windows
from anomaly_diffusion.detector import DetectorConfig, DiffusionAnomalyDetector
from anomaly_diffusion.diffusion.unet import UNet, UNetConfig
from anomaly_diffusion.features.normalization import fit_normalization

speed = load_bench_module("speed")
TINY = UNetConfig(base_channels=8, channel_mults=(1, 2), groups=4)
RATE = 16_000


class ConvModel(nn.Module):
    """One convolution behind the UNet's ``(x, t)`` interface."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, padding=1)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def test_unet_flops_of_one_conv_is_the_closed_form():
    b, c_in, c_out, k, h, w = 3, 2, 4, 3, 8, 10
    assert speed.unet_flops(ConvModel(), (b, c_in, h, w)) == 2 * c_in * c_out * k * k * h * w * b


def test_unet_flops_positive_and_linear_in_batch(one_torch_thread):
    model = UNet(TINY).eval()
    one = speed.unet_flops(model, (1, 1, 32, 32))
    two = speed.unet_flops(model, (2, 1, 32, 32))
    assert one > 0
    assert 1.9 <= two / one <= 2.1


def test_unet_gflops_returns_rate_and_time(one_torch_thread):
    model = UNet(TINY).train()
    rate, seconds = speed.unet_gflops(model, (1, 1, 16, 16), repeats=1)
    assert rate > 0
    assert seconds > 0
    assert model.training  # mode restored


def test_matmul_gflops_positive(one_torch_thread):
    assert speed.matmul_gflops(n=256, repeats=2) > 0


def _results(*, matmul: float, unet: float, factor: float) -> dict:
    return {
        "matmul_gflops": matmul,
        "unet_input_shape": (4, 1, 128, 63),
        "unet_gflops_per_forward": 1.234,
        "unet_gflops": unet,
        "unet_s_per_forward": 0.0567,
        "realtime": {
            "audio_s": 60.0,
            "wall_s": 60.0 / factor,
            "realtime_factor": factor,
            "windows": 60,
            "evals_per_item": 4,
            "feature_s": 0.01,
            "score_s": 0.1,
        },
    }


def _verdict(lines: list[str]) -> str:
    (line,) = [ln for ln in lines if ln.startswith("Targets:")]
    return line


def test_speed_section_targets_met():
    lines = speed.speed_section(_results(matmul=100.0, unet=45.0, factor=400.0))
    text = "\n".join(lines)
    for number in ("100.0", "4 x 1 x 128 x 63", "1.234", "45.0", "0.0567", "400x"):
        assert number in text, number
    assert "4 evaluations per item" in text
    verdict = _verdict(lines)
    assert "efficiency met" in verdict
    assert "real time met" in verdict
    assert "missed" not in verdict
    assert "1 h of audio in 9.0 s" in verdict


def test_speed_section_targets_missed():
    lines = speed.speed_section(_results(matmul=100.0, unet=39.9, factor=299.0))
    text = "\n".join(lines)
    assert "39.9 %" in text
    assert "299x" in text
    verdict = _verdict(lines)
    assert "efficiency missed" in verdict
    assert "real time missed" in verdict
    assert " met" not in verdict


def test_speed_section_mixed():
    verdict = _verdict(speed.speed_section(_results(matmul=100.0, unet=80.0, factor=10.0)))
    assert "efficiency met" in verdict
    assert "real time missed" in verdict


@pytest.fixture
def sine_wav(tmp_path) -> Path:
    t = np.arange(RATE) / RATE
    path = tmp_path / "sine.wav"
    sf.write(str(path), (0.3 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32), RATE)
    return path


@pytest.fixture
def tiny_detector(sine_wav) -> DiffusionAnomalyDetector:
    """An untrained acoustic detector: fitted state set by hand (what fit() would set)."""
    features = FeatureConfig(
        kind="log_mel", window_seconds=1.0, n_fft=512, hop_length=256, n_mels=32
    )
    cfg = DetectorConfig(
        "acoustic", features=features, network=TINY, scoring=ScoringConfig(n_repeats=1)
    )
    det = DiffusionAnomalyDetector(cfg)
    windows = extract_windows(Item(str(sine_wav)), source=cfg.source, features=features)
    det.mean_, det.std_ = fit_normalization([w.features for w in windows], per_row=True)
    det.sample_rate_ = windows[0].sample_rate
    network = replace(TINY, in_channels=windows[0].features.shape[0])
    det.config = replace(cfg, network=network)
    det.model_ = UNet(network).eval().requires_grad_(False)
    det.alarm_rule_ = AlarmRule(threshold=1.0, tail=None)
    return det


def test_realtime_factor_on_tiled_sine(tiny_detector, sine_wav, one_torch_thread):
    res = speed.realtime_factor(tiny_detector, sine_wav, repeat_to_s=3)
    assert res["audio_s"] >= 3
    assert res["windows"] == 3
    assert res["realtime_factor"] > 0
    assert res["realtime_factor"] == pytest.approx(
        res["audio_s"] / (res["feature_s"] + res["score_s"]), rel=1e-6
    )
    assert res["evals_per_item"] == 1
    assert res["wall_s"] >= res["feature_s"] + res["score_s"]


def test_measure_feeds_speed_section(tiny_detector, sine_wav, one_torch_thread):
    res = speed.measure(tiny_detector, sine_wav, unet_batch=2, matmul_n=128, repeat_to_s=2)
    assert res["matmul_gflops"] > 0
    assert res["unet_input_shape"] == (2, 1, 32, 63)
    assert res["unet_gflops_per_forward"] > 0
    assert res["realtime"]["audio_s"] >= 2
    assert any(ln.startswith("Targets:") for ln in speed.speed_section(res))
