"""The readers and datasets on the public datasets in ../shared/data (skipped when absent,
failing under CI=true)."""

from __future__ import annotations

import numpy as np
import pytest

from anomaly_diffusion.config import FeatureConfig, SourceConfig
from anomaly_diffusion.data.dataset import discover, read_manifest
from anomaly_diffusion.data.windows import extract_windows

CWRU_WINDOW = 4096 / 48_000  # protocol: 4096-sample windows, hop 2048, at 48 kHz
CWRU_FEATURES = FeatureConfig(
    kind="stft", window_seconds=CWRU_WINDOW, hop_seconds=CWRU_WINDOW / 2, n_fft=256, hop_length=64
)
CWRU_SOURCE = SourceConfig(sample_rate=48_000, channel="DE")


def test_cwru_manifest_segments_and_windows(cwru):
    items = read_manifest(cwru / "manifest.csv")
    assert len(items) == 8
    assert [it.split for it in items].count("train") == 1
    assert {it.defect for it in items if it.label == 1} == {"ball", "inner_race", "outer_race_at6"}
    train = next(it for it in items if it.split == "train")
    windows = extract_windows(train, source=CWRU_SOURCE, features=CWRU_FEATURES)
    assert len(windows) == (3 * 48_000 - 4096) // 2048 + 1
    assert all(w.end_s <= 3.0 + 1e-9 for w in windows)  # never crosses the segment boundary
    assert windows[0].features.shape == (1, 129, 65)
    assert windows[0].sample_rate == 48_000


def test_toycar_layout_and_log_mel(toycar):
    items = discover(toycar)
    assert sum(it.split == "train" for it in items) == 248
    assert sum(it.split == "test" and it.label == 0 for it in items) == 50
    assert sum(it.label == 1 for it in items) == 50
    feats = FeatureConfig(kind="log_mel", n_fft=1024, hop_length=512, n_mels=128)
    (window,) = extract_windows(items[0], source=SourceConfig(), features=feats)
    assert window.features.shape == (1, 128, 376)  # 12 s at 16 kHz, hop 512, centred frames
    assert window.sample_rate == 16_000


def test_magnetic_tile_layout_and_masks(magnetic_tile):
    items = discover(magnetic_tile)
    assert sum(it.split == "train" for it in items) == 600
    assert sum(it.split == "test" and it.label == 0 for it in items) == 150
    anomalous = [it for it in items if it.label == 1]
    assert len(anomalous) == 289
    assert all(it.mask_path for it in anomalous)
    feats = FeatureConfig(kind="frame", image_size=(128, 128))
    (window,) = extract_windows(anomalous[0], source=SourceConfig(), features=feats)
    assert window.features.shape == (1, 128, 128)
    assert window.mask.shape == (128, 128) and window.mask.any() and not window.mask.all()
    assert window.features.min() >= 0.0 and window.features.max() <= 1.0


@pytest.mark.slow
def test_cwru_train_through_cli_separates_faults(cwru, train_cwru, tmp_path):
    _, metrics = train_cwru(
        f"features.window_seconds={CWRU_WINDOW}",
        f"features.hop_seconds={CWRU_WINDOW}",  # half the protocol's windows: the bench has all
        "training=quick",
        "training.max_steps=150",
        "diagnosis=skf6205",
    )
    assert metrics["auroc"] >= 0.95  # every simple detector reaches 1.00 on CWRU (PEERS.md)
    assert set(metrics["auroc_by_defect"]) == {"ball", "inner_race", "outer_race_at6"}
    assert np.isfinite(metrics["threshold"])
    # the saved model diagnoses the anomalous windows of the inner- and outer-race files
    from anomaly_diffusion import load_detector
    from anomaly_diffusion.data.dataset import Item
    from anomaly_diffusion.inference import score_items

    detector = load_detector(tmp_path / "run" / "model")
    for folder, word in (
        ("inner_race", "inner race (BPFI"),
        ("outer_race_at6", "outer race (BPFO"),
    ):
        items = [Item(str(p), end_s=1.0) for p in sorted((cwru / "fault" / folder).glob("*.npz"))]
        table = score_items(detector, items)
        flagged = table[table["is_anomaly"]]
        assert len(flagged) >= 10
        share = flagged["diagnosis"].str.startswith(word).mean()
        assert share >= 0.8, (folder, flagged["diagnosis"].value_counts().head())
