"""Feature-grid anomaly maps -> frame-resolution maps (as anomalib's ``AnomalyMapGenerator``):
bilinear upsampling, then Gaussian smoothing, so that masks, peaks and figures work in the
frame's pixels."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from anomaly_diffusion.scoring.maps import smooth_map

#: Gaussian smoothing of the upsampled maps (pixels), anomalib's value.
SMOOTHING_SIGMA = 4.0


def frame_maps(
    patch_maps: np.ndarray, size: tuple[int, int], *, sigma: float = SMOOTHING_SIGMA
) -> list[np.ndarray]:
    """Upsample ``(N, h, w)`` patch maps bilinearly (``align_corners=False``) to ``size``
    ``(H, W)`` and smooth each with a Gaussian of ``sigma`` pixels.

    Returns:
        N float32 maps ``(H, W)``.
    """
    grid = torch.from_numpy(np.asarray(patch_maps, dtype=np.float32))[:, None]
    up = F.interpolate(grid, size=tuple(size), mode="bilinear", align_corners=False)
    return [smooth_map(m, sigma=sigma) for m in up[:, 0].numpy()]
