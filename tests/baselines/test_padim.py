"""PaDiM math: per-position Gaussians, Mahalanobis maps, upsampled frame maps."""

from __future__ import annotations

import numpy as np
import pytest

from anomaly_diffusion.baselines.padim import fit_gaussians, mahalanobis_maps
from anomaly_diffusion.baselines.patch_maps import frame_maps
from anomaly_diffusion.errors import DataError


def test_mahalanobis_equals_a_direct_numpy_computation():
    rng = np.random.default_rng(0)
    train = rng.normal(size=(6, 3, 2, 2)).astype(np.float32)
    test = rng.normal(size=(4, 3, 2, 2)).astype(np.float32)
    gaussians = fit_gaussians(train)
    assert gaussians.grid == (2, 2) and gaussians.inv_covariance.shape == (4, 3, 3)
    found = mahalanobis_maps(test, gaussians)
    assert found.shape == (4, 2, 2) and found.dtype == np.float32
    for row in range(2):
        for col in range(2):
            x = train[:, :, row, col].astype(np.float64)
            inv = np.linalg.inv(np.cov(x, rowvar=False, ddof=1) + 0.01 * np.eye(3))
            for i in range(4):
                delta = test[i, :, row, col] - x.mean(axis=0)
                np.testing.assert_allclose(
                    found[i, row, col], np.sqrt(delta @ inv @ delta), rtol=1e-4
                )


def test_padim_needs_two_images_and_the_training_grid():
    with pytest.raises(DataError, match="at least 2 training images"):
        fit_gaussians(np.zeros((1, 3, 2, 2), np.float32))
    gaussians = fit_gaussians(np.random.default_rng(0).normal(size=(3, 3, 2, 2)))
    with pytest.raises(DataError, match=r"features\.image_size"):
        mahalanobis_maps(np.zeros((1, 3, 4, 4), np.float32), gaussians)


def test_frame_maps_upsample_bilinearly_then_smooth():
    grid = np.array([[[0.0, 1.0], [2.0, 3.0]]], dtype=np.float32)
    (sharp,) = frame_maps(grid, (4, 4), sigma=0)
    np.testing.assert_allclose(sharp[0], [0.0, 0.25, 0.75, 1.0])  # align_corners=False
    np.testing.assert_allclose(sharp[:, 0], [0.0, 0.5, 1.5, 2.0])
    (smooth,) = frame_maps(grid, (32, 48))
    assert smooth.shape == (32, 48) and smooth.dtype == np.float32
    assert smooth.std() < frame_maps(grid, (32, 48), sigma=0)[0].std()
