"""Evaluate a fitted detector on labelled windows: the ``metrics.json`` contract."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from anomaly_diffusion.data.windows import Window
from anomaly_diffusion.detector import DiffusionAnomalyDetector
from anomaly_diffusion.metrics import (
    aupro,
    auroc_by_defect,
    detection_metrics,
    pixel_auroc,
)
from anomaly_diffusion.metrics.pointwise import (
    file_row_labels,
    labelled_intervals,
    pointwise_metrics,
    row_scores,
    time_hit_rate,
)
from anomaly_diffusion.scoring.result import ScoreResult, peak_location

METRIC_KEYS = (
    "auroc",
    "pauc",
    "f1",
    "precision",
    "recall",
    "threshold",
    "false_alarm_rate",
    "false_alarm_rate_low",
    "false_alarm_rate_high",
    "pixel_auroc",
    "aupro",
    "pixel_metrics_images",
    "pointwise_auroc",
    "pointwise_f1",
    "pointwise_precision",
    "pointwise_recall",
    "time_hit_rate",
    "auroc_by_defect",
    "n_train",
    "n_test_normal",
    "n_test_anomalous",
    "train_seconds",
    "score_seconds_per_item",
    "network_evals_per_item",
)


def empty_metrics() -> dict[str, Any]:
    """Every contract key, ``None`` until known."""
    return dict.fromkeys(METRIC_KEYS)


def evaluate_windows(
    detector: DiffusionAnomalyDetector, windows: Sequence[Window], *, seed: int = 0
) -> tuple[dict[str, Any], ScoreResult]:
    """Score labelled test windows and compute detection and localization metrics.

    Returns:
        ``(metrics, result)``; metrics has every key of :data:`METRIC_KEYS` (``None`` when not
        applicable, e.g. pixel metrics without masks); the pixel metrics cover the images of
        :func:`pixel_ground_truth`, ``pixel_metrics_images`` of them.
    """
    metrics = empty_metrics()
    start = time.perf_counter()
    result = detector.score(windows, seed=seed)
    metrics["score_seconds_per_item"] = (time.perf_counter() - start) / max(1, len(windows))
    metrics["network_evals_per_item"] = result.network_evals_per_item
    labels = np.array([w.label for w in windows], dtype=int)
    threshold = result.threshold if result.threshold is not None else np.finfo(float).max
    metrics.update(detection_metrics(labels, result.scores, threshold=threshold))
    metrics["threshold"] = detector.threshold_
    defects = [w.item.defect for w in windows]
    metrics["auroc_by_defect"] = auroc_by_defect(labels, result.scores, defects) or None
    pixels = pixel_ground_truth(windows, result.maps)
    if pixels is not None:
        masks, maps = pixels
        metrics["pixel_auroc"] = pixel_auroc(masks, maps)
        metrics["aupro"] = aupro(masks, maps)
        metrics["pixel_metrics_images"] = len(masks)
    if any(w.row_labels is not None for w in windows):
        metrics.update(table_metrics(windows, result))
    return metrics, result


def pixel_ground_truth(
    windows: Sequence[Window], maps: Sequence[np.ndarray]
) -> tuple[np.ndarray, np.ndarray] | None:
    """The ``(masks, maps)`` stack the pixel metrics are computed on (MVTec AD / anomalib way).

    Every image with a ground-truth mask counts, and so does every defect-free image
    (``label == 0``) with an all-zero mask; anomalous images without a mask stay out (their
    ground truth is unknown). Only image windows whose map has the masks' 2-D shape get a zero
    mask, so spectrogram and table windows never count.

    Args:
        windows: The scored windows; masks ``(H, W)`` bool at feature resolution.
        maps: One map per window, ``(H, W)`` for images (the masks' resolution).

    Returns:
        ``(masks (N, H, W) bool, maps (N, H, W) float)``, or ``None`` when no window has a mask.
    """
    masked = [w.mask for w in windows if w.mask is not None]
    if not masked:
        return None
    shape = masked[0].shape
    picked = [
        (w.mask if w.mask is not None else np.zeros(shape, dtype=bool), m)
        for w, m in zip(windows, maps, strict=True)
        if w.mask is not None or (w.label == 0 and _is_image(w) and np.shape(m) == shape)
    ]
    return np.stack([k for k, _ in picked]), np.stack([m for _, m in picked])


def _is_image(window: Window) -> bool:
    """An image or video frame window (not a spectrogram or a sensor-table window)."""
    return window.freqs_hz is None and window.sample_rate is None and window.row_labels is None


def table_metrics(windows: Sequence[Window], result: ScoreResult) -> dict[str, Any]:
    """Point-wise metrics over the rows of labelled tables (each row scored by the highest
    window covering it) and the time-localization hit rate (share of labelled row intervals
    holding the map peak of an alarmed window, within two map columns)."""
    by_file: dict[str, list[int]] = defaultdict(list)
    for i, w in enumerate(windows):
        if w.row_labels is not None:
            by_file[w.item.path].append(i)
    thresholds = np.broadcast_to(
        np.asarray(np.inf if result.threshold is None else result.threshold, dtype=float),
        result.scores.shape,
    )
    labels, scores, row_thresholds, intervals, peaks = [], [], [], [], []
    for path, idx in by_file.items():
        file_labels, spans = file_row_labels(windows, idx)
        n = file_labels.size
        labels.append(file_labels)
        scores.append(row_scores(n, spans, result.scores[idx]))
        row_thresholds.append(np.full(n, thresholds[idx[0]]))
        rate = windows[idx[0]].sample_rate or 1.0
        tolerance = 2 * (windows[idx[0]].frame_s or 1.0 / rate)
        intervals += [
            (path, a / rate, b / rate, tolerance) for a, b in labelled_intervals(file_labels)
        ]
        peaks += [
            (path, peak_location(windows[i], result.maps[i])["peak_time_s"])
            for i in idx
            if result.scores[i] > thresholds[i]
        ]
    out = pointwise_metrics(
        np.concatenate(labels), np.concatenate(scores), np.concatenate(row_thresholds)
    )
    out.pop("pointwise_rows")
    hits = [
        time_hit_rate(
            [(a, b)], [t for p, t in peaks if p == path and t is not None], tolerance_s=tol
        )
        for path, a, b, tol in intervals
    ]
    out["time_hit_rate"] = float(np.mean(hits)) if hits else None
    return out
