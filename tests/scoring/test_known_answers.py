"""Known answers after real (short) training: an injected scratch / bearing impulse train scores
above the same clean input, and the map's peak lands on it (in the mask; near the 3 kHz ringing)."""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import pytest
from scipy.ndimage import binary_dilation

from anomaly_diffusion.config import FeatureConfig, ScoringConfig, SourceConfig, TrainingConfig
from anomaly_diffusion.data.dataset import Item, discover
from anomaly_diffusion.data.stream import load_windows
from anomaly_diffusion.data.synthetic import VIBRATION_RATE, camera_image, vibration_signal
from anomaly_diffusion.data.windows import Window
from anomaly_diffusion.detector import DetectorConfig, DiffusionAnomalyDetector
from anomaly_diffusion.diffusion.unet import UNetConfig
from anomaly_diffusion.features.spectrogram import stft_frequencies, stft_log_power
from anomaly_diffusion.scoring.result import peak_location

SMALL = UNetConfig(base_channels=16, channel_mults=(1, 2, 2))
TRAIN = TrainingConfig(max_steps=250, batch_size=8, crop=(32, 32), warmup_steps=20)
STFT = FeatureConfig(kind="stft", window_seconds=0.32, hop_seconds=0.16, n_fft=256, hop_length=64)


def _fit(plant, modality: str, features: FeatureConfig, scoring: ScoringConfig):
    items = [it for it in discover(plant[modality]) if it.split == "train"]
    windows, _ = load_windows(items, source=SourceConfig(), features=features)
    cfg = DetectorConfig(
        modality, features=features, network=SMALL, training=TRAIN, scoring=scoring
    )
    return DiffusionAnomalyDetector(cfg).fit(windows, seed=0)


@pytest.mark.slow
def test_scratch_scores_above_clean_and_peak_is_on_it(plant):
    det = _fit(
        plant,
        "camera",
        FeatureConfig(kind="frame"),
        ScoringConfig(t_start=100, smoothing_sigma=2.0, aggregation="max"),
    )
    bf16 = copy.deepcopy(det).with_scoring(replace(det.config.scoring, precision="bfloat16"))
    for seed in range(100, 105):
        clean, _ = camera_image(np.random.default_rng(seed))
        bad, mask = camera_image(np.random.default_rng(seed), defect="scratch")
        pair = [
            Window(
                features=(img[None] / 255.0).astype(np.float32),
                item=Item(path=f"probe_{seed}.png"),
                source_size=(64, 64),
            )
            for img in (clean, bad)
        ]  # same name: same noise draws for both
        result = det.score(pair)
        assert result.scores[1] > 1.5 * result.scores[0], seed
        row, col = np.unravel_index(np.argmax(result.maps[1]), (64, 64))
        assert binary_dilation(mask > 0, iterations=2)[row, col], seed
        fast = bf16.score(pair)  # the bfloat16 copy: the same verdict and peak, maps within ~1 %
        assert fast.maps[1].dtype == np.float32
        # measured: scores within 0.6 %, maps within 0.6 % of their peak, peaks within 1 pixel
        np.testing.assert_allclose(fast.scores, result.scores, rtol=0.01)
        peak = np.abs(result.maps[1]).max()
        assert np.abs(fast.maps[1] - result.maps[1]).max() <= 0.01 * peak, seed
        fast_peak = np.unravel_index(np.argmax(fast.maps[1]), (64, 64))
        assert max(abs(fast_peak[0] - row), abs(fast_peak[1] - col)) <= 1, (seed, fast_peak)
        assert fast.scores[1] > 1.5 * fast.scores[0], seed


@pytest.mark.slow
def test_bearing_impulses_score_above_clean_and_peak_at_the_resonance(plant):
    det = _fit(plant, "vibration", STFT, ScoringConfig(t_start=250))
    freqs = stft_frequencies(sample_rate=VIBRATION_RATE, n_fft=256)
    for seed in range(200, 204):
        pair = []
        for defect in (None, "bearing_fault"):
            x = vibration_signal(np.random.default_rng(seed), defect=defect)[None, :4096]
            feats = stft_log_power(x, sample_rate=VIBRATION_RATE, n_fft=256, hop_length=64)
            pair.append(
                Window(
                    features=feats,
                    item=Item(path=f"probe_{seed}.npz"),
                    start_s=0.0,
                    end_s=0.32,
                    freqs_hz=freqs,
                    frame_s=64 / VIBRATION_RATE,
                    sample_rate=VIBRATION_RATE,
                )
            )
        result = det.score(pair)
        assert result.scores[1] > 1.2 * result.scores[0], seed
        peak = peak_location(pair[1], result.maps[1])
        assert 2_500 <= peak["peak_freq_hz"] <= 3_500, (seed, peak)  # the ~3 kHz ringing
        assert 0.0 <= peak["peak_time_s"] <= 0.32
