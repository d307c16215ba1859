"""PaDiM (Defard et al., ICPR 2020): one multivariate Gaussian per feature-map position, fit
on the normal training images; a test patch is scored by its Mahalanobis distance to the
Gaussian of its position.

Pure functions on float32 arrays (torch inside, numpy in and out).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from anomaly_diffusion.errors import DataError
from anomaly_diffusion.features.whitening import COVARIANCE_EPS, per_position_covariance

_IMAGES_PER_CHUNK = 32


@dataclass(frozen=True)
class PositionGaussians:
    """Per-position Gaussians of ``D``-dimensional features on an ``h x w`` grid.

    Attributes:
        mean: ``(h * w, D)`` float32, positions row-major.
        inv_covariance: ``(h * w, D, D)`` float32, inverse of ``cov + eps * I``.
        grid: ``(h, w)``.
    """

    mean: np.ndarray
    inv_covariance: np.ndarray
    grid: tuple[int, int]


def fit_gaussians(feature_maps: np.ndarray, *, eps: float = COVARIANCE_EPS) -> PositionGaussians:
    """Mean and regularized inverse covariance (unbiased, ``+ eps * I``) of the feature vector
    at each position of ``feature_maps`` ``(N, D, h, w)``, ``N >= 2``, computed in float64 a
    few positions at a time."""
    n, _, h, w = feature_maps.shape
    if n < 2:
        raise DataError(
            f"model=padim needs at least 2 training images for a covariance, got {n}; "
            "add files to train/good"
        )
    mean, inv = per_position_covariance(feature_maps, torch.linalg.inv, eps=eps)
    return PositionGaussians(mean, inv, (h, w))


def mahalanobis_maps(feature_maps: np.ndarray, gaussians: PositionGaussians) -> np.ndarray:
    """Mahalanobis distance ``sqrt((x - mu)^T S^-1 (x - mu))`` of each position of
    ``feature_maps`` ``(N, D, h, w)`` to its Gaussian: ``(N, h, w)`` float32 (a few images at
    a time)."""
    n, d, h, w = feature_maps.shape
    if (h, w) != gaussians.grid or d != gaussians.mean.shape[1]:
        raise DataError(
            f"feature maps of {d} x {h} x {w} do not match the PaDiM fit "
            f"({gaussians.mean.shape[1]} x {gaussians.grid[0]} x {gaussians.grid[1]}); "
            "score frames of the training features.image_size"
        )
    x = torch.from_numpy(np.asarray(feature_maps, dtype=np.float32)).reshape(n, d, h * w)
    mean = torch.from_numpy(gaussians.mean)
    inv = torch.from_numpy(gaussians.inv_covariance)
    out = torch.empty(n, h * w)
    for start in range(0, n, _IMAGES_PER_CHUNK):
        delta = x[start : start + _IMAGES_PER_CHUNK].permute(2, 0, 1) - mean[:, None]  # (P, n, D)
        squared = (torch.bmm(delta, inv) * delta).sum(dim=2)  # (P, n)
        out[start : start + _IMAGES_PER_CHUNK] = squared.clamp_(min=0).sqrt_().T
    return out.reshape(n, h, w).numpy()
