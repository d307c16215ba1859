"""Alarm thresholds on anomaly scores (higher score = more anomalous).

An item raises an alarm when ``score > threshold``; every threshold returned here is meant to be
used with that strict comparison.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import precision_recall_curve

from anomaly_diffusion.errors import ConfigError
from anomaly_diffusion.metrics.severity import NormalTail

_MARGIN_FRACTION = 0.01  # margin above equal scores, as a fraction of their magnitude


def _as_scores(scores: Sequence[float] | np.ndarray, *, name: str = "scores") -> np.ndarray:
    """Validates scores as a non-empty finite 1-D float array.

    Args:
        scores: Anomaly scores, shape (N,).
        name: Argument name used in error messages.

    Returns:
        The scores as float64, shape (N,).
    """
    arr = np.asarray(scores, dtype=np.float64)
    if arr.ndim != 1:
        raise ConfigError(f"{name}: expected a 1-D array, got shape {arr.shape}; flatten it first")
    if arr.size == 0:
        raise ConfigError(f"{name}: got an empty array; pass at least one score")
    if not np.all(np.isfinite(arr)):
        n_bad = int(np.sum(~np.isfinite(arr)))
        raise ConfigError(f"{name}: {n_bad} non-finite values (NaN/inf); drop or impute them first")
    return arr


def _as_labels_scores(
    labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Validates binary labels (1 = anomalous) and matching finite scores.

    Args:
        labels: Ground truth in {0, 1} or bool, shape (N,).
        scores: Anomaly scores, shape (N,).

    Returns:
        ``(labels, scores)`` as int64 and float64 arrays, shape (N,) each.
    """
    s = _as_scores(scores)
    y = np.asarray(labels)
    if y.shape != s.shape:
        raise ConfigError(
            f"labels: shape {y.shape} does not match scores shape {s.shape}; "
            "pass one label per score"
        )
    bad = np.setdiff1d(np.unique(y), [0, 1])
    if bad.size:
        raise ConfigError(
            f"labels: values {bad[:5].tolist()} are not binary; use 0 = normal, 1 = anomalous"
        )
    return y.astype(np.int64), s


def false_alarm_threshold(
    normal_scores: Sequence[float] | np.ndarray, *, target_far: float = 0.01
) -> float:
    """Threshold keeping the false-alarm rate on normal scores at or below ``target_far``.

    Uses the ``k``-th smallest score with ``k = ceil((n + 1) * (1 - target_far))`` (the split
    conformal quantile): a fresh normal score exceeds it with probability
    ``(n + 1 - k) / (n + 1) <= target_far`` when normal scores are exchangeable, and the
    fraction of ``normal_scores`` strictly above it is below ``target_far`` too. (The plain
    ``quantile(s, 1 - target_far, method="higher")`` lets about ``1.6 * target_far`` through
    at n = 120.) When there are too few scores to resolve that quantile (``k > n``, i.e.
    ``(n + 1) * target_far < 1``: even
    the highest of n normal scores is exceeded by a fresh normal score with probability
    ``1 / (n + 1)``), the threshold is extrapolated beyond the highest score with the
    exponential tail of :class:`~anomaly_diffusion.metrics.severity.NormalTail`, so that the
    expected false-alarm rate stays near ``target_far`` instead of ``1 / (n + 1)``; severity
    is then exactly ``1 - target_far`` at the threshold.

    Args:
        normal_scores: Scores of normal items, shape (N,).
        target_far: Allowed false-alarm rate, in (0, 1).

    Returns:
        The threshold; alarm when ``score > threshold``.
    """
    s = _as_scores(normal_scores, name="normal_scores")
    if not 0.0 < target_far < 1.0:
        raise ConfigError(f"target_far: got {target_far!r}; use a rate in (0, 1), e.g. 0.01")
    if (s.size + 1) * target_far < 1.0:
        hi = float(s.max())
        if s.size < 2 or hi <= float(s.min()):  # no spread to fit a tail to
            return hi + _MARGIN_FRACTION * max(abs(hi), 1.0)
        return NormalTail.fit(s).score_at(target_far)
    k = int(np.ceil((s.size + 1) * (1.0 - target_far) - 1e-9))
    return float(np.sort(s)[k - 1])


def f1_optimal_threshold(
    labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray
) -> float:
    """Threshold maximising F1 of ``scores > threshold`` against ``labels``.

    The best cut of ``sklearn.metrics.precision_recall_curve`` (which predicts
    ``score >= cut``) is moved halfway down to the next lower score, so the strict comparison
    reproduces the same split.

    Args:
        labels: Ground truth, 1 = anomalous, shape (N,).
        scores: Anomaly scores, shape (N,).

    Returns:
        The F1-optimal threshold.
    """
    y, s = _as_labels_scores(labels, scores)
    if y.min() == y.max():
        raise ConfigError(
            f"labels: only class {int(y[0])} present; F1 needs both normal (0) and anomalous (1)"
        )
    precision, recall, cuts = precision_recall_curve(y, s)
    precision, recall = precision[:-1], recall[:-1]
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(denom), where=denom > 0)
    cut = float(cuts[int(np.argmax(f1))])
    below = s[s < cut]
    if below.size == 0:
        return float(np.nextafter(cut, -np.inf))
    lower = float(below.max())
    mid = 0.5 * (cut + lower)
    return mid if lower <= mid < cut else lower
