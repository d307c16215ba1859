"""Map -> score: how a localization map becomes one number (higher = more anomalous)."""

from __future__ import annotations

import numpy as np


def aggregate_map(amap: np.ndarray, *, method: str = "topk", topk_fraction: float = 0.01) -> float:
    """Score of one ``(H, W)`` map: ``mean``, ``max``, ``topk`` (mean of the largest
    ``topk_fraction`` of cells, at least one) — the PEERS prototype found top-1 % of a lightly
    smoothed map far better than the plain mean — or ``row_max``: the mean of each row over the
    columns, then the largest (rows are sensors of a process window, frequency bins of a
    spectrogram; columns are time). A sensor that is off for the whole window then outscores a
    one-cell spike of noise: averaging W cells divides the noise of the statistic by about
    ``sqrt(W)`` while a persistent deviation keeps its size (a window's contribution of one
    sensor, as in process monitoring's per-variable contributions)."""
    if method == "row_max":
        return float(amap.mean(axis=1).max())
    flat = amap.reshape(-1)
    if method == "mean":
        return float(flat.mean())
    if method == "max":
        return float(flat.max())
    k = max(1, round(topk_fraction * flat.size))
    return float(np.partition(flat, flat.size - k)[flat.size - k :].mean())
