"""Synthetic anomalies for camera frames: scratches, spots, CutPaste patches and Perlin blobs.

The injectors here suit image arrays (``frame`` features): ``x`` is ``(C, H, W)`` with ``H, W`` the
image rows and columns. Each follows the ``(y, mask)`` contract of
:mod:`anomaly_diffusion.data.anomalies`.
"""

from __future__ import annotations

import math

import numpy as np

from anomaly_diffusion.data.injector_common import prepare, random_sign, shift_masked


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
    y, unit = prepare(x, strength)
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
    return shift_masked(y, mask, random_sign(rng) * strength * unit), mask


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
    y, unit = prepare(x, strength)
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
    return shift_masked(y, mask, random_sign(rng) * strength * unit), mask


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
    y, unit = prepare(x, strength)
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
    y, unit = prepare(x, strength)
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
    return shift_masked(y, mask, random_sign(rng) * strength * unit), mask
