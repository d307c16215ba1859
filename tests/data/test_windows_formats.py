"""Windows of the newer inputs: video frames, tables with gaps (windows never cross a gap that
splits the recording), a vibration column of a table analysed as a signal."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from anomaly_diffusion.config import FeatureConfig, SourceConfig
from anomaly_diffusion.data.dataset import Item, resolve_inputs
from anomaly_diffusion.data.windows import extract_windows
from anomaly_diffusion.errors import DataError


def test_video_gives_one_frame_window_per_sampled_frame(tmp_path):
    path = tmp_path / "line" / "belt.avi"
    path.parent.mkdir()
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (48, 32))
    for k in range(20):
        frame = np.full((32, 48, 3), 40, np.uint8)
        frame[10:18, 2 * k : 2 * k + 8] = 255
        writer.write(frame)
    writer.release()
    (item,) = resolve_inputs(str(path.parent))  # a folder of videos is a scoring input
    features = FeatureConfig(kind="frame", image_size=(16, 24))
    windows = extract_windows(item, source=SourceConfig(video_fps=5.0), features=features)
    assert len(windows) == 10
    assert [w.start_s for w in windows] == pytest.approx([0.2 * k for k in range(10)])
    assert all(w.features.shape == (1, 16, 24) and w.source_size == (32, 48) for w in windows)
    # the bright square moves right: its column centre grows frame after frame
    centres = [np.nonzero(w.features[0] > 0.6)[1].mean() for w in windows]
    assert np.all(np.diff(centres) > 0)


def _table(path: Path, t: np.ndarray) -> Path:
    pd.DataFrame({"time": t, "temp": np.sin(t), "accel": np.cos(7 * t)}).to_csv(path, index=False)
    return path


def test_table_windows_never_cross_a_long_gap(tmp_path):
    t = np.r_[np.arange(100) * 0.1, 60.0 + np.arange(100) * 0.1]  # 50 s outage after row 101
    item = Item(str(_table(tmp_path / "line.csv", t)))
    features = FeatureConfig(kind="sensor_window", window_seconds=3.2, hop_seconds=1.6)
    windows = extract_windows(item, source=SourceConfig(), features=features)
    assert len(windows) == 2 * 5  # per 10-s segment: (10 - 3.2) // 1.6 + 1
    for w in windows:
        assert w.end_s <= 10.0 + 1e-9 or w.start_s >= 10.0 - 1e-9
        assert np.isfinite(w.features).all() and w.features.shape == (1, 2, 32)


def test_table_column_as_vibration_signal(tmp_path):
    t = np.arange(4000) / 1000.0
    item = Item(str(_table(tmp_path / "accel.csv", t)))
    stft = FeatureConfig(kind="stft", window_seconds=1.0, n_fft=256, hop_length=64)
    with pytest.raises(DataError, match=r"source\.channel=<the column to analyse>"):
        extract_windows(item, source=SourceConfig(), features=stft)
    windows = extract_windows(item, source=SourceConfig(channel="accel"), features=stft)
    assert len(windows) == 4
    w = windows[0]
    assert w.features.shape[0] == 1 and w.sample_rate == pytest.approx(1000.0)
    peak = w.freqs_hz[np.argmax(w.features[0].mean(axis=1))]
    assert abs(peak - 7 / (2 * np.pi)) < 1000 / 256  # cos(7 t): 1.1 Hz, the lowest bins


def test_training_windows_of_tables_start_every_tenth_of_a_window(tmp_path):
    from anomaly_diffusion.data.windows import training_features

    preset = FeatureConfig(kind="sensor_window", window_seconds=64.0, hop_seconds=32.0)
    assert training_features(preset).hop_seconds == pytest.approx(6.4)
    assert training_features(preset).window_seconds == 64.0  # same windows, more of them
    dense = FeatureConfig(kind="sensor_window", window_seconds=64.0, hop_seconds=2.0)
    assert training_features(dense) is dense  # already denser: the user's
    spectro = FeatureConfig(kind="stft", window_seconds=1.0, hop_seconds=1.0)
    assert training_features(spectro) is spectro
    # a table read with the adapted 20-row windows: hop 2 rows for training, 10 for scoring
    n = 400
    table = tmp_path / "plant.csv"
    t = np.arange(n) * 180.0
    rng = np.random.default_rng(0)
    pd.DataFrame({"time_s": t, "a": rng.normal(size=n), "b": rng.normal(size=n)}).to_csv(
        table, index=False
    )
    item = Item(str(table))
    train = extract_windows(item, source=SourceConfig(), features=training_features(preset))
    score = extract_windows(item, source=SourceConfig(), features=preset)
    assert len(train) == (n - 20) // 2 + 1 and len(score) == (n - 20) // 10 + 1
    assert {w.features.shape for w in train} == {(1, 2, 20)}
