"""Detection, threshold and localization metrics (pure functions, higher score = more anomalous)."""

from __future__ import annotations

from anomaly_diffusion.metrics.detection import (
    auroc_by_defect,
    bootstrap_auroc_ci,
    detection_metrics,
)
from anomaly_diffusion.metrics.localization import aupro, pixel_auroc, resize_masks
from anomaly_diffusion.metrics.thresholds import f1_optimal_threshold, false_alarm_threshold

__all__ = [
    "aupro",
    "auroc_by_defect",
    "bootstrap_auroc_ci",
    "detection_metrics",
    "f1_optimal_threshold",
    "false_alarm_threshold",
    "pixel_auroc",
    "resize_masks",
]
