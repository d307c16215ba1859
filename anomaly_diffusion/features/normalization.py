"""Normalization statistics fit on training features only (saved with the model)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def fit_normalization(
    features: Sequence[np.ndarray], *, per_row: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std of training features.

    Args:
        features: Items of shape ``(C, F, T)`` (T may vary) or ``(C, H, W)``.
        per_row: Statistics per channel and row (frequency bin / sensor), shape ``(C, F, 1)``;
            else per channel, shape ``(C, 1, 1)``.

    Returns:
        ``(mean, std)`` float32; std is floored so that no row divides by ~0.
    """
    stacked = np.concatenate(list(features), axis=2)  # (C, F, sum of T)
    axes = (2,) if per_row else (1, 2)
    mean = stacked.mean(axis=axes, keepdims=True)
    std = stacked.std(axis=axes, keepdims=True)
    std = np.maximum(std, 1e-3 * float(np.median(std)) + 1e-6)
    return mean.astype(np.float32), std.astype(np.float32)


def normalize(feature: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``(feature - mean) / std`` with broadcasting; shape unchanged."""
    return ((feature - mean) / std).astype(np.float32)
