"""Map -> score: how a localization map becomes one number (higher = more anomalous)."""

from __future__ import annotations

import numpy as np


def aggregate_map(amap: np.ndarray, *, method: str = "topk", topk_fraction: float = 0.01) -> float:
    """Score of one ``(H, W)`` map: ``mean``, ``max``, or ``topk`` (mean of the largest
    ``topk_fraction`` of cells, at least one) — the PEERS prototype found top-1 % of a lightly
    smoothed map far better than the plain mean."""
    flat = amap.reshape(-1)
    if method == "mean":
        return float(flat.mean())
    if method == "max":
        return float(flat.max())
    k = max(1, round(topk_fraction * flat.size))
    return float(np.partition(flat, flat.size - k)[flat.size - k :].mean())
