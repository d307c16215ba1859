"""Baselines behind the detector interface: fit, calibrate at the false-alarm rate, score."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from anomaly_diffusion.baselines.detector import BaselineDetector
from anomaly_diffusion.config import FeatureConfig
from anomaly_diffusion.data.dataset import Item
from anomaly_diffusion.data.windows import Window
from anomaly_diffusion.detector import DetectorConfig
from anomaly_diffusion.errors import ConfigError, DataError, NotFittedError


def _frames(n: int, seed: int, spot: bool = False) -> list[Window]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        x = 0.5 + 0.02 * rng.normal(size=(1, 16, 16)).astype(np.float32)
        if spot:
            x[0, 4:10, 8:14] += 0.5
        out.append(Window(features=x, item=Item(f"{seed}_{i}.png"), label=int(spot)))
    return out


@pytest.mark.parametrize("name", ["isolation_forest", "pca", "dense_ae"])
def test_baselines_separate_a_bright_spot(name):
    cfg = DetectorConfig("camera", features=FeatureConfig(kind="frame", image_size=(16, 16)))
    det = BaselineDetector(name, cfg, max_minutes=1.0)  # 100 epochs end it first
    with pytest.raises(NotFittedError):
        det.score(_frames(2, 0))
    det.fit(_frames(80, 1), seed=0)
    det.calibrate(_frames(100, 2))
    normal, spots = det.score(_frames(50, 3)), det.score(_frames(20, 4, spot=True))
    labels = np.r_[np.zeros(50), np.ones(20)]
    auroc = roc_auc_score(labels, np.r_[normal.scores, spots.scores])
    # reconstruction baselines see the spot at once; random axis splits of a forest over
    # 256 pixels find it less reliably
    assert auroc >= (0.9 if name == "isolation_forest" else 0.99)
    # calibrated on 100 normals at 1 %: P(3 or more false alarms among 50) is about 1 %
    assert np.sum(normal.scores > det.threshold_) <= 2
    if name != "isolation_forest":
        assert spots.is_anomaly.all()
    assert normal.maps[0].shape == (16, 16) and normal.network_evals_per_item == 0
    if name != "isolation_forest":  # reconstruction baselines localize
        row, col = np.unravel_index(np.argmax(spots.maps[0]), (16, 16))
        assert 3 <= row <= 10 and 7 <= col <= 14


def test_unknown_baseline_and_mixed_shapes():
    with pytest.raises(ConfigError, match="model='knn': unknown"):
        BaselineDetector("knn", DetectorConfig())
    det = BaselineDetector("pca", DetectorConfig())
    windows = _frames(4, 0)
    windows.append(Window(features=np.zeros((1, 8, 8), np.float32), item=Item("small.png")))
    with pytest.raises(DataError, match=r"features\.window_seconds"):
        det.fit(windows)
