"""The indicators a maintenance engineer already trends: overall RMS and kurtosis of each
vibration snapshot, alarmed at the mean + 3 standard deviations of the training snapshots
(the peers of the onset benchmark)."""

from __future__ import annotations

import numpy as np
from scipy import stats

INDICATORS = ("rms", "kurtosis")


def indicator(signal: np.ndarray, name: str) -> float:
    """``rms`` (units of the signal) or ``kurtosis`` (Pearson: 3 for Gaussian noise) of a
    snapshot ``(N,)``."""
    x = np.asarray(signal, dtype=np.float64).ravel()
    if name == "rms":
        return float(np.sqrt(np.mean(x**2)))
    if name == "kurtosis":
        return float(stats.kurtosis(x, fisher=False))
    raise ValueError(f"indicator {name!r}: use one of {INDICATORS}")


def three_sigma_threshold(train_values: np.ndarray) -> float:
    """Mean + 3 sd of the indicator over the normal training snapshots."""
    values = np.asarray(train_values, dtype=np.float64)
    return float(values.mean() + 3.0 * values.std())
