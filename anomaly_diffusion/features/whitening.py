"""Per-position whitening of feature maps: pure functions on ``(N, K, h, w)`` arrays.

Normal appearance depends on where in the frame a feature vector sits (a tile's border is not
its centre), and at one position the ``K`` channels of a pretrained backbone are strongly
correlated. Whitening each position ``p`` with its own mean and covariance,
``z_p = Sigma_p^{-1/2} (x_p - mu_p)``, turns a per-position Gaussian model of normal data
(PaDiM, Defard et al. 2021) into the standard normal at every position: ``|z_p|^2`` is its
Mahalanobis distance. A diffusion model of the whitened maps then only has to learn how normal
data departs from that Gaussian (several modes, spatial context), instead of learning 784
covariance matrices from a few hundred images.

The inverse square root is the symmetric (ZCA) one: whitened channels stay aligned with the
backbone's channels at every position, so one shared denoiser sees the same channel meaning
everywhere. Every covariance gets ``eps * I`` added (PaDiM's and anomalib's regularization, 0.01:
1 % of a standardized channel's variance), so it is invertible with fewer frames than channels.
:func:`per_position_covariance` is shared with the PaDiM baseline.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from anomaly_diffusion.errors import ConfigError

COVARIANCE_EPS = 0.01
"""Added to every covariance diagonal (anomalib's PaDiM value)."""

CHUNK = 64
"""Positions processed at once (bounds the float64 work arrays to ~40 MB at 600 x 128)."""


def per_position_covariance(
    maps: np.ndarray,
    transform: Callable[[torch.Tensor], torch.Tensor],
    *,
    eps: float = COVARIANCE_EPS,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-position means and a function of the regularized covariances, a chunk of positions
    at a time (float64 inside).

    Args:
        maps: ``(N, K, h, w)`` float32 feature maps, ``N >= 2`` (the caller checks).
        transform: ``(p, K, K)`` unbiased covariances ``+ eps * I`` -> ``(p, K, K)`` (their
            inverse for PaDiM, their inverse square root for the whitening).
        eps: Added to every covariance diagonal.

    Returns:
        ``mean`` ``(h * w, K)`` and ``transform(cov)`` ``(h * w, K, K)``, float32, positions
        row-major.
    """
    n, k, h, w = maps.shape
    x = torch.from_numpy(np.ascontiguousarray(maps, dtype=np.float32)).reshape(n, k, h * w)
    eye = eps * torch.eye(k, dtype=torch.float64)
    mean = np.empty((h * w, k), dtype=np.float32)
    out = np.empty((h * w, k, k), dtype=np.float32)
    for start in range(0, h * w, CHUNK):
        positions = slice(start, min(start + CHUNK, h * w))
        block = x[:, :, positions].double()  # (N, K, p)
        centre = block.mean(dim=0)  # (K, p)
        centred = block - centre
        cov = torch.einsum("ndp,nep->pde", centred, centred) / (n - 1) + eye
        mean[positions], out[positions] = centre.T.numpy(), transform(cov).numpy()
    return mean, out


def _inverse_sqrt(cov: torch.Tensor) -> torch.Tensor:
    """Symmetric (ZCA) inverse square roots of ``(p, K, K)`` covariances."""
    values, vectors = torch.linalg.eigh(cov)
    return (vectors * values.rsqrt()[:, None, :]) @ vectors.transpose(1, 2)


def fit_position_whitening(
    maps: np.ndarray, *, eps: float = COVARIANCE_EPS
) -> tuple[np.ndarray, np.ndarray]:
    """Per-position mean and ZCA whitening matrices of training feature maps.

    Args:
        maps: ``(N, K, h, w)`` float32 feature maps of normal frames (N >= 2).
        eps: Covariance regularization (see the module docstring).

    Returns:
        ``mean`` ``(K, h, w)`` float32 and ``matrix`` ``(h * w, K, K)`` float32, symmetric,
        with ``matrix[p] = (Sigma_p + eps * I)^{-1/2}`` (row-major position order).

    Raises:
        ConfigError: fewer than two maps.
    """
    n, k, h, w = maps.shape
    if n < 2:
        raise ConfigError(
            f"per-position whitening needs at least 2 training frames, got {n}; add normal "
            "frames or set features.backbone_whitening=none"
        )
    mean, matrix = per_position_covariance(maps, _inverse_sqrt, eps=eps)
    return np.ascontiguousarray(mean.T.reshape(k, h, w)), matrix


def whiten_positions(maps: np.ndarray, mean: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply :func:`fit_position_whitening`'s statistics, in place.

    Args:
        maps: ``(N, K, h, w)`` float32, C-contiguous (overwritten with the result).
        mean: ``(K, h, w)``; matrix: ``(h * w, K, K)`` (any float dtype).

    Returns:
        ``maps``, now whitened: ``(N, K, h, w)`` float32.

    Raises:
        ConfigError: the maps' channels or grid differ from the statistics'.
    """
    n, k, h, w = maps.shape
    if mean.shape != (k, h, w):
        raise ConfigError(
            f"feature maps of {k} x {h} x {w}, the whitening was fitted on "
            f"{' x '.join(map(str, mean.shape))}; keep features.image_size and "
            "features.backbone_layers as trained"
        )
    flat = torch.from_numpy(maps).reshape(n, k, h * w)  # shares memory with maps
    centre = torch.from_numpy(mean).reshape(k, h * w)
    weights = torch.from_numpy(matrix)
    for start in range(0, h * w, CHUNK):
        positions = slice(start, min(start + CHUNK, h * w))
        block = (flat[:, :, positions] - centre[:, positions]).permute(2, 0, 1)  # (p, N, K)
        whitened = torch.bmm(block, weights[positions].float())  # W symmetric: z = W d
        flat[:, :, positions] = whitened.permute(1, 2, 0)
    return maps
