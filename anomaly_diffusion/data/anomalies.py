"""Synthetic anomaly injectors for choosing scoring settings without labelled faults.

Users usually have normal data only. To pick scoring settings (aggregation, smoothing, thresholds,
...) we inject synthetic anomalies into *held-out normal* feature arrays and keep the settings that
separate injected from clean arrays best. Everything here is pure numpy and deterministic for a
given ``np.random.Generator`` state.

Inputs are normalized feature arrays ``x`` of shape ``(C, H, W)`` (float32, roughly zero mean and
unit variance). For signals (``stft``, ``log_mel``, ``sensor_window``) axis ``H`` is the frequency
bin (row 0 = lowest) or the sensor and axis ``W`` the time frame; for camera frames ``H, W`` are
image rows and columns. Arrays may be non-square and as small as 8 x 8.

Every injector returns ``(y, mask)``:

* ``y``: a new float32 array of the same shape (``x`` is never modified in place);
* ``mask``: an ``(H, W)`` bool array, never empty, marking the anomalous cells. Cells outside the
  mask are bit-identical to ``x`` (as float32); the same mask applies to every channel.

Amplitudes are in units of the array's standard deviation (``strength``, typically 1.5-4); a
constant array counts as having standard deviation 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from anomaly_diffusion.errors import ConfigError, DataError

__all__ = [
    "FRAME_KINDS",
    "INJECTORS",
    "SIGNAL_KINDS",
    "band_noise",
    "cutpaste",
    "dropout",
    "impulse",
    "inject",
    "kinds_for",
    "perlin",
    "scratch",
    "spot",
    "synthetic_anomalies",
    "tone",
]

SIGNAL_KINDS = ("impulse", "tone", "band_noise", "dropout")
FRAME_KINDS = ("scratch", "spot", "cutpaste", "perlin")

_FEATURE_KIND_MAP = {
    "stft": SIGNAL_KINDS,
    "log_mel": SIGNAL_KINDS,
    "sensor_window": SIGNAL_KINDS,
    "frame": FRAME_KINDS,
}

Injector = Callable[[np.ndarray, np.random.Generator, float], tuple[np.ndarray, np.ndarray]]


# ------------------------------------------------------------------ helpers


def _prepare(x: np.ndarray, strength: float) -> tuple[np.ndarray, float]:
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


def _sign(rng: np.random.Generator) -> float:
    """+1.0 or -1.0 with equal probability."""
    return 1.0 if rng.random() < 0.5 else -1.0


def _span(rng: np.random.Generator, n: int, lo: float, hi: float) -> tuple[int, int]:
    """A random contiguous ``[start, stop)`` slice of an axis of length ``n``.

    Its length is ``round(U(lo, hi) * n)`` clamped to ``[1, n]``.
    """
    length = min(n, max(1, round(rng.uniform(lo, hi) * n)))
    start = int(rng.integers(0, n - length + 1))
    return start, start + length


def _shift(y: np.ndarray, mask: np.ndarray, amount: float) -> np.ndarray:
    """Add ``amount`` to the masked cells of every channel of ``y`` (in place); return ``y``."""
    y[:, mask] += np.float32(amount)
    return y


# ------------------------------------------------------------------ signal injectors


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
    y, unit = _prepare(x, strength)
    _, h, w = y.shape
    mask = np.zeros((h, w), dtype=bool)
    for _ in range(int(rng.integers(1, 4))):
        r0, r1 = _span(rng, h, 0.6, 1.0)
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
    y, unit = _prepare(x, strength)
    _, h, w = y.shape
    rows = min(h, int(rng.integers(1, 3)))
    r0 = int(rng.integers(0, h - rows + 1))
    c0, c1 = _span(rng, w, 0.3, 1.0)
    mask = np.zeros((h, w), dtype=bool)
    mask[r0 : r0 + rows, c0:c1] = True
    return _shift(y, mask, strength * unit), mask


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
    y, unit = _prepare(x, strength)
    c, h, w = y.shape
    r0, r1 = _span(rng, h, 0.1, 0.3)
    c0, c1 = _span(rng, w, 0.1, 0.4)
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
    y, unit = _prepare(x, strength)
    _, h, w = y.shape
    c0, c1 = _span(rng, w, 0.1, 0.3)
    low = y.min()
    if y.max() == low:  # constant array: x.min() would change nothing
        low = low - np.float32(strength * unit)
    y[:, :, c0:c1] = low
    mask = np.zeros((h, w), dtype=bool)
    mask[:, c0:c1] = True
    return y, mask


# ------------------------------------------------------------------ frame injectors


def scratch(
    x: np.ndarray, rng: np.random.Generator, strength: float
) -> tuple[np.ndarray, np.ndarray]:
    """A thin straight scratch.

    A 1-2 px thick line at a uniformly random angle, 30-80 % of the image diagonal long (shortened
    when needed so it fits inside the image at that angle), brighter or darker by ``strength``
    standard deviations.

    Args:
        x: (C, H, W) normalized frame; H, W = image rows, columns.
        rng: random generator (consumed).
        strength: brightness shift in standard deviations of ``x``.

    Returns:
        ``(y, mask)``: float32 (C, H, W) copy with the scratch, (H, W) bool mask.
    """
    y, unit = _prepare(x, strength)
    _, h, w = y.shape
    length = rng.uniform(0.3, 0.8) * math.hypot(h, w)
    theta = rng.uniform(0.0, math.pi)
    dr, dc = math.sin(theta), math.cos(theta)  # unit direction (rows, cols)
    # Fit the segment inside [0, h-1] x [0, w-1].
    if abs(dr) > 1e-9:
        length = min(length, (h - 1) / abs(dr))
    if abs(dc) > 1e-9:
        length = min(length, (w - 1) / abs(dc))
    ext_r, ext_c = length * dr, length * dc  # ext_r >= 0
    r_start = rng.uniform(0.0, max(0.0, (h - 1) - ext_r))
    c_lo = max(0.0, -ext_c)
    c_start = rng.uniform(c_lo, max(c_lo, (w - 1) - max(0.0, ext_c)))
    t = np.linspace(0.0, 1.0, max(2, math.ceil(2 * length) + 1))
    rows = np.clip(np.rint(r_start + t * ext_r).astype(np.intp), 0, h - 1)
    cols = np.clip(np.rint(c_start + t * ext_c).astype(np.intp), 0, w - 1)
    mask = np.zeros((h, w), dtype=bool)
    mask[rows, cols] = True
    if rng.random() < 0.5:  # 2 px thick: offset across the line's dominant direction
        if abs(dc) >= abs(dr):
            mask[np.clip(rows + 1, 0, h - 1), cols] = True
        else:
            mask[rows, np.clip(cols + 1, 0, w - 1)] = True
    return _shift(y, mask, _sign(rng) * strength * unit), mask


def spot(x: np.ndarray, rng: np.random.Generator, strength: float) -> tuple[np.ndarray, np.ndarray]:
    """A filled disk or (rotated) ellipse: a stain, dent or bright spot.

    Semi-axes are each 3-15 % of the smaller image side (at least 1 px); the centre lies anywhere
    in the image (the spot may be cut by the border); the region is shifted by ``+-strength``
    standard deviations.

    Args:
        x: (C, H, W) normalized frame; H, W = image rows, columns.
        rng: random generator (consumed).
        strength: brightness shift in standard deviations of ``x``.

    Returns:
        ``(y, mask)``: float32 (C, H, W) copy with the spot, (H, W) bool mask.
    """
    y, unit = _prepare(x, strength)
    _, h, w = y.shape
    side = min(h, w)
    ra = max(1.0, rng.uniform(0.03, 0.15) * side)
    rb = ra if rng.random() < 0.5 else max(1.0, rng.uniform(0.03, 0.15) * side)
    phi = rng.uniform(0.0, math.pi)
    cr, cc = rng.uniform(0.0, h - 1), rng.uniform(0.0, w - 1)
    rr = np.arange(h)[:, None] - cr
    cc_ = np.arange(w)[None, :] - cc
    u = rr * math.cos(phi) + cc_ * math.sin(phi)
    v = -rr * math.sin(phi) + cc_ * math.cos(phi)
    mask = (u / ra) ** 2 + (v / rb) ** 2 <= 1.0
    mask[min(h - 1, round(cr)), min(w - 1, round(cc))] = True  # centre pixel (always inside)
    return _shift(y, mask, _sign(rng) * strength * unit), mask


def cutpaste(
    x: np.ndarray, rng: np.random.Generator, strength: float
) -> tuple[np.ndarray, np.ndarray]:
    """CutPaste: a patch of the same array, flipped or rotated, pasted elsewhere.

    A rectangle of 10-25 % of each side (at least 1 px) is cut from one location, flipped
    vertically, flipped horizontally or rotated by 180 degrees, and pasted at a different location.
    ``strength`` is only used where the pasted value equals the original in every channel (e.g. a
    flat image): those cells get ``+strength`` standard deviations so the mask stays truthful.

    Args:
        x: (C, H, W) normalized frame; H, W = image rows, columns.
        rng: random generator (consumed).
        strength: fallback shift in standard deviations of ``x``, see above.

    Returns:
        ``(y, mask)``: float32 (C, H, W) copy with the pasted patch, (H, W) bool mask.
    """
    y, unit = _prepare(x, strength)
    _, h, w = y.shape
    ph = min(h, max(1, round(rng.uniform(0.10, 0.25) * h)))
    pw = min(w, max(1, round(rng.uniform(0.10, 0.25) * w)))
    sr, sc = int(rng.integers(0, h - ph + 1)), int(rng.integers(0, w - pw + 1))
    dr, dc = sr, sc
    if (h - ph, w - pw) != (0, 0):  # another location exists
        while (dr, dc) == (sr, sc):
            dr, dc = int(rng.integers(0, h - ph + 1)), int(rng.integers(0, w - pw + 1))
    patch = y[:, sr : sr + ph, sc : sc + pw].copy()
    op = int(rng.integers(0, 3))
    if op == 0:
        patch = patch[:, ::-1, :]
    elif op == 1:
        patch = patch[:, :, ::-1]
    else:
        patch = patch[:, ::-1, ::-1]
    target = y[:, dr : dr + ph, dc : dc + pw]  # view into y
    same = (patch == target).all(axis=0)
    target[...] = patch
    target[:, same] += np.float32(strength * unit)
    mask = np.zeros((h, w), dtype=bool)
    mask[dr : dr + ph, dc : dc + pw] = True
    return y, mask


def _perlin(shape: tuple[int, int], res: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Vectorized 2-D Perlin (gradient) noise of ``shape`` (H, W) with ``res`` lattice cells.

    Returns float64 (H, W) values in about [-0.7, 0.7]; the lattice is randomly offset so pixels do
    not sit on lattice points (where Perlin noise is exactly 0).
    """
    h, w = shape
    ry, rx = res
    gy = (np.arange(h) + 0.5) / h * ry + rng.uniform(0.0, 1.0)
    gx = (np.arange(w) + 0.5) / w * rx + rng.uniform(0.0, 1.0)
    angles = rng.uniform(0.0, 2.0 * math.pi, size=(ry + 2, rx + 2))
    grad_y, grad_x = np.sin(angles), np.cos(angles)
    iy, ix = np.floor(gy).astype(np.intp), np.floor(gx).astype(np.intp)
    fy, fx = (gy - iy)[:, None], (gx - ix)[None, :]

    def corner(oy: int, ox: int) -> np.ndarray:
        sel = np.ix_(iy + oy, ix + ox)
        return grad_y[sel] * (fy - oy) + grad_x[sel] * (fx - ox)

    def fade(t: np.ndarray) -> np.ndarray:
        return t * t * t * (t * (t * 6.0 - 15.0) + 10.0)

    uy, ux = fade(fy), fade(fx)
    top = corner(0, 0) + ux * (corner(0, 1) - corner(0, 0))
    bottom = corner(1, 0) + ux * (corner(1, 1) - corner(1, 0))
    return top + uy * (bottom - top)


def perlin(
    x: np.ndarray, rng: np.random.Generator, strength: float
) -> tuple[np.ndarray, np.ndarray]:
    """A large smooth blob defect (fray, stain, discolouration) from thresholded Perlin noise.

    A low-frequency Perlin field (2-4 lattice cells along the smaller side, proportionally more
    along the longer side so blobs stay round) is thresholded so the top 2-15 % of cells (at least
    one) form the region, which is shifted by ``+-strength`` standard deviations.

    Args:
        x: (C, H, W) normalized frame; H, W = image rows, columns.
        rng: random generator (consumed).
        strength: brightness shift in standard deviations of ``x``.

    Returns:
        ``(y, mask)``: float32 (C, H, W) copy with the blob, (H, W) bool mask.
    """
    y, unit = _prepare(x, strength)
    _, h, w = y.shape
    base = int(rng.integers(2, 5))
    side = min(h, w)
    res = (max(1, round(base * h / side)), max(1, round(base * w / side)))
    noise = _perlin((h, w), res, rng)
    k = min(h * w, max(1, round(rng.uniform(0.02, 0.15) * h * w)))
    order = np.argsort(noise, axis=None, kind="stable")
    mask = np.zeros(h * w, dtype=bool)
    mask[order[-k:]] = True
    mask = mask.reshape(h, w)
    return _shift(y, mask, _sign(rng) * strength * unit), mask


# ------------------------------------------------------------------ dispatch


INJECTORS: dict[str, Injector] = {
    "impulse": impulse,
    "tone": tone,
    "band_noise": band_noise,
    "dropout": dropout,
    "scratch": scratch,
    "spot": spot,
    "cutpaste": cutpaste,
    "perlin": perlin,
}


def inject(
    x: np.ndarray, kind: str, rng: np.random.Generator, strength: float = 3.0
) -> tuple[np.ndarray, np.ndarray]:
    """Inject one synthetic anomaly of ``kind`` into ``x`` (C, H, W); see the injectors.

    Returns ``(y, mask)``: float32 (C, H, W) and bool (H, W). Raises ``ConfigError`` for an
    unknown ``kind``.
    """
    try:
        fn = INJECTORS[kind]
    except (KeyError, TypeError):
        raise ConfigError(
            f"unknown synthetic anomaly kind {kind!r}; allowed kinds: {', '.join(INJECTORS)}"
        ) from None
    return fn(x, rng, strength)


def kinds_for(feature_kind: str) -> tuple[str, ...]:
    """Anomaly kinds suited to a ``features.kind``.

    ``'frame'`` -> ``FRAME_KINDS``; ``'stft'``, ``'log_mel'``, ``'sensor_window'`` ->
    ``SIGNAL_KINDS``. Anything else raises ``ConfigError``.
    """
    try:
        return _FEATURE_KIND_MAP[feature_kind]
    except (KeyError, TypeError):
        raise ConfigError(
            f"features.kind={feature_kind!r} has no synthetic anomaly kinds; "
            f"use one of {', '.join(_FEATURE_KIND_MAP)}"
        ) from None


def synthetic_anomalies(
    arrays: Sequence[np.ndarray],
    feature_kind: str,
    rng: np.random.Generator,
    *,
    per_kind: int = 8,
    strength: float = 3.0,
) -> list[tuple[np.ndarray, np.ndarray, str]]:
    """Build a labelled synthetic anomaly set from held-out normal arrays.

    For every kind in ``kinds_for(feature_kind)`` (in that order), ``per_kind`` anomalies are
    injected, each into an array drawn with replacement from ``arrays`` (each (C, H, W)).

    Returns:
        ``per_kind * len(kinds)`` triples ``(y, mask, kind)``: float32 (C, H, W), bool (H, W), str.

    Raises:
        DataError: ``arrays`` is empty.
        ConfigError: unknown ``feature_kind``, ``per_kind < 1`` or bad ``strength``.
    """
    kinds = kinds_for(feature_kind)
    if isinstance(per_kind, bool) or not isinstance(per_kind, int | np.integer) or per_kind < 1:
        raise ConfigError(f"per_kind={per_kind!r} must be a positive integer")
    if len(arrays) == 0:
        raise DataError(
            "synthetic anomalies: no normal arrays to inject into; hold out at least one normal "
            "file (e.g. a validation split of train/good) and pass its feature arrays"
        )
    out: list[tuple[np.ndarray, np.ndarray, str]] = []
    for kind in kinds:
        for _ in range(per_kind):
            base = arrays[int(rng.integers(0, len(arrays)))]
            y, mask = inject(base, kind, rng, strength)
            out.append((y, mask, kind))
    return out
