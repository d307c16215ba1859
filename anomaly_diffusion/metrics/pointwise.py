"""Point-wise metrics for labelled sensor tables and the time-localization hit rate: pure
functions on row indices, window spans and scores (higher score = more anomalous)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score


def row_scores(
    n_rows: int, spans: Sequence[tuple[int, int]], scores: Sequence[float]
) -> np.ndarray:
    """Score of each row: the highest score of the windows that cover it.

    Args:
        n_rows: Rows (samples) of the table.
        spans: ``[start, stop)`` row range of each window.
        scores: Score of each window, same length as ``spans``.

    Returns:
        ``(n_rows,)`` float64; ``NaN`` for rows no window covers.
    """
    out = np.full(n_rows, -np.inf)
    for (start, stop), score in zip(spans, scores, strict=True):
        np.maximum(out[start:stop], score, out=out[start:stop])
    out[np.isneginf(out)] = np.nan
    return out


def file_row_labels(windows: Sequence, idx: Sequence[int]) -> tuple[np.ndarray, list]:
    """Row labels and window spans of one labelled table from its windows ``windows[i]`` for
    ``i`` in ``idx`` (each with ``row_start`` and ``row_labels``).

    Returns:
        ``(labels, spans)``: ``(n_rows,)`` int64 0/1 (rows no window covers are 0) and the
        ``[start, stop)`` row range of each window, in ``idx`` order.
    """
    spans = [(windows[i].row_start, windows[i].row_start + len(windows[i].row_labels)) for i in idx]
    labels = np.zeros(max(stop for _, stop in spans), dtype=np.int64)
    for i, (start, stop) in zip(idx, spans, strict=True):
        labels[start:stop] = windows[i].row_labels
    return labels, spans


def pointwise_metrics(
    labels: np.ndarray, scores: np.ndarray, thresholds: np.ndarray | float
) -> dict[str, float | None]:
    """AUROC, F1, precision and recall over rows (rows without a score are left out).

    Args:
        labels: ``(N,)`` 0/1 per row.
        scores: ``(N,)`` row scores from :func:`row_scores` (``NaN`` = not covered).
        thresholds: Alarm threshold, or one per row.

    Returns:
        ``pointwise_auroc`` (``None`` unless both classes occur), ``pointwise_f1``,
        ``pointwise_precision``, ``pointwise_recall``, ``pointwise_rows``.
    """
    labels = np.asarray(labels, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    thresholds = np.broadcast_to(np.asarray(thresholds, dtype=np.float64), scores.shape)
    keep = ~np.isnan(scores)
    y, s, t = labels[keep], scores[keep], thresholds[keep]
    pred = (s > t).astype(np.int64)
    both = 0 < y.sum() < y.size
    return {
        "pointwise_auroc": float(roc_auc_score(y, s)) if both else None,
        "pointwise_f1": float(f1_score(y, pred, zero_division=0)),
        "pointwise_precision": float(precision_score(y, pred, zero_division=0)),
        "pointwise_recall": float(recall_score(y, pred, zero_division=0)),
        "pointwise_rows": int(keep.sum()),
    }


def labelled_intervals(labels: np.ndarray) -> list[tuple[int, int]]:
    """``[start, stop)`` row ranges of consecutive labelled (1) rows."""
    padded = np.r_[0, np.asarray(labels, dtype=np.int8) > 0, 0].astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def time_hit_rate(
    intervals_s: Sequence[tuple[float, float]],
    alarm_peaks_s: Sequence[float],
    *,
    tolerance_s: float = 0.0,
) -> float | None:
    """Share of labelled anomalous intervals that an alarm localizes: at least one alarmed
    window's map peak (s) lies inside the interval, widened by ``tolerance_s`` on each side.

    Returns:
        Hit rate in 0-1, ``None`` without intervals.
    """
    if not intervals_s:
        return None
    peaks = np.asarray(alarm_peaks_s, dtype=np.float64)
    hits = sum(
        bool(np.any((peaks >= a - tolerance_s) & (peaks <= b + tolerance_s)))
        for a, b in intervals_s
    )
    return hits / len(intervals_s)
