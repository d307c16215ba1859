"""Evaluate a fitted detector on labelled windows: the ``metrics.json`` contract."""

from __future__ import annotations

import time
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
from anomaly_diffusion.scoring.result import ScoreResult

METRIC_KEYS = (
    "auroc",
    "pauc",
    "f1",
    "precision",
    "recall",
    "threshold",
    "false_alarm_rate",
    "pixel_auroc",
    "aupro",
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
        applicable, e.g. pixel metrics without masks).
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
    masked = [i for i, w in enumerate(windows) if w.label == 1 and w.mask is not None]
    if masked:
        masks = np.stack([windows[i].mask for i in masked])
        maps = np.stack([result.maps[i] for i in masked])
        metrics["pixel_auroc"] = pixel_auroc(masks, maps)
        metrics["aupro"] = aupro(masks, maps)
    return metrics, result
