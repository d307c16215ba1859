"""Item-level detection metrics (higher score = more anomalous, alarm when ``score > threshold``).

Every returned number is a plain Python ``float``/``int`` (JSON-serializable); a metric that is
not defined for the given data (e.g. AUROC with a single class) is ``None``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.stats import binomtest
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

from anomaly_diffusion.errors import ConfigError
from anomaly_diffusion.metrics.thresholds import _as_labels_scores

PAUC_MAX_FPR = 0.1


def detection_metrics(
    labels: Sequence[int] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    *,
    threshold: float | np.ndarray,
) -> dict[str, Any]:
    """Threshold-free and thresholded detection metrics.

    Args:
        labels: Ground truth, 1 = anomalous, shape (N,).
        scores: Anomaly scores, shape (N,).
        threshold: Alarm threshold, or one per item ``(N,)`` (per-asset thresholds);
            predicted anomalous when ``score > threshold``.

    Returns:
        Dict with keys ``auroc``, ``pauc`` (McClish-standardised AUROC up to FPR 0.1, as
        ``roc_auc_score(max_fpr=0.1)``), ``f1``, ``precision``, ``recall``, ``threshold``,
        ``false_alarm_rate`` (fraction of normal scores > threshold) with its exact 95 %
        binomial (Clopper-Pearson) interval ``false_alarm_rate_low`` / ``_high`` (how
        precisely this many normal items can measure a rate: 0 of 50 still allows 7.1 %),
        ``n_test_normal``, ``n_test_anomalous``. Ranking and F1-type metrics are ``None``
        unless both classes are present; the false-alarm figures are ``None`` without normal
        items.
    """
    y, s = _as_labels_scores(labels, scores)
    thresholds = np.broadcast_to(np.asarray(threshold, dtype=np.float64), s.shape)
    if not np.isfinite(thresholds).all():
        raise ConfigError(f"threshold: got {threshold!r}; pass finite numbers")
    n_anomalous = int(y.sum())
    n_normal = int(y.size - n_anomalous)
    pred = (s > thresholds).astype(np.int64)
    out: dict[str, Any] = dict.fromkeys(("auroc", "pauc", "f1", "precision", "recall"))
    if n_normal and n_anomalous:
        out["auroc"] = float(roc_auc_score(y, s))
        out["pauc"] = float(roc_auc_score(y, s, max_fpr=PAUC_MAX_FPR))
        out["f1"] = float(f1_score(y, pred, zero_division=0))
        out["precision"] = float(precision_score(y, pred, zero_division=0))
        out["recall"] = float(recall_score(y, pred, zero_division=0))
    out["threshold"] = float(threshold) if np.ndim(threshold) == 0 else None
    out["false_alarm_rate"] = out["false_alarm_rate_low"] = out["false_alarm_rate_high"] = None
    if n_normal:
        false_alarms = int(pred[y == 0].sum())
        ci = binomtest(false_alarms, n_normal).proportion_ci(confidence_level=0.95)
        out["false_alarm_rate"] = false_alarms / n_normal
        out["false_alarm_rate_low"], out["false_alarm_rate_high"] = float(ci.low), float(ci.high)
    out["n_test_normal"] = n_normal
    out["n_test_anomalous"] = n_anomalous
    return out


def auroc_by_defect(
    labels: Sequence[int] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    defects: Sequence[str] | np.ndarray,
) -> dict[str, float]:
    """AUROC of all normal items versus the items of each defect kind.

    Args:
        labels: Ground truth, 1 = anomalous, shape (N,).
        scores: Anomaly scores, shape (N,).
        defects: Defect kind of each item, shape (N,); ignored where ``labels == 0``.

    Returns:
        ``{defect: auroc}`` sorted by defect name, one entry per defect kind among the
        anomalous items; empty when there are no normal items.
    """
    y, s = _as_labels_scores(labels, scores)
    kinds = np.asarray(defects, dtype=object).astype(str)
    if kinds.shape != s.shape:
        raise ConfigError(
            f"defects: shape {kinds.shape} does not match scores shape {s.shape}; "
            "pass one defect kind per item"
        )
    normal = y == 0
    if not normal.any():
        return {}
    out: dict[str, float] = {}
    for kind in sorted(set(kinds[~normal].tolist())):
        sel = normal | ((y == 1) & (kinds == kind))
        out[kind] = float(roc_auc_score(y[sel], s[sel]))
    return out


def bootstrap_auroc_ci(
    labels: Sequence[int] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    *,
    n_boot: int = 1000,
    alpha: float = 0.05,
    rng: np.random.Generator,
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the AUROC.

    Normal and anomalous items are resampled separately (stratified), so every resample keeps
    the original class counts.

    Args:
        labels: Ground truth, 1 = anomalous, shape (N,).
        scores: Anomaly scores, shape (N,).
        n_boot: Number of bootstrap resamples, >= 1.
        alpha: Two-sided miscoverage, in (0, 1); 0.05 gives a 95 % interval.
        rng: Random generator for the resampling.

    Returns:
        ``(low, high)``, the ``alpha/2`` and ``1 - alpha/2`` quantiles of the resampled AUROCs.
    """
    y, s = _as_labels_scores(labels, scores)
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 1:
        raise ConfigError(f"n_boot: got {n_boot!r}; use a positive integer, e.g. 1000")
    if not 0.0 < alpha < 1.0:
        raise ConfigError(f"alpha: got {alpha!r}; use a level in (0, 1), e.g. 0.05")
    if not isinstance(rng, np.random.Generator):
        raise ConfigError(f"rng: got {type(rng).__name__}; pass np.random.default_rng(seed)")
    normal, anomalous = s[y == 0], s[y == 1]
    if normal.size == 0 or anomalous.size == 0:
        raise ConfigError(
            "labels: AUROC needs both classes, got "
            f"{normal.size} normal and {anomalous.size} anomalous; add the missing class"
        )
    y_boot = np.r_[np.zeros(normal.size, dtype=np.int64), np.ones(anomalous.size, dtype=np.int64)]
    aucs = np.empty(n_boot)
    for b in range(n_boot):
        s_boot = np.r_[rng.choice(normal, normal.size), rng.choice(anomalous, anomalous.size)]
        aucs[b] = roc_auc_score(y_boot, s_boot)
    low, high = np.quantile(aucs, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)
