"""Tests for the synthetic anomaly injectors (anomaly_diffusion.data.anomalies)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from anomaly_diffusion.data.anomalies import (
    FRAME_KINDS,
    INJECTORS,
    SIGNAL_KINDS,
    dropout,
    inject,
    kinds_for,
    perlin,
    synthetic_anomalies,
)
from anomaly_diffusion.errors import ConfigError, DataError

ALL_KINDS = SIGNAL_KINDS + FRAME_KINDS
SHAPES = [(1, 64, 64), (1, 128, 376), (1, 513, 16), (1, 8, 8), (3, 16, 64), (2, 8, 13)]


def _normal(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _check_contract(x: np.ndarray, y: np.ndarray, mask: np.ndarray) -> None:
    assert y.shape == x.shape
    assert y.dtype == np.float32
    assert mask.shape == x.shape[1:]
    assert mask.dtype == np.bool_
    assert mask.any()
    outside = ~mask
    # bit-identical outside the mask, in every channel
    np.testing.assert_array_equal(y[:, outside].view(np.uint32), x[:, outside].view(np.uint32))
    assert np.isfinite(y).all()


def test_registry_complete():
    assert set(INJECTORS) == set(ALL_KINDS)
    assert len(ALL_KINDS) == 8


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_injector_contract(kind, shape):
    x = _normal(shape, seed=1)
    x_before = x.copy()
    changes = []
    for seed in range(10):
        y, mask = inject(x, kind, np.random.default_rng(seed), strength=3.0)
        np.testing.assert_array_equal(x, x_before)  # input never modified
        assert y is not x and not np.shares_memory(y, x)
        _check_contract(x, y, mask)
        delta = np.abs(y - x)[:, mask]
        changed = (delta > 0).any(axis=0)
        if kind == "dropout":  # cells already holding x.min() cannot change
            assert (changed | (x[:, mask] == x.min()).all(axis=0)).all(), (kind, shape, seed)
        else:  # the mask is truthful: every masked cell changed in some channel
            assert changed.all(), (kind, shape, seed)
        changes.append(delta.ravel())
    # changed on average: per call the mask can be a single cell on an 8 x 8 array (band_noise,
    # cutpaste), so the mean is taken over the masked cells of all calls
    mean_change = float(np.concatenate(changes).mean())
    assert mean_change > 0.5, (kind, shape, mean_change)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_constant_input_still_changed(kind):
    x = np.full((1, 16, 16), 0.25, dtype=np.float32)
    y, mask = inject(x, kind, np.random.default_rng(3), strength=3.0)
    _check_contract(x, y, mask)
    # every masked cell actually changed (mask is truthful even for a flat image)
    assert (y[:, mask] != x[:, mask]).any(axis=0).all()
    assert float(np.abs(y - x)[:, mask].mean()) > 0.5


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_float64_input_accepted(kind):
    x64 = _normal((1, 32, 24), seed=4).astype(np.float64)
    y, mask = inject(x64, kind, np.random.default_rng(0))
    assert y.dtype == np.float32
    _check_contract(x64.astype(np.float32), y, mask)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_amplitude_scales_with_std(kind):
    """Amplitudes are in standard deviations: scaling x scales the change."""
    x = _normal((1, 48, 40), seed=5)
    y1, m1 = inject(x, kind, np.random.default_rng(11), strength=3.0)
    y2, m2 = inject(x * 10, kind, np.random.default_rng(11), strength=3.0)
    np.testing.assert_array_equal(m1, m2)
    np.testing.assert_allclose((y2 - x * 10)[:, m2], 10 * (y1 - x)[:, m1], rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_deterministic_same_seed(kind):
    x = _normal((2, 40, 56), seed=2)
    y1, m1 = inject(x, kind, np.random.default_rng(123))
    y2, m2 = inject(x, kind, np.random.default_rng(123))
    np.testing.assert_array_equal(m1, m2)
    np.testing.assert_array_equal(y1, y2)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_different_seeds_different_masks(kind):
    x = _normal((1, 64, 96), seed=2)
    masks = [inject(x, kind, np.random.default_rng(s))[1] for s in range(6)]
    distinct = {m.tobytes() for m in masks}
    assert len(distinct) >= 2


def test_multichannel_same_mask_all_channels():
    x = _normal((3, 32, 32), seed=6)
    for kind in ALL_KINDS:
        y, mask = inject(x, kind, np.random.default_rng(7))
        changed = y != x  # (C, H, W)
        for c in range(3):
            assert not changed[c][~mask].any()
        # each channel is changed somewhere inside the mask
        assert all(changed[c][mask].any() for c in range(3)), kind


def test_dropout_sets_columns_to_min():
    x = _normal((2, 40, 100), seed=8)
    for seed in range(10):
        y, mask = dropout(x, np.random.default_rng(seed), 3.0)
        cols = np.flatnonzero(mask.any(axis=0))
        # whole columns, contiguous, 10-30 % of the time axis
        assert mask[:, cols].all()
        assert np.array_equal(cols, np.arange(cols[0], cols[-1] + 1))
        assert 10 <= cols.size <= 30
        assert (y[:, :, cols] == x.min()).all()


def test_dropout_constant_input_goes_below():
    x = np.zeros((1, 8, 8), dtype=np.float32)
    y, mask = dropout(x, np.random.default_rng(0), 2.0)
    assert (y[:, mask] < 0).all()


@pytest.mark.parametrize(
    "shape", [(1, 64, 64), (1, 128, 376), (1, 513, 16), (1, 8, 8), (3, 20, 20)]
)
def test_perlin_area_fraction(shape):
    x = _normal(shape, seed=9)
    for seed in range(20):
        _, mask = perlin(x, np.random.default_rng(seed), 3.0)
        frac = mask.mean()
        assert 0.01 <= frac <= 0.20, (shape, seed, frac)


def test_perlin_blob_is_spatially_coherent():
    """Perlin regions are blobs, not salt-and-pepper: most mask cells have a masked neighbour."""
    x = _normal((1, 96, 96), seed=10)
    for seed in range(5):
        _, mask = perlin(x, np.random.default_rng(seed), 3.0)
        padded = np.pad(mask, 1)
        neigh = padded[:-2, 1:-1] | padded[2:, 1:-1] | padded[1:-1, :-2] | padded[1:-1, 2:]
        assert (neigh[mask]).mean() > 0.9


def test_tone_is_a_horizontal_line():
    x = _normal((1, 128, 200), seed=11)
    for seed in range(10):
        _, mask = inject(x, "tone", np.random.default_rng(seed))
        rows = np.flatnonzero(mask.any(axis=1))
        assert 1 <= rows.size <= 2
        cols = mask.any(axis=0).sum()
        assert 0.3 * 200 - 1 <= cols <= 200


def test_impulse_is_broadband_and_short():
    x = _normal((1, 128, 200), seed=12)
    for seed in range(10):
        _, mask = inject(x, "impulse", np.random.default_rng(seed))
        cols = np.flatnonzero(mask.any(axis=0))
        assert 1 <= cols.size <= 6  # 1-3 transients of 1-2 columns
        assert mask[:, cols].sum(axis=0).max() >= 0.6 * 128 - 1


def test_band_noise_rectangle_size():
    x = _normal((1, 100, 200), seed=13)
    for seed in range(10):
        _, mask = inject(x, "band_noise", np.random.default_rng(seed))
        rows = np.flatnonzero(mask.any(axis=1))
        cols = np.flatnonzero(mask.any(axis=0))
        assert 10 <= rows.size <= 30 and 20 <= cols.size <= 80
        assert mask.sum() == rows.size * cols.size  # a full rectangle


def test_spot_and_scratch_sizes():
    x = _normal((1, 100, 100), seed=14)
    for seed in range(10):
        _, mask = inject(x, "spot", np.random.default_rng(seed))
        assert mask.sum() <= np.pi * 15**2 + 50
        _, mask = inject(x, "scratch", np.random.default_rng(seed))
        assert mask.mean() < 0.05  # thin line
        rows, cols = np.nonzero(mask)
        extent = np.hypot(np.ptp(rows), np.ptp(cols))
        assert extent >= 0.3 * 99 - 2  # long: at least ~30 % of the diagonal or the fitted side


def test_cutpaste_content_comes_from_same_array():
    x = _normal((1, 64, 64), seed=15)
    y, mask = inject(x, "cutpaste", np.random.default_rng(16))
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    patch = y[0, rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    ph, pw = patch.shape
    candidates = (patch[::-1], patch[:, ::-1], patch[::-1, ::-1])
    found = False
    for r in range(64 - ph + 1):
        for c in range(64 - pw + 1):
            window = x[0, r : r + ph, c : c + pw]
            if any(np.array_equal(window, cand) for cand in candidates):
                found = True
    assert found


def test_inject_unknown_kind():
    with pytest.raises(ConfigError, match=r"'bogus'.*impulse.*perlin"):
        inject(_normal((1, 8, 8)), "bogus", np.random.default_rng(0))


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_strength(bad):
    with pytest.raises(ConfigError, match="strength"):
        inject(_normal((1, 8, 8)), "spot", np.random.default_rng(0), strength=bad)


def test_bad_shape_and_values():
    with pytest.raises(ConfigError, match="shape"):
        inject(_normal((8, 8)), "tone", np.random.default_rng(0))
    x = _normal((1, 8, 8))
    x[0, 0, 0] = np.nan
    with pytest.raises(DataError, match="NaN"):
        inject(x, "tone", np.random.default_rng(0))


def test_kinds_for_mapping():
    assert kinds_for("frame") == FRAME_KINDS
    for kind in ("stft", "log_mel", "sensor_window"):
        assert kinds_for(kind) == SIGNAL_KINDS


def test_kinds_for_unknown():
    with pytest.raises(ConfigError, match=r"features\.kind='waveform'"):
        kinds_for("waveform")


@pytest.mark.parametrize(
    ("feature_kind", "shape"),
    [("log_mel", (1, 64, 63)), ("frame", (3, 32, 32)), ("sensor_window", (1, 8, 32))],
)
def test_synthetic_anomalies_counts_and_balance(feature_kind, shape):
    arrays = [_normal(shape, seed=s) for s in range(3)]
    before = [a.copy() for a in arrays]
    out = synthetic_anomalies(arrays, feature_kind, np.random.default_rng(0), per_kind=5)
    kinds = kinds_for(feature_kind)
    assert len(out) == 5 * len(kinds)
    assert Counter(k for _, _, k in out) == dict.fromkeys(kinds, 5)
    for y, mask, _ in out:
        assert y.shape == shape and y.dtype == np.float32
        assert mask.shape == shape[1:] and mask.any()
        # each y is one of the inputs changed only inside its mask
        assert any(np.array_equal(y[:, ~mask], a[:, ~mask]) for a in arrays)
    for a, b in zip(arrays, before, strict=True):
        np.testing.assert_array_equal(a, b)


def test_synthetic_anomalies_deterministic():
    arrays = [_normal((1, 32, 40), seed=s) for s in range(4)]
    a = synthetic_anomalies(arrays, "stft", np.random.default_rng(5), per_kind=3)
    b = synthetic_anomalies(arrays, "stft", np.random.default_rng(5), per_kind=3)
    for (ya, ma, ka), (yb, mb, kb) in zip(a, b, strict=True):
        assert ka == kb
        np.testing.assert_array_equal(ya, yb)
        np.testing.assert_array_equal(ma, mb)


def test_synthetic_anomalies_errors():
    rng = np.random.default_rng(0)
    with pytest.raises(DataError, match="hold out"):
        synthetic_anomalies([], "frame", rng)
    with pytest.raises(ConfigError, match=r"features\.kind"):
        synthetic_anomalies([_normal((1, 8, 8))], "nope", rng)
    with pytest.raises(ConfigError, match="per_kind"):
        synthetic_anomalies([_normal((1, 8, 8))], "frame", rng, per_kind=0)
