"""What the diffusion model sees: a window's own normalized features (pixels, spectrograms), or
the normalized feature maps a pretrained backbone makes of a frame (``features.backbone``).

:class:`BackboneInputs` holds the frozen extractor, the per-channel statistics of the training
feature maps and (``features.backbone_whitening=position``) their per-position whitening
(:mod:`anomaly_diffusion.features.whitening`); it turns frames into model inputs and the
model's coarse maps back into maps at the frame's resolution, so scores, thresholds, peaks and
masks keep their contracts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from anomaly_diffusion.features.backbone import FeatureExtractor
from anomaly_diffusion.features.normalization import normalize
from anomaly_diffusion.features.whitening import fit_position_whitening, whiten_positions

Whitening = tuple[np.ndarray, np.ndarray]
"""Per-position ``(mean (K, h, w), matrix (h * w, K, K))`` of standardized maps."""


def _channel_stats(maps: np.ndarray, *, chunk: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation ``(K, 1, 1)`` float32 of ``(N, K, h, w)`` maps,
    accumulated ``chunk`` maps at a time in float64 (no full-size temporaries: the training
    maps are the largest array of a camera fit); tiny deviations are floored at 1e-3 of the
    median one."""
    n, k = maps.shape[:2]
    total, squares = np.zeros(k), np.zeros(k)
    for start in range(0, n, chunk):
        block = maps[start : start + chunk].astype(np.float64)
        total += block.sum(axis=(0, 2, 3))
        squares += np.square(block).sum(axis=(0, 2, 3))
    count = n * maps.shape[2] * maps.shape[3]
    mean = total / count
    std = np.sqrt(np.maximum(squares / count - mean**2, 0.0))
    std = np.maximum(std, 1e-3 * float(np.median(std)) + 1e-6)
    return (
        mean.astype(np.float32)[:, None, None],
        std.astype(np.float32)[:, None, None],
    )


class BackboneInputs:
    """Frames ``(C, H, W)`` in [0, 1] -> normalized feature maps ``(K, H / s, W / s)``.

    Attributes:
        extractor: The frozen :class:`FeatureExtractor` (its weights are saved with the model).
        mean, std: ``(K, 1, 1)`` float32 statistics of the training feature maps.
        whitening: Per-position whitening applied after the per-channel standardization, or
            ``None`` (standardized maps only).
    """

    def __init__(
        self,
        extractor: FeatureExtractor,
        mean: np.ndarray,
        std: np.ndarray,
        whitening: Whitening | None = None,
    ) -> None:
        self.extractor, self.mean, self.std = extractor, mean, std
        self.whitening = whitening

    @classmethod
    def fit(
        cls,
        extractor: FeatureExtractor,
        frames: Sequence[np.ndarray],
        *,
        whiten: bool = True,
        batch_size: int = 16,
    ) -> tuple[BackboneInputs, list[np.ndarray]]:
        """Encode the training frames once (the cache every epoch reuses) and fit the
        per-channel statistics, then (``whiten``) the per-position whitening; returns the
        inputs and the training maps as the model sees them (views of one array, transformed
        in place: one copy of the maps in memory)."""
        maps = extractor.encode(list(frames), batch_size=batch_size)  # (N, K, h, w) float32
        mean, std = _channel_stats(maps)
        maps -= mean
        maps /= std
        whitening = None
        if whiten:
            mean_p, matrix = fit_position_whitening(maps)
            # rounded to float16 as saved (784 x 128 x 128 matrices: 25 MB instead of 51), so
            # that the model is trained, scored and reloaded with the very same matrices
            whitening = (mean_p, matrix.astype(np.float16).astype(np.float32))
            whiten_positions(maps, *whitening)
        return cls(extractor, mean, std, whitening), list(maps)

    def encode(self, frames: Sequence[np.ndarray]) -> torch.Tensor:
        """``(B, K, h, w)`` normalized feature maps of a batch of frames. The backbone runs in
        the precision it was fitted with (``features.backbone_precision``; float32 and bfloat16
        features differ by ~15 % of their magnitude, which would shift every map against the
        training statistics)."""
        maps = self.extractor.encode(list(frames), batch_size=max(1, len(frames)))
        maps = normalize(maps, self.mean[None], self.std[None])
        if self.whitening is not None:
            whiten_positions(maps, *self.whitening)
        return torch.from_numpy(maps)

    @staticmethod
    def to_frame(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """Bilinear upsampling of ``(B, K, h, w)`` maps to ``(B, K, *size)`` (frame pixels)."""
        return F.interpolate(maps, size=size, mode="bilinear", align_corners=False)

    def tensors(self) -> dict[str, torch.Tensor]:
        """What a saved model keeps: backbone weights and the statistics."""
        out = {
            f"backbone.{k}": v.contiguous() for k, v in self.extractor.backbone.state_dict().items()
        }
        out["backbone_norm.mean"] = torch.from_numpy(self.mean)
        out["backbone_norm.std"] = torch.from_numpy(self.std)
        if self.whitening is not None:
            # exact: the matrices were rounded to float16 at fit time
            out["backbone_white.mean"] = torch.from_numpy(self.whitening[0])
            out["backbone_white.matrix"] = torch.from_numpy(self.whitening[1]).half()
        return out

    @classmethod
    def from_tensors(
        cls, extractor: FeatureExtractor, tensors: dict[str, torch.Tensor]
    ) -> BackboneInputs:
        """Rebuild from :meth:`tensors` (no weight file is looked up)."""
        state = {k[9:]: v for k, v in tensors.items() if k.startswith("backbone.")}
        extractor.load_backbone_state(state, source="saved model")
        whitening = None
        if "backbone_white.matrix" in tensors:  # models saved before whitening have none
            whitening = (
                tensors["backbone_white.mean"].numpy(),
                tensors["backbone_white.matrix"].float().numpy(),
            )
        return cls(
            extractor,
            tensors["backbone_norm.mean"].numpy(),
            tensors["backbone_norm.std"].numpy(),
            whitening,
        )
