"""Sensor whitening of process windows: pure functions on ``(..., S, T)`` arrays (S sensors,
T rows).

The sensors of a process are strongly correlated (a flow and the level it feeds, a temperature
and its controller's valve). Standardized one by one, a fault that breaks those relations —
each sensor within its normal range, but no longer in step with the others — is a small
residual among large normal swings; PCA's Q and T² statistics are process monitoring's answer.
Whitening each row's sensor vector with the covariance of the training rows,
``z = Sigma^{-1/2} x``, makes every direction of normal variation unit-variance: a departure
from the normal relations becomes as large as the departure of a sensor from its range, and
``|z|^2`` is the row's Mahalanobis distance. The diffusion model then learns the normal
dynamics of the whitened sensors (what a covariance cannot: time structure, several operating
modes).

The inverse square root is the symmetric (ZCA) one, the whitening closest to the identity:
whitened sensor ``i`` stays sensor ``i`` with what the others explain taken out, so a map's rows
stay aligned with the sensors. ``eps * I`` is added to the covariance (``eps = 0.01``:
1 % of a standardized sensor's variance, as for the camera's feature maps), so constant or
duplicated sensors do not blow up.

Which sensor? A fault on one sensor ``j`` moves the whitened vector along column ``j`` of the
matrix, which is as large on the sensors most correlated with ``j`` as on ``j`` itself: the
whitened residual does not say where the fault lies. The maps of a whitened model are therefore
*reconstruction-based contributions* (Alcala & Qin, Automatica 2009): for the residual ``r``
of the standardized sensors, sensor ``i``'s contribution is ``((Sigma^-1 r)_i)^2 /
(Sigma^-1)_ii``, the share of the row's Mahalanobis distance removed by reconstructing sensor
``i`` alone. For a fault on one sensor, that sensor's contribution is the largest (by
Cauchy-Schwarz on ``Sigma^-1``), whatever the correlations.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from anomaly_diffusion.errors import DataError
from anomaly_diffusion.features.whitening import COVARIANCE_EPS


def fit_sensor_whitening(
    windows: Sequence[np.ndarray], *, eps: float = COVARIANCE_EPS
) -> np.ndarray:
    """ZCA matrix ``(S, S)`` float32 of standardized windows.

    Args:
        windows: Standardized ``(1, S, T)`` windows (T may vary); every column is one row of
            the table.
        eps: Added to the covariance diagonal.

    Raises:
        DataError: fewer than 2 rows in all, windows of different sensor counts, or values
            that are not finite.
    """
    if len({w.shape[-2] for w in windows}) > 1:
        raise DataError(
            "sensor whitening: training windows have different sensor counts "
            f"{sorted({w.shape[-2] for w in windows})}; train on tables with the same sensors"
        )
    # covariance accumulated window by window (float64): no copy of the training rows
    n_sensors = windows[0].shape[-2] if windows else 0
    count, total = 0, np.zeros(n_sensors)
    outer = np.zeros((n_sensors, n_sensors))
    for w in windows:
        block = w.reshape(n_sensors, -1).astype(np.float64)
        if not np.isfinite(block).all():
            raise DataError(
                "sensor whitening: the training windows hold NaN or infinite values; fix or "
                "leave out those sensors (source.exclude_columns), or set "
                "features.sensor_whitening=none"
            )
        count += block.shape[1]
        total += block.sum(axis=1)
        outer += block @ block.T
    if count < 2:
        raise DataError(
            f"sensor whitening needs >= 2 training rows, got {count}; add training data "
            "or set features.sensor_whitening=none"
        )
    mean = total / count
    cov = (outer - count * np.outer(mean, mean)) / (count - 1)
    vals, vecs = np.linalg.eigh(cov + eps * np.eye(cov.shape[0]))
    return ((vecs / np.sqrt(np.maximum(vals, eps))) @ vecs.T).astype(np.float32)


def whiten_sensors(x: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``matrix @ x`` over the sensor axis of ``(..., S, T)`` standardized windows (float32)."""
    return np.einsum("ij,...jt->...it", matrix, x).astype(np.float32)


def sensor_contributions(residual: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """Reconstruction-based contributions ``(B, C, S, T)`` of whitened residuals.

    Args:
        residual: ``(B, C, S, T)`` residual in whitened units, ``z - z_hat`` (``W r`` for the
            residual ``r`` of the standardized sensors).
        matrix: The ``(S, S)`` whitening matrix ``W = Sigma^{-1/2}``.

    Returns:
        ``((W residual)_i)^2 / (W^2)_ii`` per sensor ``i`` and row: ``W (W r) = Sigma^-1 r``,
        and ``(W^2)_ii = (Sigma^-1)_ii``.
    """
    precision_diag = (matrix * matrix).sum(dim=0)  # (W^2)_ii = sum_k W_ki^2 (W symmetric)
    u = torch.einsum("ij,bcjt->bcit", matrix, residual)
    return u.pow(2) / precision_diag[:, None]
