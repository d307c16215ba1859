"""Tests of anomaly_diffusion.metrics.localization."""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy import ndimage

from anomaly_diffusion.errors import ConfigError
from anomaly_diffusion.metrics import aupro, pixel_auroc, resize_masks


def _two_region_masks() -> np.ndarray:
    masks = np.zeros((2, 32, 32), dtype=bool)
    masks[0, 4:12, 4:12] = True  # region A
    masks[0, 20:28, 20:28] = True  # region B, same size as A
    return masks


def test_perfect_map() -> None:
    masks = _two_region_masks()
    maps = masks.astype(float)
    assert pixel_auroc(masks, maps) == 1.0
    assert aupro(masks, maps) == pytest.approx(1.0)


def test_random_map_aupro_near_chance() -> None:
    rng = np.random.default_rng(0)
    masks = np.zeros((20, 64, 64), dtype=bool)
    masks[:10, 10:30, 10:30] = True
    maps = rng.normal(size=masks.shape)
    value = aupro(masks, maps)
    assert value < 0.3
    assert value == pytest.approx(0.15, abs=0.05)
    assert pixel_auroc(masks, maps) == pytest.approx(0.5, abs=0.03)


def test_map_covering_one_of_two_regions() -> None:
    # Region A scores above all background, region B below it: PRO stays at 0.5 up to FPR 1.
    masks = _two_region_masks()
    maps = np.random.default_rng(0).uniform(0.1, 1.0, size=masks.shape)
    maps[0, 4:12, 4:12] = 2.0
    maps[0, 20:28, 20:28] = 0.0
    assert aupro(masks, maps) == pytest.approx(0.5, abs=1e-6)


def test_aupro_region_average_not_pixel_average() -> None:
    # A small detected region counts as much as a large missed one.
    masks = np.zeros((1, 40, 40), dtype=bool)
    masks[0, 0:2, 0:2] = True
    masks[0, 20:40, 20:40] = True
    maps = np.random.default_rng(1).uniform(0.1, 1.0, size=masks.shape)
    maps[0, 0:2, 0:2] = 2.0
    maps[0, 20:40, 20:40] = 0.0
    assert aupro(masks, maps) == pytest.approx(0.5, abs=1e-6)


def _reference_aupro(masks: np.ndarray, maps: np.ndarray, fpr_limit: float) -> float:
    """Brute force: one threshold per distinct map value, regions looped explicitly."""
    regions = []
    for mask, amap in zip(masks, maps, strict=True):
        labelled, n_regions = ndimage.label(mask, structure=np.ones((3, 3)))
        regions += [amap[labelled == k] for k in range(1, n_regions + 1)]
    normal = maps[~masks]
    fprs, pros = [0.0], [0.0]
    for t in np.unique(maps)[::-1]:
        fprs.append(np.mean(normal >= t))
        pros.append(np.mean([np.mean(region >= t) for region in regions]))
    fprs, pros = np.array(fprs), np.array(pros)
    k = np.searchsorted(fprs, fpr_limit, side="right")
    pro_limit = np.interp(fpr_limit, fprs[k - 1 : k + 1], pros[k - 1 : k + 1])
    xs, ys = np.r_[fprs[:k], fpr_limit], np.r_[pros[:k], pro_limit]
    return float(np.sum(np.diff(xs) * (ys[1:] + ys[:-1]) / 2) / fpr_limit)


@pytest.mark.parametrize("fpr_limit", [0.05, 0.3, 1.0])
def test_aupro_matches_brute_force_on_noisy_map(fpr_limit: float) -> None:
    rng = np.random.default_rng(2)
    masks = np.zeros((4, 24, 24), dtype=bool)
    masks[:2, 6:12, 6:18] = True
    masks[1, 16:20, 2:5] = True
    masks[3, 0:3, 0:3] = True
    maps = rng.normal(size=masks.shape) + rng.uniform(0.5, 2.5, size=(4, 1, 1)) * masks
    expected = _reference_aupro(masks, maps, fpr_limit)
    assert aupro(masks, maps, fpr_limit=fpr_limit, n_thresholds=400) == pytest.approx(
        expected, abs=0.01
    )


def test_single_class_gives_none() -> None:
    maps = np.zeros((2, 8, 8))
    assert pixel_auroc(np.zeros((2, 8, 8), dtype=bool), maps) is None
    assert pixel_auroc(np.ones((2, 8, 8), dtype=bool), maps) is None
    assert aupro(np.zeros((2, 8, 8), dtype=bool), maps) is None
    assert aupro(np.ones((2, 8, 8), dtype=bool), maps) is None


def test_localization_validation() -> None:
    masks = _two_region_masks()
    with pytest.raises(
        ConfigError, match=r"maps: shape \(2, 16, 16\) .* masks shape \(2, 32, 32\)"
    ):
        pixel_auroc(masks, np.zeros((2, 16, 16)))
    with pytest.raises(
        ConfigError, match=r"maps: shape \(2, 16, 16\) .* masks shape \(2, 32, 32\)"
    ):
        aupro(masks, np.zeros((2, 16, 16)))
    with pytest.raises(ConfigError, match="maps: contain NaN or inf"):
        pixel_auroc(masks, np.full(masks.shape, np.nan))
    with pytest.raises(ConfigError, match=r"masks: values \[2\] are not binary"):
        pixel_auroc(masks * 2, np.zeros(masks.shape))
    with pytest.raises(ConfigError, match=r"masks: expected shape \(N, H, W\)"):
        pixel_auroc(masks[0], np.zeros(masks.shape[1:]))
    with pytest.raises(ConfigError, match=r"fpr_limit: got 0.0; use a rate in \(0, 1\]"):
        aupro(masks, masks.astype(float), fpr_limit=0.0)
    with pytest.raises(ConfigError, match="n_thresholds: got 1; use an integer >= 2"):
        aupro(masks, masks.astype(float), n_thresholds=1)


def test_aupro_speed_300_maps() -> None:
    rng = np.random.default_rng(3)
    masks = np.zeros((300, 128, 128), dtype=bool)
    masks[::2, 30:50, 40:70] = True
    masks[::3, 90:100, 90:120] = True
    maps = rng.normal(size=masks.shape) + masks
    start = time.perf_counter()
    value = aupro(masks, maps)
    assert time.perf_counter() - start < 5.0
    assert 0.15 < value < 1.0


def test_resize_masks() -> None:
    masks = np.zeros((1, 4, 4), dtype=bool)
    masks[0, :2, :2] = True
    up = resize_masks(masks, (8, 8))
    assert up.shape == (1, 8, 8) and up.dtype == bool
    assert up[0, :4, :4].all() and up.sum() == 16
    down = resize_masks(up, (4, 4))
    assert np.array_equal(down, masks)
    odd = resize_masks(masks.astype(int), (3, 5))
    assert odd.shape == (1, 3, 5) and odd.dtype == bool


def test_resize_masks_validation() -> None:
    with pytest.raises(ConfigError, match=r"shape: got \(0, 4\); pass two positive ints"):
        resize_masks(np.zeros((1, 4, 4), dtype=bool), (0, 4))
    with pytest.raises(ConfigError, match=r"shape: got \(4,\); pass two positive ints"):
        resize_masks(np.zeros((1, 4, 4), dtype=bool), (4,))
    with pytest.raises(ConfigError, match=r"masks: expected shape \(N, H, W\)"):
        resize_masks(np.zeros((4, 4), dtype=bool), (2, 2))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pixel_auroc_equals_sklearn_with_ties(dtype) -> None:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(3)
    masks = rng.random((6, 40, 30)) < 0.1
    # coarse values: many ties inside and across classes
    maps = (np.round(rng.normal(size=masks.shape) + 0.8 * masks, 1)).astype(dtype)
    expected = roc_auc_score(masks.ravel(), maps.ravel())
    assert pixel_auroc(masks, maps) == pytest.approx(expected, abs=1e-12)
    assert pixel_auroc(masks, -maps) == pytest.approx(1 - expected, abs=1e-12)
