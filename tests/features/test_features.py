"""Spectrograms, windowing, normalization, frames: pure functions with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from anomaly_diffusion.features.frames import resize_frame, sensor_window
from anomaly_diffusion.features.normalization import fit_normalization, normalize
from anomaly_diffusion.features.spectrogram import (
    log_mel,
    mel_frequencies,
    stft_frequencies,
    stft_log_power,
)
from anomaly_diffusion.features.windowing import window_bounds

SR = 16_000


def _tone(freq: float = 1000.0, seconds: float = 0.5, channels: int = 1) -> np.ndarray:
    t = np.arange(int(SR * seconds)) / SR
    x = 0.5 * np.sin(2 * np.pi * freq * t)
    return np.tile(x, (channels, 1)).astype(np.float32)


def test_stft_peak_at_tone_frequency():
    n_fft, hop = 256, 64
    spec = stft_log_power(_tone(), sample_rate=SR, n_fft=n_fft, hop_length=hop)
    freqs = stft_frequencies(sample_rate=SR, n_fft=n_fft)
    assert spec.dtype == np.float32
    assert spec.shape == (1, n_fft // 2 + 1, 1 + 8000 // hop)
    assert len(freqs) == spec.shape[1]
    assert freqs[0] == 0.0
    assert freqs[-1] == pytest.approx(SR / 2)
    peak_row = int(np.argmax(spec[0].mean(axis=1)))
    assert abs(freqs[peak_row] - 1000.0) <= SR / n_fft
    # the tone dominates the far-away bins by a wide margin (dB)
    assert spec[0, peak_row].mean() - spec[0, -5:].mean() > 40


def test_stft_max_freq_truncation_and_channels():
    n_fft = 256
    sig = np.stack([_tone(1000.0)[0], _tone(3000.0)[0]])
    spec = stft_log_power(sig, sample_rate=SR, n_fft=n_fft, hop_length=128, max_freq_hz=4000.0)
    freqs = stft_frequencies(sample_rate=SR, n_fft=n_fft, max_freq_hz=4000.0)
    # bins are 62.5 Hz apart: 0 .. 4000 inclusive = 65 rows
    assert len(freqs) == 65
    assert freqs[-1] == pytest.approx(4000.0)
    assert spec.shape == (2, 65, 1 + 8000 // 128)
    peaks = [freqs[int(np.argmax(spec[c].mean(axis=1)))] for c in range(2)]
    assert peaks[0] == pytest.approx(1000.0, abs=62.5)
    assert peaks[1] == pytest.approx(3000.0, abs=62.5)
    full = stft_log_power(sig, sample_rate=SR, n_fft=n_fft, hop_length=128)
    np.testing.assert_allclose(spec, full[:, :65], rtol=0, atol=1e-5)


def test_stft_of_silence_is_the_floor():
    spec = stft_log_power(np.zeros((1, 2048), np.float32), sample_rate=SR, n_fft=256)
    np.testing.assert_allclose(spec, -100.0, atol=1e-3)


def test_log_mel_peak_band_at_tone_frequency():
    n_mels = 64
    spec = log_mel(_tone(), sample_rate=SR, n_fft=1024, hop_length=256, n_mels=n_mels)
    centres = mel_frequencies(sample_rate=SR, n_mels=n_mels)
    assert spec.dtype == np.float32
    assert spec.shape == (1, n_mels, 1 + 8000 // 256)
    assert centres.shape == (n_mels,)
    assert bool(np.all(np.diff(centres) > 0))
    assert centres[0] > 0 and centres[-1] < SR / 2
    peak = int(np.argmax(spec[0].mean(axis=1)))
    assert centres[peak] == pytest.approx(1000.0, rel=0.10)


def test_log_mel_max_freq():
    n_mels = 32
    spec = log_mel(
        _tone(1000.0), sample_rate=SR, n_fft=512, hop_length=256, n_mels=n_mels, max_freq_hz=2000
    )
    centres = mel_frequencies(sample_rate=SR, n_mels=n_mels, max_freq_hz=2000)
    assert spec.shape[:2] == (1, n_mels)
    assert centres[-1] < 2000
    peak = int(np.argmax(spec[0].mean(axis=1)))
    assert centres[peak] == pytest.approx(1000.0, rel=0.10)


@pytest.mark.parametrize(
    ("n", "rate", "win", "hop", "expected"),
    [
        (10, 1.0, 5.0, None, [(0, 5), (5, 10)]),
        (10, 1.0, 4.0, 2.0, [(0, 4), (2, 6), (4, 8), (6, 10)]),
        (11, 1.0, 4.0, None, [(0, 4), (4, 8)]),
        (3, 1.0, 4.0, None, []),
        (7, 1.0, None, None, [(0, 7)]),
        (0, 1.0, None, None, []),
        (16_000, 16_000.0, 0.25, 0.125, [(i * 2000, i * 2000 + 4000) for i in range(7)]),
    ],
)
def test_window_bounds(n, rate, win, hop, expected):
    assert window_bounds(n, sample_rate=rate, window_seconds=win, hop_seconds=hop) == expected


def _features(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    row_means = np.array([0.0, 10.0, -5.0, 100.0])[None, :, None]
    row_stds = np.array([1.0, 2.0, 0.5, 10.0])[None, :, None]
    return [
        (row_means + row_stds * rng.normal(size=(2, 4, t))).astype(np.float32) for t in (30, 50, 20)
    ]


def test_fit_normalization_per_row():
    feats = _features()
    mean, std = fit_normalization(feats, per_row=True)
    assert mean.shape == (2, 4, 1) and std.shape == (2, 4, 1)
    assert mean.dtype == np.float32 and std.dtype == np.float32
    np.testing.assert_allclose(mean[0, :, 0], [0, 10, -5, 100], atol=1.5)
    normed = np.concatenate([normalize(f, mean, std) for f in feats], axis=2)
    assert normed.shape == (2, 4, 100)
    np.testing.assert_allclose(normed.mean(axis=2), 0.0, atol=1e-4)
    np.testing.assert_allclose(normed.std(axis=2), 1.0, atol=1e-4)


def test_fit_normalization_per_channel():
    feats = _features()
    mean, std = fit_normalization(feats, per_row=False)
    assert mean.shape == (2, 1, 1) and std.shape == (2, 1, 1)
    stacked = np.concatenate(feats, axis=2)
    np.testing.assert_allclose(mean[:, 0, 0], stacked.mean(axis=(1, 2)), rtol=1e-5)
    np.testing.assert_allclose(std[:, 0, 0], stacked.std(axis=(1, 2)), rtol=1e-5)
    normed = np.concatenate([normalize(f, mean, std) for f in feats], axis=2)
    np.testing.assert_allclose(normed.mean(axis=(1, 2)), 0.0, atol=1e-4)
    np.testing.assert_allclose(normed.std(axis=(1, 2)), 1.0, atol=1e-4)


def test_fit_normalization_floors_constant_rows():
    feats = _features()
    feats[0][:, 0] = 3.0
    feats[1][:, 0] = 3.0
    feats[2][:, 0] = 3.0
    _, std = fit_normalization(feats, per_row=True)
    assert bool(np.all(std > 0))
    assert np.isfinite(normalize(feats[0], *fit_normalization(feats, per_row=True))).all()


def test_resize_frame_shape_and_identity():
    rng = np.random.default_rng(0)
    img = rng.random((3, 20, 30)).astype(np.float32)
    out = resize_frame(img, size=(10, 15))
    assert out.shape == (3, 10, 15)
    assert out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    same = resize_frame(img, size=(20, 30))
    np.testing.assert_array_equal(same, img)
    const = resize_frame(np.full((1, 7, 9), 0.25, np.float32), size=(64, 64))
    np.testing.assert_allclose(const, 0.25, atol=1e-6)
    # channels stay separate
    two = np.stack([np.zeros((8, 8)), np.ones((8, 8))]).astype(np.float32)
    out2 = resize_frame(two, size=(16, 12))
    np.testing.assert_allclose(out2[0], 0.0, atol=1e-6)
    np.testing.assert_allclose(out2[1], 1.0, atol=1e-6)


def test_sensor_window():
    table = np.arange(12, dtype=np.float64).reshape(3, 4)
    out = sensor_window(table)
    assert out.shape == (1, 3, 4)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out[0], table.astype(np.float32))
