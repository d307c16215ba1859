"""Normal statistics of anomaly maps: normalizing a map by how large the residual usually is at
each frequency bin / pixel turns "the model is always a bit wrong here" into a low score."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from scipy.ndimage import gaussian_filter

from anomaly_diffusion.errors import DataError

logger = logging.getLogger(__name__)


def fit_map_stats(
    maps: Sequence[np.ndarray], *, mode: str, sigma: float = 2.0, across_rows: bool = True
) -> tuple[np.ndarray, np.ndarray] | None:
    """Mean and std of raw maps of held-out normal windows.

    Args:
        maps: Raw maps ``(K, F, T)`` / ``(K, H, W)`` of normal windows, K map components
            (T may vary for ``row``).
        mode: ``row``: per component and row (frequency bin / sensor), pooled over columns,
            shape ``(K, F, 1)``; ``pixel``: per cell, shape ``(K, H, W)`` (per row when the maps
            differ in shape),
            smoothed with ``sigma`` so that few normal samples give stable statistics
            (along the columns only with ``across_rows=False``, see
            :func:`~anomaly_diffusion.scoring.maps.smooth_map`); ``none``: ``None``.

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
        stacked = np.concatenate([m for m in maps], axis=-1)  # (K, F, sum of T)
        mean, std = stacked.mean(axis=-1, keepdims=True), stacked.std(axis=-1, keepdims=True)
    else:
        stacked = np.stack(maps)  # (N, K, H, W)
        spatial = (0, sigma if across_rows else 0.0, sigma)
        mean = gaussian_filter(stacked.mean(axis=0), sigma=spatial, mode="nearest")
        std = gaussian_filter(stacked.std(axis=0), sigma=spatial, mode="nearest")
    floor = 0.05 * np.median(std.reshape(std.shape[0], -1), axis=1) + 1e-12
    std = np.maximum(std, floor[:, None, None])
    return mean.astype(np.float32), std.astype(np.float32)


def row_stats(stats: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per-row ``(K, F, 1)`` statistics pooled from per-cell ``(K, F, T)`` ones: the mean over
    columns and the standard deviation of the mixture of the columns (``mean(std^2)`` plus the
    spread of the column means), what ``mode=row`` fits on the same maps up to the smoothing."""
    mean, std = stats
    if mean.shape[-1] == 1:
        return mean, std
    row_mean = mean.mean(axis=-1, keepdims=True)
    row_var = (std.astype(np.float64) ** 2 + (mean - row_mean) ** 2).mean(axis=-1, keepdims=True)
    return row_mean, np.sqrt(row_var).astype(np.float32)


def apply_map_stats(amap: np.ndarray, stats: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
    """``(amap - mean) / std`` (a z-score against normal data) for a ``(K, H, W)`` map.

    Per-cell statistics meet a map of another width (an acoustic clip of another length, a
    table window of other rows) as per-row statistics (:func:`row_stats`): the map is still
    z-scored, never left on the raw scale against a z-score threshold.

    Raises:
        DataError: the map's components or rows differ from the statistics' (not a map of
            this model's inputs).
    """
    if stats is None:
        return amap
    mean, std = stats
    if mean.shape[:-1] != amap.shape[:-1]:
        raise DataError(
            f"anomaly map of shape {amap.shape} cannot be normalized with statistics of "
            f"{mean.shape}: its components or rows differ from the maps the model was "
            "calibrated on; score inputs of the trained kind and size (features.*), or use "
            "scoring.map_normalization=none"
        )
    if mean.shape[-1] != 1 and mean.shape[-1] != amap.shape[-1]:
        mean, std = row_stats(stats)
    return ((amap - mean) / std).astype(np.float32)
