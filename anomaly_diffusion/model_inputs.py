"""What the diffusion model sees: a window's own normalized features (pixels, spectrograms), or
the normalized feature maps a pretrained backbone makes of a frame (``features.backbone``).

:class:`BackboneInputs` holds the frozen extractor and the per-channel statistics of the training
feature maps; it turns frames into model inputs and the model's coarse maps back into maps at
the frame's resolution, so scores, thresholds, peaks and masks keep their contracts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from anomaly_diffusion.features.backbone import FeatureExtractor
from anomaly_diffusion.features.normalization import normalize


class BackboneInputs:
    """Frames ``(C, H, W)`` in [0, 1] -> normalized feature maps ``(K, H / s, W / s)``.

    Attributes:
        extractor: The frozen :class:`FeatureExtractor` (its weights are saved with the model).
        mean, std: ``(K, 1, 1)`` float32 statistics of the training feature maps.
    """

    def __init__(self, extractor: FeatureExtractor, mean: np.ndarray, std: np.ndarray) -> None:
        self.extractor, self.mean, self.std = extractor, mean, std

    @classmethod
    def fit(
        cls, extractor: FeatureExtractor, frames: Sequence[np.ndarray], *, batch_size: int = 16
    ) -> tuple[BackboneInputs, list[np.ndarray]]:
        """Encode the training frames once (the cache every epoch reuses) and fit the
        per-channel statistics; returns the inputs and the normalized training maps (views of
        one array, normalized in place: one copy of the maps in memory)."""
        maps = extractor.encode(list(frames), batch_size=batch_size)  # (N, K, h, w) float32
        mean = maps.mean(axis=(0, 2, 3), dtype=np.float64)[:, None, None]
        std = np.sqrt(((maps - mean.astype(np.float32)) ** 2).mean(axis=(0, 2, 3)))[:, None, None]
        std = np.maximum(std, 1e-3 * float(np.median(std)) + 1e-6)
        mean, std = mean.astype(np.float32), std.astype(np.float32)
        maps -= mean
        maps /= std
        return cls(extractor, mean, std), list(maps)

    def encode(self, frames: Sequence[np.ndarray]) -> torch.Tensor:
        """``(B, K, h, w)`` normalized feature maps of a batch of frames. The backbone runs in
        float32 here as at fit time (under bfloat16 its features differ by ~16 % of their
        magnitude, which would shift every map against the training statistics)."""
        maps = self.extractor.encode(list(frames), batch_size=max(1, len(frames)))
        return torch.from_numpy(normalize(maps, self.mean[None], self.std[None]))

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
        return out

    @classmethod
    def from_tensors(
        cls, extractor: FeatureExtractor, tensors: dict[str, torch.Tensor]
    ) -> BackboneInputs:
        """Rebuild from :meth:`tensors` (no weight file is looked up)."""
        state = {k[9:]: v for k, v in tensors.items() if k.startswith("backbone.")}
        extractor.load_backbone_state(state, source="saved model")
        return cls(
            extractor,
            tensors["backbone_norm.mean"].numpy(),
            tensors["backbone_norm.std"].numpy(),
        )
