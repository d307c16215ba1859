"""PatchCore (Roth et al., CVPR 2022): a coreset memory bank of normal patch features, scored
by each test patch's distance to its nearest neighbour in the bank.

Pure functions on float32 arrays (torch inside, numpy in and out):
:func:`sparse_random_projection` and :func:`kcenter_greedy` choose the coreset (anomalib's
``KCenterGreedy``), :func:`nearest_distances` scores patches against it, and
:func:`fit_memory_bank` / :func:`patch_distance_maps` do both on ``(N, D, h, w)`` feature maps.
"""

from __future__ import annotations

import numpy as np
import torch

from anomaly_diffusion.errors import ConfigError

#: Share of training patches kept in the memory bank: 1 % (Roth et al. 2022 report PatchCore-1 %
#: close to PatchCore-10 % on MVTec AD; anomalib's 10 % takes ~15 min of greedy steps here).
CORESET_RATIO = 0.01
#: Dimensions the coreset distances are computed in when the features have more.
PROJECTION_DIM = 128
#: Largest distance block (queries x bank entries) held at once by :func:`nearest_distances`.
MAX_BLOCK = 2**24

_CHUNK_ROWS = 65_536


def patch_vectors(feature_maps: np.ndarray) -> np.ndarray:
    """``(N, D, h, w)`` feature maps -> ``(N * h * w, D)`` patch vectors (image-major, then
    row-major positions), float32."""
    n, d, h, w = feature_maps.shape
    return np.ascontiguousarray(
        np.asarray(feature_maps, dtype=np.float32).transpose(0, 2, 3, 1).reshape(n * h * w, d)
    )


def sparse_random_projection(
    dim_in: int, dim_out: int, *, generator: torch.Generator
) -> torch.Tensor:
    """Sparse random projection matrix ``(dim_in, dim_out)`` (Li et al. 2006, as scikit-learn's
    ``SparseRandomProjection`` with density ``1 / sqrt(dim_in)``): entries ``+-sqrt(1 /
    (density * dim_out))`` with probability ``density / 2`` each, else 0, so that squared
    distances are preserved in expectation."""
    density = 1.0 / np.sqrt(dim_in)
    u = torch.rand(dim_in, dim_out, generator=generator)
    scale = float(np.sqrt(1.0 / (density * dim_out)))
    out = torch.zeros(dim_in, dim_out)
    out[u < density / 2] = scale
    out[(u >= density / 2) & (u < density)] = -scale
    return out


def kcenter_greedy(
    vectors: np.ndarray,
    n_select: int,
    *,
    seed: int = 0,
    projection_dim: int | None = PROJECTION_DIM,
) -> np.ndarray:
    """Greedy k-center coreset: start from a random vector, then repeatedly add the vector
    farthest (Euclidean) from the ones selected so far.

    Each step costs one matrix-vector product over all vectors (``O(N * D)``, float32); with
    ``D > projection_dim`` the distances are computed after a sparse random projection to
    ``projection_dim`` dimensions (projected in chunks).

    Args:
        vectors: ``(N, D)`` float32.
        n_select: Vectors to keep, ``1 <= n_select <= N``.
        seed: Seeds the start vector and the projection.
        projection_dim: ``None``: never project.

    Returns:
        ``(n_select,)`` int64 indices into ``vectors``, unique, in selection order.
    """
    n, dim = vectors.shape
    if not 1 <= n_select <= n:
        raise ConfigError(f"coreset size {n_select} must be in 1..{n} (the number of patches)")
    generator = torch.Generator().manual_seed(seed)
    x = torch.from_numpy(np.asarray(vectors, dtype=np.float32))
    if projection_dim is not None and dim > projection_dim:
        matrix = sparse_random_projection(dim, projection_dim, generator=generator)
        projected = torch.empty(n, projection_dim)
        for start in range(0, n, _CHUNK_ROWS):
            projected[start : start + _CHUNK_ROWS] = x[start : start + _CHUNK_ROWS] @ matrix
        x = projected
    x = x - x.mean(dim=0)  # smaller norms: less cancellation in |a|^2 - 2ab + |b|^2
    sq_norms = (x * x).sum(dim=1)
    selected = np.empty(n_select, dtype=np.int64)
    index = int(torch.randint(n, (1,), generator=generator))
    min_dist = torch.full((n,), float("inf"))
    for step in range(n_select):
        selected[step] = index
        center = x[index]
        dist = torch.addmv(sq_norms + sq_norms[index], x, center, alpha=-2.0).clamp_(min=0)
        torch.minimum(min_dist, dist, out=min_dist)
        min_dist[index] = -1.0  # never again, even if rounding left it above a duplicate's
        index = int(torch.argmax(min_dist))
    return selected


def nearest_distances(
    queries: np.ndarray, bank: np.ndarray, *, max_block: int = MAX_BLOCK
) -> np.ndarray:
    """Euclidean distance of each query to its nearest bank vector, computed with
    ``torch.cdist`` in blocks of at most ``max_block`` query-bank pairs.

    Args:
        queries: ``(M, D)`` float32.
        bank: ``(K, D)`` float32, ``K >= 1``.

    Returns:
        ``(M,)`` float32.
    """
    q = torch.from_numpy(np.asarray(queries, dtype=np.float32))
    b = torch.from_numpy(np.asarray(bank, dtype=np.float32))
    rows = max(1, max_block // max(1, len(b)))
    out = torch.empty(len(q))
    for start in range(0, len(q), rows):
        out[start : start + rows] = torch.cdist(q[start : start + rows], b).min(dim=1).values
    return out.numpy()


def fit_memory_bank(
    feature_maps: np.ndarray,
    *,
    coreset_ratio: float = CORESET_RATIO,
    seed: int = 0,
    projection_dim: int | None = PROJECTION_DIM,
) -> np.ndarray:
    """Memory bank of normal patches: the k-center coreset of every patch vector of
    ``feature_maps`` ``(N, D, h, w)``.

    Args:
        coreset_ratio: Share of the ``N * h * w`` patches kept, in (0, 1] (1: keep all).

    Returns:
        ``(max(1, int(N * h * w * coreset_ratio)), D)`` float32.
    """
    if not 0 < coreset_ratio <= 1:
        raise ConfigError(f"coreset_ratio={coreset_ratio} must be in (0, 1], e.g. 0.1")
    vectors = patch_vectors(feature_maps)
    if coreset_ratio == 1:
        return vectors
    n_select = max(1, int(len(vectors) * coreset_ratio))
    keep = kcenter_greedy(vectors, n_select, seed=seed, projection_dim=projection_dim)
    return vectors[np.sort(keep)]


def patch_distance_maps(feature_maps: np.ndarray, bank: np.ndarray) -> np.ndarray:
    """Nearest-neighbour distance of every patch of ``feature_maps`` ``(N, D, h, w)`` to the
    memory bank ``(K, D)``: ``(N, h, w)`` float32 (feature-space units)."""
    n, _, h, w = feature_maps.shape
    return nearest_distances(patch_vectors(feature_maps), bank).reshape(n, h, w)
