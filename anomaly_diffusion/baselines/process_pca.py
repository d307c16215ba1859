"""PCA monitoring statistics of process tables: Hotelling's T² and Q (the squared prediction
error), computed on every row of a sensor window, as process monitoring does (MacGregor and
Kourti, "Statistical process control of multivariate processes", Control Eng. Practice 3, 1995;
the Tennessee Eastman reference of ``../shared/data/README.md``).

A row ``x`` (S standardized sensors) is projected on the ``k`` principal components that keep
``variance`` of the normal rows' variance: scores ``t = P^T x`` ``(k,)``. Then

- ``T² = sum_j t_j² / lambda_j``: how unusual the row is *inside* the normal subspace;
- ``Q = |x - P t|²``: how far it lies *outside* it (a broken correlation between sensors).

Maps are per sensor and row ``(S, T)``: each sensor's share of the statistic (T²:
``x_s * sum_j P_sj t_j / lambda_j``, which sums to T² over the sensors; Q: the squared residual of
the sensor), so the map's peak names a sensor. A window scores its highest row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from anomaly_diffusion.errors import ConfigError

STATISTICS = ("t2", "q")


@dataclass(frozen=True)
class RowPCA:
    """PCA of normal table rows.

    Attributes:
        mean: ``(S,)`` mean of the normal rows (subtracted before projecting).
        components: ``(S, k)`` loadings ``P`` (orthonormal columns).
        variances: ``(k,)`` variances ``lambda`` of the retained components.
    """

    mean: np.ndarray
    components: np.ndarray
    variances: np.ndarray


def _rows(windows: Sequence[np.ndarray]) -> np.ndarray:
    """``(sum T, S)`` rows of normalized sensor windows ``(1, S, T)``."""
    shapes = {np.shape(w)[:2] for w in windows}
    if len(shapes) != 1 or next(iter(shapes))[0] != 1:
        raise ConfigError(
            f"PCA T2/Q need sensor windows (1, sensors, rows) of one sensor set, got shapes "
            f"{sorted(shapes)[:3]}; use them on process tables (features.kind=sensor_window)"
        )
    return np.concatenate([np.asarray(w, dtype=np.float64)[0].T for w in windows])


def fit_row_pca(windows: Sequence[np.ndarray], *, variance: float = 0.90) -> RowPCA:
    """PCA of the rows of normalized normal windows, keeping ``variance`` of their variance
    (at least one component, at most S - 1 so that Q is never identically zero)."""
    rows = _rows(windows)
    n, s = rows.shape
    if n < 2:
        raise ConfigError(f"PCA needs at least 2 normal rows, got {n}; add normal data")
    mean = rows.mean(axis=0)
    centred = rows - mean
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    eig = singular**2 / (n - 1)
    share = np.cumsum(eig) / max(float(eig.sum()), 1e-12)
    k = int(np.searchsorted(share, variance - 1e-12) + 1)
    k = min(max(k, 1), max(s - 1, 1))
    return RowPCA(mean=mean, components=vt[:k].T, variances=np.maximum(eig[:k], 1e-12))


def row_maps(model: RowPCA, window: np.ndarray, statistic: str) -> np.ndarray:
    """Per-sensor contributions ``(S, T)`` to ``statistic`` (``t2`` or ``q``) of every row of a
    normalized window ``(1, S, T)``; summed over sensors they give the row's statistic."""
    if statistic not in STATISTICS:
        raise ConfigError(f"statistic={statistic!r}: use one of {STATISTICS}")
    x = np.asarray(window, dtype=np.float64)[0].T - model.mean  # (T, S), centred
    t = x @ model.components  # (T, k)
    if statistic == "t2":
        weighted = (t / model.variances) @ model.components.T  # (T, S)
        return (x * weighted).T
    residual = x - t @ model.components.T
    return (residual**2).T


def row_pca_scores(
    model: RowPCA, windows: Sequence[np.ndarray], statistic: str
) -> tuple[np.ndarray, list[np.ndarray]]:
    """``(scores (N,), maps (S, T) each)``: a window's score is its highest row's statistic."""
    maps = [row_maps(model, w, statistic).astype(np.float32) for w in windows]
    scores = np.array([float(m.sum(axis=0).max()) for m in maps])
    return scores, maps
