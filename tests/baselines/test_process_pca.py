"""PCA T² and Q of table rows: the textbook statistics, with per-sensor contributions."""

from __future__ import annotations

import numpy as np
import pytest

from anomaly_diffusion.baselines.detector import BaselineDetector
from anomaly_diffusion.baselines.process_pca import fit_row_pca, row_maps, row_pca_scores
from anomaly_diffusion.config import FeatureConfig
from anomaly_diffusion.data.dataset import Item
from anomaly_diffusion.data.windows import Window
from anomaly_diffusion.detector import DetectorConfig
from anomaly_diffusion.errors import ConfigError


def _plant_rows(n: int, rng: np.random.Generator) -> np.ndarray:
    """``(n, 3)`` rows: two sensors follow one latent level, a third is independent."""
    level = rng.normal(size=n)
    return np.stack(
        [level + 0.05 * rng.normal(size=n), level + 0.05 * rng.normal(size=n), rng.normal(size=n)],
        axis=1,
    )


def _windows(rows: np.ndarray, width: int = 10) -> list[np.ndarray]:
    return [rows[i : i + width].T[None] for i in range(0, len(rows) - width + 1, width)]


def test_statistics_match_the_textbook_formulas():
    rng = np.random.default_rng(0)
    model = fit_row_pca(_windows(_plant_rows(2000, rng)), variance=0.9)
    assert model.components.shape == (3, 2)  # the shared level and the independent sensor
    x = np.array([[1.0, -1.0, 0.5]])  # breaks the correlation of sensors 0 and 1
    window = x.T[None]  # (1, S=3, T=1)
    centred = x[0] - model.mean
    t = centred @ model.components
    t2 = row_maps(model, window, "t2")
    q = row_maps(model, window, "q")
    assert t2.sum() == pytest.approx(float(np.sum(t**2 / model.variances)))
    assert q.sum() == pytest.approx(float(np.sum((centred - model.components @ t) ** 2)))
    assert q[:, 0].argmax() in (0, 1) and q[2, 0] < 0.05 * q.sum()  # the broken pair


def test_a_broken_correlation_is_caught_by_q_and_named():
    rng = np.random.default_rng(1)
    model = fit_row_pca(_windows(_plant_rows(2000, rng)))
    normal = _plant_rows(200, rng)
    broken = normal.copy()
    broken[:, 1] = rng.normal(size=200)  # sensor 1 no longer follows the level
    scores_n, _ = row_pca_scores(model, _windows(normal), "q")
    scores_b, maps_b = row_pca_scores(model, _windows(broken), "q")
    assert scores_b.min() > np.quantile(scores_n, 0.95)
    # Q's contributions: the broken sensor (or its partner, which now disagrees with it)
    assert np.mean([np.unravel_index(m.argmax(), m.shape)[0] in (0, 1) for m in maps_b]) == 1.0


def test_detector_names_and_refuses_other_features():
    table = FeatureConfig(kind="sensor_window", window_seconds=10.0, hop_length=1)
    rng = np.random.default_rng(2)
    rows = _plant_rows(400, rng)
    windows = [
        Window(features=w.astype(np.float32), item=Item("plant.csv"), channels=("a", "b", "c"))
        for w in _windows(rows)
    ]
    det = BaselineDetector("pca_t2", DetectorConfig("process", features=table))
    det.fit(windows[:30]).calibrate(windows[30:])
    result = det.score(windows[:2])
    assert result.maps[0].shape == (3, 10) and np.isfinite(det.threshold_)
    frames = DetectorConfig("camera", features=FeatureConfig(kind="frame", image_size=(8, 8)))
    pictures = [Window(np.zeros((1, 8, 8), np.float32), Item("x.png")) for _ in range(3)]
    with pytest.raises(ConfigError, match="model=pca_q is a process-monitoring statistic"):
        BaselineDetector("pca_q", frames).fit(pictures)
