"""Held-out normals for the threshold: a short held-out tail is cut at a denser hop."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from anomaly_diffusion.config import FeatureConfig, SourceConfig
from anomaly_diffusion.data.dataset import Item
from anomaly_diffusion.detector import DetectorConfig, DiffusionAnomalyDetector
from anomaly_diffusion.inference import MIN_HELD_OUT_WINDOWS, held_out_hops, read_held_out

STFT = FeatureConfig(kind="stft", window_seconds=0.32, hop_seconds=0.16, n_fft=512, hop_length=128)


@pytest.fixture
def recording(tmp_path):
    path = tmp_path / "normal.wav"
    rng = np.random.default_rng(0)
    sf.write(path, (0.1 * rng.normal(size=3 * 16_000)).astype(np.float32), 16_000)
    return str(path)


def _detector() -> DiffusionAnomalyDetector:
    return DiffusionAnomalyDetector(
        DetectorConfig("vibration", source=SourceConfig(), features=STFT)
    )


def test_hops_halve_from_the_scoring_hop_to_an_eighth_of_the_window():
    assert held_out_hops(STFT) == pytest.approx([0.16, 0.08, 0.04])
    assert held_out_hops(FeatureConfig(kind="stft", window_seconds=1.0)) == pytest.approx(
        [1.0, 0.5, 0.25, 0.125]
    )
    assert held_out_hops(FeatureConfig(kind="frame")) == [None]  # frames, clips: one window each


def test_short_tail_of_one_recording_is_cut_at_a_denser_hop(recording):
    # CWRU's case: the last 0.6 s of one recording holds 2 windows of 0.32 s at hop 0.16 s,
    # too few to say anything about the spread of normal scores
    tail = Item(recording, start_s=2.4, end_s=3.0)
    windows, failures = read_held_out(_detector(), [tail])
    assert not failures
    starts = [w.start_s for w in windows]
    assert starts == pytest.approx(2.4 + 0.04 * np.arange(8))  # (0.6 - 0.32) / 0.04 + 1
    assert all(w.end_s <= 3.0 + 1e-9 for w in windows)  # never beyond the held-out part


def test_the_log_names_the_hop_the_windows_were_cut_at(recording, caplog):
    # 1.2 s: 6 windows at 0.16 s, 12 at 0.08 s, 23 at 0.04 s (the first with >= 16)
    caplog.set_level("INFO", logger="anomaly_diffusion.inference")
    windows, _ = read_held_out(_detector(), [Item(recording, start_s=1.8, end_s=3.0)])
    assert len(windows) == 23
    assert "6 window(s) at the scoring hop" in caplog.text
    assert "cut at hop 0.04 s instead (1/8 of the 0.32-s window): 23 window(s)" in caplog.text
    caplog.clear()
    windows, _ = read_held_out(_detector(), [Item(recording, start_s=0.6, end_s=3.0)])
    assert len(windows) == 27  # 14 at 0.16 s, then 27 at 0.08 s: enough, no denser
    assert "cut at hop 0.08 s instead (1/4 of the 0.32-s window): 27 window(s)" in caplog.text


def test_enough_windows_keep_the_scoring_hop(recording):
    whole = Item(recording, start_s=0.0, end_s=3.0)
    windows, _ = read_held_out(_detector(), [whole])
    assert len(windows) == 17 >= MIN_HELD_OUT_WINDOWS  # (3 - 0.32) / 0.16 + 1
    assert np.diff([w.start_s for w in windows]) == pytest.approx(0.16)
