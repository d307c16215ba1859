"""Map normalization against normal statistics, and its place in calibrate/save/load."""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np
import pytest

from anomaly_diffusion.config import FeatureConfig, ScoringConfig, SourceConfig, TrainingConfig
from anomaly_diffusion.data.dataset import discover
from anomaly_diffusion.data.stream import load_windows
from anomaly_diffusion.detector import DetectorConfig, DiffusionAnomalyDetector
from anomaly_diffusion.diffusion.unet import UNetConfig
from anomaly_diffusion.errors import ConfigError, DataError
from anomaly_diffusion.scoring.map_stats import apply_map_stats, fit_map_stats


def test_row_stats_z_score_each_row():
    rng = np.random.default_rng(0)
    scale = np.linspace(1, 10, 8)[:, None]  # row 7 is always 10x noisier than row 0
    normal = [np.abs(rng.standard_normal((1, 8, 20))) * scale for _ in range(30)]
    mean, std = fit_map_stats(normal, mode="row")
    assert mean.shape == (1, 8, 1) and std.shape == (1, 8, 1)
    z = apply_map_stats(np.abs(rng.standard_normal((1, 8, 40))) * scale, (mean, std))
    assert np.all(np.abs(z.mean(axis=-1)) < 0.5)  # every row now on the same footing
    bump = np.abs(rng.standard_normal((1, 8, 40))) * scale
    bump[0, 0, 5] += 5.0  # a small excess in the quiet row ...
    z = apply_map_stats(bump, (mean, std))
    assert np.unravel_index(np.argmax(z), z.shape) == (0, 0, 5)  # ... is now the peak


def test_pixel_stats_shape_and_none():
    rng = np.random.default_rng(1)
    maps = [rng.random((2, 16, 16)) * [[[1.0]], [[50.0]]] for _ in range(10)]
    mean, std = fit_map_stats(maps, mode="pixel")
    assert mean.shape == (2, 16, 16) and (std > 0).all()
    assert 20 < std[1].mean() / std[0].mean() < 80  # each map component has its own statistics
    assert fit_map_stats(maps, mode="none") is None
    assert apply_map_stats(maps[0], None) is maps[0]
    mean, _ = fit_map_stats([rng.random((1, 16, 16)), rng.random((1, 16, 20))], mode="pixel")
    assert mean.shape == (1, 16, 1)  # variable-length windows fall back to per-row statistics


def test_pixel_stats_z_score_a_map_of_another_length_per_row():
    """The check of issue #15: a clip of another length was left on the raw scale (peak 0.10
    against a z-score threshold). Per-cell statistics of (1, 8, 20) maps now z-score a
    (1, 8, 33) map per row: a map at each row's mean + 2 std reads 2."""
    rng = np.random.default_rng(3)
    mu = np.linspace(0.1, 1.0, 8)[:, None]
    sd = np.linspace(0.02, 0.3, 8)[:, None]
    normal = [mu + sd * rng.standard_normal((1, 8, 20)) for _ in range(200)]
    stats = fit_map_stats(normal, mode="pixel")
    longer = np.broadcast_to(mu + 2 * sd, (1, 8, 33)).astype(np.float32)
    z = apply_map_stats(longer, stats)
    assert z.shape == (1, 8, 33)
    # what the same values read at the calibrated length (pixel statistics are smoothed
    # across neighbouring rows too), row by row
    native = apply_map_stats(np.broadcast_to(mu + 2 * sd, (1, 8, 20)).astype(np.float32), stats)
    np.testing.assert_allclose(z, native.mean(axis=-1, keepdims=True).repeat(33, -1), atol=0.1)
    np.testing.assert_allclose(z[0, 2:6], 2.0, atol=0.3)  # a z-score, not the raw 0.1-1.6
    with pytest.raises(DataError, match=r"shape \(1, 6, 20\).*rows differ"):
        apply_map_stats(np.zeros((1, 6, 20), np.float32), stats)
    with pytest.raises(DataError, match="components or rows differ"):
        apply_map_stats(np.zeros((2, 8, 20), np.float32), stats)


@pytest.fixture(scope="module")
def camera_windows(plant):
    items = discover(plant["camera"])
    feats = FeatureConfig(kind="frame")
    train, _ = load_windows(
        [i for i in items if i.split == "train"], source=SourceConfig(), features=feats
    )
    return train[:20], train[20:]


def test_calibrate_fits_stats_on_half_and_roundtrips(camera_windows, tmp_path, one_torch_thread):
    fit, held = camera_windows
    cfg = DetectorConfig(
        "camera",
        network=UNetConfig(base_channels=8, channel_mults=(1, 2), groups=4),
        training=TrainingConfig(max_steps=5, batch_size=4, crop=(32, 32), warmup_steps=1),
        scoring=ScoringConfig(n_repeats=1, map_normalization="pixel"),
    )
    det = DiffusionAnomalyDetector(cfg).fit(fit).calibrate(held)
    assert det.map_stats_[0].shape == (1, 64, 64)
    # cross-fitting: the kept statistics come from the first half, and every held-out window
    # (scored with the other half's statistics) sets the threshold
    raw = det.raw_maps(held)
    half = len(raw) // 2
    np.testing.assert_allclose(det.map_stats_[0], fit_map_stats(raw[:half], mode="pixel")[0])
    assert det.normal_tail_.scores.size == len(held)
    second = det.score_maps(raw[half:]).scores  # with the kept (first-half) statistics
    assert all(np.isclose(det.normal_tail_.scores, v, rtol=1e-6).any() for v in second)
    before = det.score(held).scores
    loaded = DiffusionAnomalyDetector.load(det.save(tmp_path / "det"))
    np.testing.assert_allclose(loaded.map_stats_[1], det.map_stats_[1])
    np.testing.assert_allclose(loaded.score(held).scores, before, rtol=1e-6)
    plain = DiffusionAnomalyDetector(replace(cfg, scoring=ScoringConfig(n_repeats=1)))
    plain.fit(fit).calibrate(held)
    assert plain.map_stats_ is None
    with pytest.raises(ConfigError, match="calibrated without map statistics"):
        plain.with_scoring(ScoringConfig(map_normalization="row"))
    with pytest.raises(DataError, match="needs >= 4 held-out normal windows"):
        DiffusionAnomalyDetector(cfg).fit(fit).calibrate(held[:3])


def test_combined_maps_have_two_normalized_components(camera_windows, tmp_path, one_torch_thread):
    fit, held = camera_windows
    scoring = ScoringConfig(n_repeats=1, map_normalization="pixel", map_type="combined")
    cfg = DetectorConfig(
        "camera",
        network=UNetConfig(base_channels=8, channel_mults=(1, 2), groups=4),
        training=TrainingConfig(max_steps=5, batch_size=4, crop=(32, 32), warmup_steps=1),
        scoring=scoring,
    )
    det = DiffusionAnomalyDetector(cfg).fit(fit).calibrate(held)
    raw = det.raw_maps(held[:2])
    assert raw[0].shape == (2, 64, 64) and det.map_stats_[0].shape == (2, 64, 64)
    assert (raw[0][1] >= 0).all() and (raw[0][1] <= 2).all()  # 1 - cos lies in [0, 2]
    result = det.score(held)
    assert result.maps[0].shape == (64, 64) and result.network_evals_per_item == 2
    loaded = DiffusionAnomalyDetector.load(det.save(tmp_path / "det"))
    np.testing.assert_allclose(loaded.score(held).scores, result.scores, rtol=1e-6)
    with pytest.raises(ConfigError, match="map statistics are for map_type=combined"):
        loaded.with_scoring(replace(scoring, map_type="residual"))


def test_changed_settings_need_a_new_calibration_before_scoring(
    camera_windows, tmp_path, one_torch_thread
):
    """Issue #15: a threshold and map statistics fit for t_start=100 were used at t_start=250
    silently. Now score() and save() refuse until calibrate() has run for the new settings;
    batch size and precision leave the calibration valid."""
    fit, held = camera_windows
    cfg = DetectorConfig(
        "camera",
        network=UNetConfig(base_channels=8, channel_mults=(1, 2), groups=4),
        training=TrainingConfig(max_steps=5, batch_size=4, crop=(32, 32), warmup_steps=1),
        scoring=ScoringConfig(t_start=100, n_repeats=1, map_normalization="pixel"),
    )
    det = DiffusionAnomalyDetector(cfg).fit(fit).calibrate(held)
    assert det.stale_calibration() == {}
    assert [d["path"] for d in det.calibration_items_] == [
        os.path.abspath(w.item.path) for w in held
    ]
    old_threshold = det.threshold_
    det.with_scoring(replace(det.config.scoring, batch_size=3, precision="bfloat16"))
    assert det.stale_calibration() == {}
    det.score(held[:2])
    det.with_scoring(replace(det.config.scoring, t_start=250, smoothing_sigma=3.0))
    assert det.stale_calibration() == {"t_start": (100, 250), "smoothing_sigma": (1.0, 3.0)}
    with pytest.raises(ConfigError, match=r"scoring\.t_start=250 \(calibrated with 100\)"):
        det.score(held[:2])
    with pytest.raises(ConfigError, match="calibrate the detector for these settings"):
        det.save(tmp_path / "stale")
    det.calibrate(held)
    assert det.stale_calibration() == {} and det.threshold_ != old_threshold
    loaded = DiffusionAnomalyDetector.load(det.save(tmp_path / "fresh"))
    assert loaded.stale_calibration() == {} and loaded.config.scoring.t_start == 250
    assert loaded.calibration_items_ == det.calibration_items_
