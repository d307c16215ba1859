"""Noise for the forward diffusion process: Gaussian and multi-octave 2-D simplex noise.

AnoDDPM (Wyatt et al. 2022, "AnoDDPM: Anomaly Detection with Denoising Diffusion Probabilistic
Models using Simplex Noise", CVPR workshops) replaces the i.i.d. Gaussian ``eps`` of DDPM with
multi-octave simplex noise (6 octaves, persistence 0.8): its energy sits at low spatial
frequencies, so partial diffusion destroys larger anomalies that Gaussian noise would leave
recognisable. The field is standardized per image and channel so that it can stand in for
``N(0, 1)`` noise in ``x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps``.

The simplex noise is Gustavson's 2-D formulation ("Simplex noise demystified", 2005): skew the
plane onto a triangular lattice, hash the three corners of the containing triangle to one of 12
gradients and sum the radially attenuated contributions ``max(0, 0.5 - d^2)^4 (g . d)``.
"""

from __future__ import annotations

import math

import torch

from anomaly_diffusion.errors import ConfigError

NOISE_KINDS = ("gaussian", "simplex")

_F2 = 0.5 * (math.sqrt(3.0) - 1.0)  # skew (x, y) -> lattice (i, j)
_G2 = (3.0 - math.sqrt(3.0)) / 6.0  # unskew lattice -> (x, y)
_PERM_SIZE = 256  # hash period in lattice cells
_OFFSET_RANGE = float(_PERM_SIZE)  # per-slice random shift of the sampling grid, lattice units
_MAX_CHUNK_ELEMENTS = 1 << 20  # slices are evaluated in chunks of at most this many pixels

# Gustavson's 12 gradients (the x, y components of the 3-D edge-midpoint gradients).
_GRAD_X = (1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 0.0, 0.0, 0.0, 0.0)
_GRAD_Y = (1.0, 1.0, -1.0, -1.0, 0.0, 0.0, 0.0, 0.0, 1.0, -1.0, 1.0, -1.0)


def _simplex_2d(
    x: torch.Tensor, y: torch.Tensor, perm: torch.Tensor, grad_x: torch.Tensor, grad_y: torch.Tensor
) -> torch.Tensor:
    """Raw 2-D simplex noise, roughly in ``[-1, 1]``.

    Args:
        x, y: ``(N, P)`` float sample coordinates in lattice units (one row per slice).
        perm: ``(N, 2 * 256)`` int64 per-slice permutation of ``0..255``, stored twice.
        grad_x, grad_y: ``(12,)`` gradient table.

    Returns:
        ``(N, P)`` noise values with the dtype of ``x``.
    """
    s = (x + y) * _F2
    i = torch.floor(x + s)
    j = torch.floor(y + s)
    t = (i + j) * _G2
    x0 = x - (i - t)  # offset from the triangle's first corner
    y0 = y - (j - t)

    lower = x0 > y0  # lower triangle: second corner is (i + 1, j), else (i, j + 1)
    i1 = lower.to(torch.int64)
    j1 = 1 - i1
    x1 = x0 - i1.to(x.dtype) + _G2
    y1 = y0 - j1.to(x.dtype) + _G2
    x2 = x0 - 1.0 + 2.0 * _G2
    y2 = y0 - 1.0 + 2.0 * _G2

    ii = i.to(torch.int64) & (_PERM_SIZE - 1)
    jj = j.to(torch.int64) & (_PERM_SIZE - 1)

    def corner(
        di: torch.Tensor | int, dj: torch.Tensor | int, dx: torch.Tensor, dy: torch.Tensor
    ) -> torch.Tensor:
        """Contribution of the corner at lattice ``(i + di, j + dj)``, offset ``(dx, dy)``."""
        h = torch.gather(perm, 1, ii + di + torch.gather(perm, 1, jj + dj)) % 12
        falloff = (0.5 - dx * dx - dy * dy).clamp_min(0.0)
        falloff = falloff * falloff
        return falloff * falloff * (grad_x[h] * dx + grad_y[h] * dy)

    total = corner(0, 0, x0, y0) + corner(i1, j1, x1, y1) + corner(1, 1, x2, y2)
    return 70.0 * total  # Gustavson's scale to roughly [-1, 1]


def simplex_noise(
    shape: tuple[int, ...],
    *,
    generator: torch.Generator,
    octaves: int = 6,
    persistence: float = 0.8,
    frequency: float = 1 / 16,
) -> torch.Tensor:
    """(..., H, W) float32 multi-octave 2-D simplex noise; each leading slice is an independent
    field (own random offset/gradients drawn from `generator`), then standardized to zero mean
    and unit variance per slice so that it can replace N(0, 1) noise in a DDPM schedule.
    `frequency` is in cycles per pixel for the first octave; octave k uses frequency * 2**k and
    amplitude persistence**k.

    Pixel ``(r, c)`` of slice ``n`` at octave ``k`` samples the simplex field at lattice
    coordinates ``(c * frequency * 2**k + ox[k, n], r * frequency * 2**k + oy[k, n])``. From
    ``generator`` (in this order) are drawn one permutation of ``0..255`` per slice (the gradient
    hash) and one offset ``(ox, oy)`` uniform in ``[0, 256)`` per octave and slice, so the result
    depends only on ``shape``, the parameters and the generator state. The standardization uses
    the population standard deviation over the ``H * W`` pixels of each slice.

    Features of an octave are about ``1 / (frequency * 2**k)`` pixels wide; octaves above the
    Nyquist frequency (0.5 cycles per pixel) add near-white detail. AnoDDPM's reference code
    starts at 1/64 cycle per pixel (so 6 octaves end at 1/2).

    Args:
        shape: ``(..., H, W)`` with at least two dims and ``H * W >= 2``.
        generator: Source of randomness; its device is the output device.
        octaves: Number of octaves, ``>= 1``.
        persistence: Amplitude ratio between consecutive octaves, ``> 0``.
        frequency: First-octave frequency in cycles (lattice units) per pixel, ``> 0``.

    Returns:
        Float32 tensor of ``shape`` with per-slice mean 0 and variance 1.
    """
    shape = tuple(int(d) for d in shape)
    if len(shape) < 2 or any(d < 0 for d in shape):
        raise ConfigError(f"simplex_noise shape: got {shape!r}; need (..., H, W) with sizes >= 0")
    height, width = shape[-2], shape[-1]
    if height * width < 2:
        raise ConfigError(
            f"simplex_noise shape: got {shape!r}; H * W must be >= 2 to standardize each slice"
        )
    if octaves < 1:
        raise ConfigError(f"simplex_noise octaves: got {octaves!r}; use an integer >= 1, e.g. 6")
    if not (math.isfinite(persistence) and persistence > 0):
        raise ConfigError(
            f"simplex_noise persistence: got {persistence!r}; use a positive number, e.g. 0.8"
        )
    if not (math.isfinite(frequency) and frequency > 0):
        raise ConfigError(
            f"simplex_noise frequency: got {frequency!r}; use a positive number of cycles per "
            "pixel, e.g. 1/16"
        )

    device = generator.device
    n_slices = math.prod(shape[:-2])
    if n_slices == 0:
        return torch.empty(shape, dtype=torch.float32, device=device)

    # All random draws happen up front so that the result does not depend on the chunking.
    keys = torch.rand((n_slices, _PERM_SIZE), generator=generator, device=device)
    perm = torch.argsort(keys, dim=1)
    perm = torch.cat([perm, perm], dim=1)  # (N, 512): index sums up to 511 need no wrap
    offsets = _OFFSET_RANGE * torch.rand(
        (octaves, n_slices, 2), generator=generator, device=device, dtype=torch.float64
    )

    grad_x = torch.tensor(_GRAD_X, dtype=torch.float32, device=device)
    grad_y = torch.tensor(_GRAD_Y, dtype=torch.float32, device=device)
    rows = torch.arange(height, dtype=torch.float32, device=device)
    cols = torch.arange(width, dtype=torch.float32, device=device)
    grid_y = rows[:, None].expand(height, width).reshape(1, -1)  # (1, H*W) pixel rows
    grid_x = cols[None, :].expand(height, width).reshape(1, -1)  # (1, H*W) pixel columns

    out = torch.empty((n_slices, height * width), dtype=torch.float32, device=device)
    chunk = max(1, _MAX_CHUNK_ELEMENTS // (height * width))
    for start in range(0, n_slices, chunk):
        stop = min(start + chunk, n_slices)
        field = torch.zeros((stop - start, height * width), dtype=torch.float32, device=device)
        for k in range(octaves):
            freq = frequency * 2.0**k
            off = offsets[k, start:stop].to(torch.float32)  # (n, 2)
            x = grid_x * freq + off[:, :1]
            y = grid_y * freq + off[:, 1:]
            field += persistence**k * _simplex_2d(x, y, perm[start:stop], grad_x, grad_y)
        field64 = field.to(torch.float64)
        mean = field64.mean(dim=1, keepdim=True)
        std = field64.std(dim=1, correction=0, keepdim=True).clamp_min(1e-12)
        out[start:stop] = ((field64 - mean) / std).to(torch.float32)
    return out.reshape(shape)


def make_noise(kind: str, shape: tuple[int, ...], *, generator: torch.Generator) -> torch.Tensor:
    """Dispatch: 'gaussian' -> torch.randn(shape, generator=generator); 'simplex' -> simplex_noise.
    Unknown kind -> anomaly_diffusion.errors.ConfigError naming `scheduler.noise`, the bad value
    and the allowed values.

    Args:
        kind: One of :data:`NOISE_KINDS`.
        shape: Output shape; ``(..., H, W)`` for ``simplex``.
        generator: Source of randomness; its device is the output device.

    Returns:
        Float32 tensor of ``shape`` with (per-slice, for simplex) zero mean and unit variance.
    """
    if kind == "gaussian":
        return torch.randn(shape, generator=generator, device=generator.device)
    if kind == "simplex":
        return simplex_noise(shape, generator=generator)
    raise ConfigError(f"scheduler.noise: got {kind!r}; use one of {', '.join(NOISE_KINDS)}")
