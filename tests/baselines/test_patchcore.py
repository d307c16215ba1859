"""PatchCore math: greedy k-center coreset, sparse projection, nearest-neighbour distances."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from anomaly_diffusion.baselines.patchcore import (
    fit_memory_bank,
    kcenter_greedy,
    nearest_distances,
    patch_distance_maps,
    patch_vectors,
    sparse_random_projection,
)
from anomaly_diffusion.errors import ConfigError


def _cluster_with_outliers(dim: int, seed: int = 0) -> tuple[np.ndarray, list[int]]:
    """200 points within 0.01 of the origin and 5 far outliers at indices 20, 60, ..."""
    rng = np.random.default_rng(seed)
    x = 0.01 * rng.normal(size=(200, dim))
    outliers = [20, 60, 100, 140, 180]
    directions = rng.normal(size=(len(outliers), dim))
    x[outliers] = 10 * directions / np.linalg.norm(directions, axis=1, keepdims=True)
    return x.astype(np.float32), outliers


def _greedy_numpy(x: np.ndarray, first: int, n_select: int) -> list[int]:
    """Textbook farthest-point selection (float64, brute force)."""
    x = x.astype(np.float64)
    chosen = [first]
    min_dist = np.linalg.norm(x - x[first], axis=1)
    while len(chosen) < n_select:
        chosen.append(int(np.argmax(min_dist)))
        min_dist = np.minimum(min_dist, np.linalg.norm(x - x[chosen[-1]], axis=1))
    return chosen


@pytest.mark.parametrize("dim, projection_dim", [(8, 128), (300, 32)])
def test_coreset_takes_the_far_outliers_first(dim, projection_dim):
    x, outliers = _cluster_with_outliers(dim)
    idx = kcenter_greedy(x, 20, seed=3, projection_dim=projection_dim)
    assert idx.dtype == np.int64 and len(idx) == 20 and len(set(idx.tolist())) == 20
    assert set(outliers) <= set(idx[: len(outliers) + 1].tolist())  # after the random start


def test_coreset_matches_the_textbook_greedy_and_is_seeded():
    x = np.random.default_rng(1).normal(size=(300, 6)).astype(np.float32)
    idx = kcenter_greedy(x, 40, seed=5)
    assert idx.tolist() == _greedy_numpy(x, int(idx[0]), 40)
    assert np.array_equal(kcenter_greedy(x, 40, seed=5), idx)
    assert kcenter_greedy(x, 300, seed=0).tolist() != list(range(300))  # a permutation...
    assert sorted(kcenter_greedy(x, 300, seed=0).tolist()) == list(range(300))  # ...of all
    with pytest.raises(ConfigError, match="coreset size 0"):
        kcenter_greedy(x, 0)


def test_sparse_projection_is_sparse_and_keeps_distances_on_average():
    matrix = sparse_random_projection(400, 64, generator=torch.Generator().manual_seed(0))
    scale = np.sqrt(np.sqrt(400) / 64)  # sqrt(1 / (density * dim_out))
    np.testing.assert_allclose(np.unique(matrix.numpy()), [-scale, 0.0, scale], rtol=1e-6)
    assert abs(float((matrix != 0).float().mean()) - 1 / 20) < 0.01  # density 1 / sqrt(400)
    x = torch.from_numpy(np.random.default_rng(0).normal(size=(50, 400)).astype(np.float32))
    ratio = torch.pdist(x @ matrix) ** 2 / torch.pdist(x) ** 2
    assert abs(float(ratio.mean()) - 1) < 0.1


def test_nearest_distances_equal_brute_force_in_small_blocks():
    rng = np.random.default_rng(2)
    queries = rng.normal(size=(70, 16)).astype(np.float32)
    bank = rng.normal(size=(30, 16)).astype(np.float32)
    queries[5] = bank[7]
    brute = np.linalg.norm(queries[:, None].astype(np.float64) - bank[None], axis=2).min(axis=1)
    found = nearest_distances(queries, bank, max_block=64)  # 2 queries per block
    assert found.shape == (70,) and found.dtype == np.float32
    np.testing.assert_allclose(found, brute, rtol=1e-4, atol=1e-3)
    assert found[5] < 1e-3


def test_memory_bank_keeps_the_ratio_and_maps_have_the_grid_shape():
    maps = np.random.default_rng(0).normal(size=(4, 5, 6, 7)).astype(np.float32)
    vectors = patch_vectors(maps)
    assert vectors.shape == (4 * 6 * 7, 5)
    assert np.array_equal(vectors[6 * 7 + 2 * 7 + 3], maps[1, :, 2, 3])  # image, row, column
    bank = fit_memory_bank(maps, coreset_ratio=0.1, seed=0)
    assert bank.shape == (int(168 * 0.1), 5)
    assert len(np.unique(bank, axis=0)) == len(bank)
    assert np.array_equal(fit_memory_bank(maps, coreset_ratio=1.0), vectors)
    grid = patch_distance_maps(maps, vectors)
    assert grid.shape == (4, 6, 7) and np.abs(grid).max() < 1e-2  # every patch is in the bank
    with pytest.raises(ConfigError, match="coreset_ratio=0"):
        fit_memory_bank(maps, coreset_ratio=0)
