"""Synthetic anomalies for signal features: knocks, tones, noise bursts and dropouts.

The injectors here suit spectrogram-like arrays (``stft``, ``log_mel``, ``sensor_window``): ``x`` is
``(C, H, W)`` with ``H`` the frequency bin (row 0 = lowest) or the sensor and ``W`` the time frame.
Each follows the ``(y, mask)`` contract of :mod:`anomaly_diffusion.data.anomalies`.
"""

from __future__ import annotations

import numpy as np

from anomaly_diffusion.data.injector_common import prepare, random_span, shift_masked


def impulse(
    x: np.ndarray, rng: np.random.Generator, strength: float
) -> tuple[np.ndarray, np.ndarray]:
    """1-3 short broadband transients (a knock/impact seen in a spectrogram).

    Each transient raises 1-2 adjacent time columns by ``strength`` standard deviations over a
    contiguous band of 60-100 % of the rows (most of the spectrum). Overlapping transients add up.

    Args:
        x: (C, H, W) normalized features; H = frequency bin / sensor, W = time frame.
        rng: random generator (consumed).
        strength: amplitude in standard deviations of ``x``.

    Returns:
        ``(y, mask)``: float32 (C, H, W) copy with the transients, (H, W) bool mask.
    """
    y, unit = prepare(x, strength)
    _, h, w = y.shape
    mask = np.zeros((h, w), dtype=bool)
    for _ in range(int(rng.integers(1, 4))):
        r0, r1 = random_span(rng, h, 0.6, 1.0)
        width = min(w, int(rng.integers(1, 3)))
        c0 = int(rng.integers(0, w - width + 1))
        y[:, r0:r1, c0 : c0 + width] += np.float32(strength * unit)
        mask[r0:r1, c0 : c0 + width] = True
    return y, mask


def tone(x: np.ndarray, rng: np.random.Generator, strength: float) -> tuple[np.ndarray, np.ndarray]:
    """A narrow horizontal line: a new whine or harmonic.

    1-2 adjacent rows raised by ``strength`` standard deviations over a contiguous 30-100 % of the
    time axis.

    Args:
        x: (C, H, W) normalized features; H = frequency bin / sensor, W = time frame.
        rng: random generator (consumed).
        strength: amplitude in standard deviations of ``x``.

    Returns:
        ``(y, mask)``: float32 (C, H, W) copy with the tone, (H, W) bool mask.
    """
    y, unit = prepare(x, strength)
    _, h, w = y.shape
    rows = min(h, int(rng.integers(1, 3)))
    r0 = int(rng.integers(0, h - rows + 1))
    c0, c1 = random_span(rng, w, 0.3, 1.0)
    mask = np.zeros((h, w), dtype=bool)
    mask[r0 : r0 + rows, c0:c1] = True
    return shift_masked(y, mask, strength * unit), mask


def band_noise(
    x: np.ndarray, rng: np.random.Generator, strength: float
) -> tuple[np.ndarray, np.ndarray]:
    """A band-limited noise burst / rattle.

    A rectangle of 10-30 % of the rows x 10-40 % of the columns gets added noise
    ``N(0, strength) + strength / 2`` (in standard deviations of ``x``), drawn independently per
    cell and channel.

    Args:
        x: (C, H, W) normalized features; H = frequency bin / sensor, W = time frame.
        rng: random generator (consumed).
        strength: noise standard deviation (and twice the offset), in standard deviations of ``x``.

    Returns:
        ``(y, mask)``: float32 (C, H, W) copy with the burst, (H, W) bool mask.
    """
    y, unit = prepare(x, strength)
    c, h, w = y.shape
    r0, r1 = random_span(rng, h, 0.1, 0.3)
    c0, c1 = random_span(rng, w, 0.1, 0.4)
    noise = rng.normal(0.0, strength, size=(c, r1 - r0, c1 - c0)) + strength / 2
    y[:, r0:r1, c0:c1] += (noise * unit).astype(np.float32)
    mask = np.zeros((h, w), dtype=bool)
    mask[r0:r1, c0:c1] = True
    return y, mask


def dropout(
    x: np.ndarray, rng: np.random.Generator, strength: float
) -> tuple[np.ndarray, np.ndarray]:
    """Signal dropout / sensor flat-line.

    A contiguous block of 10-30 % of the time columns is set to ``x.min()`` (all rows, all
    channels). ``strength`` is not used, except for a constant input where setting to the minimum
    would change nothing: there the block is set to ``x.min() - strength`` so the mask stays
    truthful.

    Args:
        x: (C, H, W) normalized features; H = frequency bin / sensor, W = time frame.
        rng: random generator (consumed).
        strength: accepted for a uniform signature; see above.

    Returns:
        ``(y, mask)``: float32 (C, H, W) copy with the dropout, (H, W) bool mask (whole columns).
    """
    y, unit = prepare(x, strength)
    _, h, w = y.shape
    c0, c1 = random_span(rng, w, 0.1, 0.3)
    low = y.min()
    if y.max() == low:  # constant array: x.min() would change nothing
        low = low - np.float32(strength * unit)
    y[:, :, c0:c1] = low
    mask = np.zeros((h, w), dtype=bool)
    mask[:, c0:c1] = True
    return y, mask
