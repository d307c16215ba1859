"""Reference detectors on the same features as the diffusion model (the peers of BENCHMARKS.md).

Each takes normalized training items and test items of one shape ``(C, F, T)`` / ``(C, H, W)``
and returns test scores (higher = more anomalous) plus, where the method has one, a map.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest

from anomaly_diffusion.scoring.aggregate import aggregate_map
from anomaly_diffusion.scoring.maps import smooth_map


def _flat(items: Sequence[np.ndarray]) -> np.ndarray:
    return np.stack([np.asarray(x, dtype=np.float32).reshape(-1) for x in items])


def fit_isolation_forest(
    train: Sequence[np.ndarray], *, seed: int = 0, n_estimators: int = 100
) -> IsolationForest:
    """IsolationForest on flattened normalized normal items."""
    return IsolationForest(n_estimators=n_estimators, random_state=seed).fit(_flat(train))


def isolation_forest_scores(
    train: Sequence[np.ndarray],
    test: Sequence[np.ndarray],
    *,
    seed: int = 0,
    n_estimators: int = 100,
) -> np.ndarray:
    """IsolationForest on flattened items; ``(N_test,)`` scores (negated ``score_samples``)."""
    model = fit_isolation_forest(train, seed=seed, n_estimators=n_estimators)
    return -model.score_samples(_flat(test))


def fit_pca(train: Sequence[np.ndarray], *, variance: float = 0.95) -> PCA:
    """PCA keeping ``variance`` of the training variance of flattened items."""
    return PCA(n_components=variance, svd_solver="full").fit(_flat(train))


def pca_scores(
    pca: PCA,
    test: Sequence[np.ndarray],
    *,
    smoothing_sigma: float = 1.0,
    topk_fraction: float = 0.01,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Squared reconstruction residual map per item (mean over channels, Gaussian-smoothed),
    scored by the top-k mean as the diffusion model.

    Returns:
        ``(scores (N_test,), maps)`` with maps of shape ``(F, T)`` / ``(H, W)``.
    """
    x_test = _flat(test)
    recon = pca.inverse_transform(pca.transform(x_test))
    shape = np.asarray(test[0]).shape
    residual = ((x_test - recon) ** 2).reshape(len(test), *shape).mean(axis=1)
    maps = [smooth_map(r, sigma=smoothing_sigma) for r in residual]
    scores = np.array([aggregate_map(m, method="topk", topk_fraction=topk_fraction) for m in maps])
    return scores, maps


def pca_reconstruction(
    train: Sequence[np.ndarray],
    test: Sequence[np.ndarray],
    *,
    variance: float = 0.95,
    smoothing_sigma: float = 1.0,
    topk_fraction: float = 0.01,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """PCA fit on ``train``, residual maps and scores of ``test`` (see :func:`pca_scores`)."""
    return pca_scores(
        fit_pca(train, variance=variance),
        test,
        smoothing_sigma=smoothing_sigma,
        topk_fraction=topk_fraction,
    )
