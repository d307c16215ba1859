"""Anomaly-map post-processing: pure functions on ``(H, W)`` arrays."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter


def smooth_map(amap: np.ndarray, *, sigma: float) -> np.ndarray:
    """Gaussian smoothing of one ``(H, W)`` map (sigma in cells; 0 returns a copy)."""
    amap = amap.astype(np.float32, copy=True)
    return gaussian_filter(amap, sigma=sigma, mode="nearest") if sigma > 0 else amap


def peak_of(amap: np.ndarray) -> tuple[int, int]:
    """``(row, col)`` of the map's maximum."""
    row, col = np.unravel_index(int(np.argmax(amap)), amap.shape)
    return int(row), int(col)
