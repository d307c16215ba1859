"""Anomaly-map post-processing: pure functions on ``(H, W)`` arrays."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter


def smooth_map(amap: np.ndarray, *, sigma: float, across_rows: bool = True) -> np.ndarray:
    """Gaussian smoothing of one ``(H, W)`` map (sigma in cells; 0 returns a copy).

    ``across_rows=False`` smooths along the columns only: the rows of a sensors x time map are
    sensors, and neighbouring sensors in the table's column order are not neighbours in the
    plant; smoothing across them moves a fault's peak onto the sensor printed next to it.
    """
    amap = amap.astype(np.float32, copy=True)
    if sigma <= 0:
        return amap
    return gaussian_filter(amap, sigma=(sigma if across_rows else 0.0, sigma), mode="nearest")


def rows_are_neighbours(kind: str) -> bool:
    """Whether the rows of a ``features.kind`` map are neighbours (frequency bins, image rows:
    yes; the sensors of a ``sensor_window``: no), i.e. whether maps may be smoothed across them."""
    return kind != "sensor_window"


def peak_of(amap: np.ndarray) -> tuple[int, int]:
    """``(row, col)`` of the map's maximum."""
    row, col = np.unravel_index(int(np.argmax(amap)), amap.shape)
    return int(row), int(col)
