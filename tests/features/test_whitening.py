"""Per-position whitening: known answers on correlated Gaussian maps."""

from __future__ import annotations

import numpy as np
import pytest

from anomaly_diffusion.errors import ConfigError
from anomaly_diffusion.features.whitening import fit_position_whitening, whiten_positions


def _maps(n: int, k: int = 6, h: int = 3, w: int = 70, seed: int = 0) -> np.ndarray:
    """Maps whose every position has its own mean and its own channel covariance (w * h = 210
    positions: more than one processing chunk)."""
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(h * w, k, k)) * np.linspace(0.2, 3.0, h * w)[:, None, None]
    centre = rng.normal(scale=5.0, size=(h * w, k))
    z = rng.normal(size=(n, h * w, k))
    x = np.einsum("pdc,npc->npd", mixing, z) + centre
    return x.transpose(0, 2, 1).reshape(n, k, h, w).astype(np.float32), mixing, centre


def test_whitened_training_maps_are_standard_normal_at_every_position():
    maps, _, centre = _maps(4000)
    mean, matrix = fit_position_whitening(maps, eps=1e-9)
    assert mean.shape == (6, 3, 70) and matrix.shape == (210, 6, 6)
    np.testing.assert_allclose(mean.reshape(6, -1).T, centre, atol=0.5)
    out = whiten_positions(maps.copy(), mean, matrix)
    flat = out.reshape(len(out), 6, -1)
    assert np.abs(flat.mean(axis=0)).max() < 1e-4
    for p in (0, 71, 209):
        cov = np.cov(flat[:, :, p].T)
        np.testing.assert_allclose(cov, np.eye(6), atol=1e-3)
    # symmetric (ZCA) matrices: channels keep their identity
    np.testing.assert_allclose(matrix, matrix.transpose(0, 2, 1), atol=1e-4)


def test_squared_norm_is_the_mahalanobis_distance_of_new_data():
    train, mixing, centre = _maps(3000, seed=1)
    test, _, _ = _maps(5, seed=2)
    mean, matrix = fit_position_whitening(train, eps=1e-9)
    z = whiten_positions(test.copy(), mean, matrix).reshape(5, 6, -1)
    x = test.reshape(5, 6, -1)
    for p in (3, 150):
        cov = mixing[p] @ mixing[p].T
        d = x[:, :, p] - centre[p]
        maha = np.einsum("nc,cd,nd->n", d, np.linalg.inv(cov), d)
        np.testing.assert_allclose((z[:, :, p] ** 2).sum(1), maha, rtol=0.1)


def test_in_place_and_refusals():
    maps, _, _ = _maps(50)
    mean, matrix = fit_position_whitening(maps)
    copy = maps.copy()
    assert whiten_positions(copy, mean, matrix) is copy
    with pytest.raises(ConfigError, match=r"keep features\.image_size"):
        whiten_positions(maps[:, :, :2].copy(), mean, matrix)
    with pytest.raises(ConfigError, match="at least 2 training frames"):
        fit_position_whitening(maps[:1])


def test_few_samples_still_invertible_thanks_to_the_regularization():
    maps, _, _ = _maps(4, k=16, w=5)  # 4 samples in 16 dimensions: singular sample covariance
    mean, matrix = fit_position_whitening(maps)
    assert np.isfinite(matrix).all()
    out = whiten_positions(maps.copy(), mean, matrix)
    assert np.isfinite(out).all() and np.abs(out).max() < 100


def test_channel_stats_match_numpy_without_full_size_temporaries():
    from anomaly_diffusion.model_inputs import _channel_stats

    rng = np.random.default_rng(0)
    maps = (
        rng.normal(size=(70, 5, 6, 7)) * [[[[1.0]], [[2.0]], [[0.5]], [[3.0]], [[1e-9]]]] + 4.0
    ).astype(np.float32)
    mean, std = _channel_stats(maps, chunk=16)  # 70 maps: chunks of 16 with a remainder
    assert mean.shape == std.shape == (5, 1, 1) and mean.dtype == std.dtype == np.float32
    np.testing.assert_allclose(mean[:, 0, 0], maps.mean(axis=(0, 2, 3)), rtol=1e-6)
    expected = maps.astype(np.float64).std(axis=(0, 2, 3))
    np.testing.assert_allclose(std[:4, 0, 0], expected[:4], rtol=1e-5)
    # a constant channel is floored at 1e-3 of the median deviation, never divides by ~0
    assert std[4, 0, 0] == pytest.approx(1e-3 * np.median(std[:, 0, 0]) + 1e-6, rel=1e-2)
