"""Shared building blocks of the synthetic anomaly injectors.

Input validation and the amplitude unit (:func:`prepare`), plus the small random choices and the
masked shift that the signal (:mod:`anomaly_diffusion.data.signal_anomalies`) and frame
(:mod:`anomaly_diffusion.data.frame_anomalies`) injectors share. The injector contract itself
(``(C, H, W)`` in, ``(y, mask)`` out, amplitudes in standard deviations) is described in
:mod:`anomaly_diffusion.data.anomalies`.
"""

from __future__ import annotations

import math

import numpy as np

from anomaly_diffusion.errors import ConfigError, DataError


def prepare(x: np.ndarray, strength: float) -> tuple[np.ndarray, float]:
    """Validate ``x`` (C, H, W) and ``strength``; return a float32 copy and the amplitude unit.

    The unit is the standard deviation of ``x`` (1.0 for a constant array).
    """
    arr = np.asarray(x)
    if arr.ndim != 3 or min(arr.shape) < 1:
        raise ConfigError(
            f"anomaly injection expects a non-empty (C, H, W) array, got shape {arr.shape}; "
            "add a channel axis, e.g. x[None]"
        )
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise ConfigError(f"anomaly injection expects a real numeric array, got dtype {arr.dtype}")
    if not math.isfinite(strength) or strength <= 0:
        raise ConfigError(f"strength={strength!r} must be a positive finite number (typical 1.5-4)")
    y = arr.astype(np.float32, copy=True)
    if not np.isfinite(y).all():
        raise DataError(
            "anomaly injection: input array contains NaN or inf; clean or re-normalize the "
            "features first"
        )
    std = float(y.std(dtype=np.float64))
    return y, (std if std > 1e-12 else 1.0)


def random_sign(rng: np.random.Generator) -> float:
    """+1.0 or -1.0 with equal probability."""
    return 1.0 if rng.random() < 0.5 else -1.0


def random_span(rng: np.random.Generator, n: int, lo: float, hi: float) -> tuple[int, int]:
    """A random contiguous ``[start, stop)`` slice of an axis of length ``n``.

    Its length is ``round(U(lo, hi) * n)`` clamped to ``[1, n]``.
    """
    length = min(n, max(1, round(rng.uniform(lo, hi) * n)))
    start = int(rng.integers(0, n - length + 1))
    return start, start + length


def shift_masked(y: np.ndarray, mask: np.ndarray, amount: float) -> np.ndarray:
    """Add ``amount`` to the masked cells of every channel of ``y`` (in place); return ``y``."""
    y[:, mask] += np.float32(amount)
    return y
