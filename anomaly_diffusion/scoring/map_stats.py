"""Normal statistics of anomaly maps: normalizing a map by how large the residual usually is at
each frequency bin / pixel turns "the model is always a bit wrong here" into a low score."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from scipy.ndimage import gaussian_filter

logger = logging.getLogger(__name__)


def fit_map_stats(
    maps: Sequence[np.ndarray], *, mode: str, sigma: float = 2.0
) -> tuple[np.ndarray, np.ndarray] | None:
    """Mean and std of raw maps of held-out normal windows.

    Args:
        maps: Raw maps ``(F, T)`` / ``(H, W)`` of normal windows (T may vary for ``row``).
        mode: ``row``: per row (frequency bin / sensor), pooled over columns, shape ``(F, 1)``;
            ``pixel``: per cell, shape ``(H, W)`` (per row when the maps differ in shape),
            smoothed with ``sigma`` so that few normal samples give stable statistics;
            ``none``: ``None``.

    Returns:
        ``(mean, std)`` float32, std floored at 5 % of its median, or ``None``.
    """
    if mode == "none" or not maps:
        return None
    if mode == "pixel" and len({m.shape for m in maps}) > 1:
        logger.warning(
            "map shapes differ (%s ...): per-row map statistics instead of per-pixel",
            sorted({m.shape for m in maps})[:3],
        )
        mode = "row"
    if mode == "row":
        stacked = np.concatenate([m for m in maps], axis=1)  # (F, sum of T)
        mean, std = stacked.mean(axis=1, keepdims=True), stacked.std(axis=1, keepdims=True)
    else:
        stacked = np.stack(maps)  # (N, H, W)
        mean = gaussian_filter(stacked.mean(axis=0), sigma=sigma, mode="nearest")
        std = gaussian_filter(stacked.std(axis=0), sigma=sigma, mode="nearest")
    std = np.maximum(std, 0.05 * float(np.median(std)) + 1e-12)
    return mean.astype(np.float32), std.astype(np.float32)


def apply_map_stats(amap: np.ndarray, stats: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
    """``(amap - mean) / std`` (a z-score against normal data); unchanged without stats or
    when a pixel map's shape does not match."""
    if stats is None:
        return amap
    mean, std = stats
    if mean.shape[1] != 1 and mean.shape != amap.shape:
        return amap
    if mean.shape[0] != amap.shape[0]:
        return amap
    return ((amap - mean) / std).astype(np.float32)
