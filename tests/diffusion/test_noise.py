"""Gaussian and multi-octave simplex noise (AnoDDPM): statistics, determinism, shapes, dispatch."""

from __future__ import annotations

import math

import pytest
import torch

from anomaly_diffusion.diffusion.noise import NOISE_KINDS, _simplex_2d, make_noise, simplex_noise
from anomaly_diffusion.errors import ConfigError

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _lag1_autocorr(z: torch.Tensor) -> float:
    """Mean of horizontal and vertical lag-1 correlations of zero-mean, unit-variance slices."""
    horizontal = (z[..., :, 1:] * z[..., :, :-1]).mean()
    vertical = (z[..., 1:, :] * z[..., :-1, :]).mean()
    return float((horizontal + vertical) / 2)


def _reference_simplex(x: float, y: float, perm: list[int]) -> float:
    """Scalar transcription of Gustavson's 2-D simplex noise (``perm`` has 512 entries)."""
    grad3 = [(1, 1), (-1, 1), (1, -1), (-1, -1), (1, 0), (-1, 0)]
    grad3 += [(1, 0), (-1, 0), (0, 1), (0, -1), (0, 1), (0, -1)]
    f2 = 0.5 * (math.sqrt(3.0) - 1.0)
    g2 = (3.0 - math.sqrt(3.0)) / 6.0
    s = (x + y) * f2
    i, j = math.floor(x + s), math.floor(y + s)
    t = (i + j) * g2
    x0, y0 = x - (i - t), y - (j - t)
    i1, j1 = (1, 0) if x0 > y0 else (0, 1)
    corners = [
        (x0, y0, 0, 0),
        (x0 - i1 + g2, y0 - j1 + g2, i1, j1),
        (x0 - 1 + 2 * g2, y0 - 1 + 2 * g2, 1, 1),
    ]
    ii, jj = i & 255, j & 255
    total = 0.0
    for dx, dy, di, dj in corners:
        falloff = 0.5 - dx * dx - dy * dy
        if falloff > 0:
            gx, gy = grad3[perm[ii + di + perm[jj + dj]] % 12]
            total += falloff**4 * (gx * dx + gy * dy)
    return 70.0 * total


def test_simplex_kernel_matches_scalar_reference() -> None:
    g = _gen(3)
    perm = torch.randperm(256, generator=g)
    perm = torch.cat([perm, perm])[None]
    x = torch.rand((1, 200), generator=g, dtype=torch.float64) * 40.0 - 7.0
    y = torch.rand((1, 200), generator=g, dtype=torch.float64) * 40.0 - 7.0
    grad_x = torch.tensor([1, -1, 1, -1, 1, -1, 1, -1, 0, 0, 0, 0], dtype=torch.float64)
    grad_y = torch.tensor([1, 1, -1, -1, 0, 0, 0, 0, 1, -1, 1, -1], dtype=torch.float64)
    got = _simplex_2d(x, y, perm, grad_x, grad_y)[0]
    table = perm[0].tolist()
    want = torch.tensor(
        [
            _reference_simplex(a, b, table)
            for a, b in zip(x[0].tolist(), y[0].tolist(), strict=True)
        ],
        dtype=torch.float64,
    )
    torch.testing.assert_close(got, want, rtol=0, atol=1e-12)
    assert got.abs().max() <= 1.0
    assert got.std() > 0.1  # not degenerate


@pytest.mark.parametrize("shape", [(16, 1, 64, 64), (4, 1, 128, 376), (2, 3, 7, 5), (9, 40)])
def test_simplex_is_standardized_per_slice(shape: tuple[int, ...]) -> None:
    z = simplex_noise(shape, generator=_gen(0))
    assert z.shape == shape
    assert z.dtype == torch.float32
    assert torch.isfinite(z).all()
    flat = z.reshape(-1, shape[-2] * shape[-1]).double()
    torch.testing.assert_close(
        flat.mean(dim=1), torch.zeros(flat.shape[0], dtype=torch.float64), rtol=0, atol=1e-4
    )
    torch.testing.assert_close(
        flat.std(dim=1, correction=0),
        torch.ones(flat.shape[0], dtype=torch.float64),
        rtol=0,
        atol=1e-4,
    )


def test_simplex_is_spatially_correlated_gaussian_is_not() -> None:
    shape = (8, 1, 64, 64)
    assert _lag1_autocorr(simplex_noise(shape, generator=_gen(1))) > 0.5
    assert abs(_lag1_autocorr(make_noise("gaussian", shape, generator=_gen(1)))) < 0.1
    # Lower starting frequency -> smoother field.
    smooth = simplex_noise(shape, generator=_gen(1), frequency=1 / 64)
    assert _lag1_autocorr(smooth) > _lag1_autocorr(simplex_noise(shape, generator=_gen(1)))


def test_simplex_octave_parameters_matter() -> None:
    shape = (4, 1, 32, 32)
    base = simplex_noise(shape, generator=_gen(2))
    for kwargs in ({"octaves": 1}, {"persistence": 0.5}, {"frequency": 1 / 8}):
        assert not torch.equal(base, simplex_noise(shape, generator=_gen(2), **kwargs))


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_same_seed_same_noise_different_seed_different(kind: str) -> None:
    shape = (3, 2, 24, 17)
    a = make_noise(kind, shape, generator=_gen(7))
    b = make_noise(kind, shape, generator=_gen(7))
    c = make_noise(kind, shape, generator=_gen(8))
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)


def test_simplex_advances_the_generator() -> None:
    g = _gen(5)
    first = simplex_noise((2, 1, 16, 16), generator=g)
    second = simplex_noise((2, 1, 16, 16), generator=g)
    assert not torch.allclose(first, second)


def test_simplex_leading_slices_are_independent() -> None:
    z = simplex_noise((6, 2, 64, 64), generator=_gen(4)).reshape(12, -1)
    corr = torch.corrcoef(z.double())
    off_diagonal = corr[~torch.eye(12, dtype=torch.bool)]
    assert off_diagonal.abs().max() < 0.5
    assert not torch.allclose(z[0], z[1])


def test_make_noise_gaussian_equals_randn() -> None:
    shape = (4, 1, 128, 376)
    torch.testing.assert_close(
        make_noise("gaussian", shape, generator=_gen(11)),
        torch.randn(shape, generator=_gen(11)),
        rtol=0,
        atol=0,
    )


def test_make_noise_simplex_equals_simplex_noise() -> None:
    shape = (2, 1, 30, 50)
    assert torch.equal(
        make_noise("simplex", shape, generator=_gen(12)), simplex_noise(shape, generator=_gen(12))
    )


def test_make_noise_unknown_kind_is_config_error() -> None:
    with pytest.raises(ConfigError, match=r"scheduler\.noise") as info:
        make_noise("perlin", (1, 1, 8, 8), generator=_gen(0))
    message = str(info.value)
    assert "perlin" in message
    assert all(kind in message for kind in NOISE_KINDS)


@pytest.mark.parametrize(
    ("shape", "kwargs"),
    [
        ((8,), {}),
        ((4, 1, 1, 1), {}),
        ((2, 8, 8), {"octaves": 0}),
        ((2, 8, 8), {"persistence": 0.0}),
        ((2, 8, 8), {"frequency": -0.1}),
        ((2, 8, 8), {"frequency": float("nan")}),
    ],
)
def test_simplex_rejects_bad_arguments(shape: tuple[int, ...], kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        simplex_noise(shape, generator=_gen(0), **kwargs)


def test_simplex_empty_leading_dim() -> None:
    z = simplex_noise((0, 1, 8, 8), generator=_gen(0))
    assert z.shape == (0, 1, 8, 8)
    assert z.dtype == torch.float32
