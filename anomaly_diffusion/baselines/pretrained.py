"""PatchCore and PaDiM behind the detector's interface (``fit``, ``calibrate``, ``score``,
``threshold_``, ``normal_tail_``, ``input_channels``, ``sample_rate_``), so that
``train model=patchcore|padim`` reads, splits, calibrates, evaluates and logs them as the other
baselines.

Unlike those, they never see the normalized frames: the raw frames in [0, 1] go through the
frozen ImageNet MobileNetV2 of :mod:`anomaly_diffusion.features.backbone` (the config's
``features.backbone``, or ``mobilenet_v2`` when it is ``none``, with its ``backbone_layers``,
``backbone_pool`` and ``backbone_weights``), and the models work on its feature maps
(:mod:`~anomaly_diffusion.baselines.patchcore`, :mod:`~anomaly_diffusion.baselines.padim`). Their
feature-grid maps are upsampled to the frame (:mod:`~anomaly_diffusion.baselines.patch_maps`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from anomaly_diffusion.baselines.common import CalibratedBaseline
from anomaly_diffusion.baselines.padim import fit_gaussians, mahalanobis_maps
from anomaly_diffusion.baselines.patch_maps import frame_maps
from anomaly_diffusion.baselines.patchcore import (
    CORESET_RATIO,
    fit_memory_bank,
    patch_distance_maps,
)
from anomaly_diffusion.data.windows import Window
from anomaly_diffusion.detector_config import DetectorConfig
from anomaly_diffusion.errors import ConfigError, DataError, NotFittedError
from anomaly_diffusion.features.backbone import FeatureExtractor, extractor_for
from anomaly_diffusion.scoring.result import ScoreResult

logger = logging.getLogger(__name__)

#: ``train model=<name>`` choices that run on the pretrained backbone's feature maps.
PRETRAINED_BASELINES = ("patchcore", "padim")


class PretrainedBaseline(CalibratedBaseline):
    """PatchCore (coreset memory bank + nearest-neighbour distance) or PaDiM (per-position
    Gaussian + Mahalanobis distance) on ImageNet MobileNetV2 feature maps of frames.

    Maps are the feature-grid distances upsampled bilinearly to the frame ``(H, W)`` and
    smoothed (sigma 4 px). Scores follow anomalib: PatchCore's is the largest patch distance
    (before upsampling), PaDiM's the maximum of its frame map.

    Args:
        name: One of :data:`PRETRAINED_BASELINES`.
        config: The detector config whose ``features`` (frames, backbone) and threshold the
            baseline uses.
        coreset_ratio: PatchCore: share of training patches kept in the memory bank.
        batch_size: Frames encoded and scored at once.
    """

    def __init__(
        self,
        name: str,
        config: DetectorConfig,
        *,
        coreset_ratio: float = CORESET_RATIO,
        batch_size: int = 32,
    ) -> None:
        if name not in PRETRAINED_BASELINES:
            raise ConfigError(f"model={name!r}: not one of {', '.join(PRETRAINED_BASELINES)}")
        if config.features.kind != "frame":
            raise ConfigError(
                f"model={name} works on images (features.kind=frame), not "
                f"features.kind={config.features.kind}; use a camera dataset (preset=camera) or "
                "model=isolation_forest|pca|dense_ae for signals and tables"
            )
        if not 0 < coreset_ratio <= 1:
            raise ConfigError(f"coreset_ratio={coreset_ratio} must be in (0, 1], e.g. 0.1")
        self.name = name
        self.config = config
        self.coreset_ratio = coreset_ratio
        self.batch_size = batch_size
        self.model_ = None
        self.alarm_rule_ = None  # the alarm rule, set by calibrate()
        self.sample_rate_: float | None = None
        self.frame_shape_: tuple[int, int, int] | None = None
        self._extractor: FeatureExtractor | None = None

    @property
    def input_channels(self) -> int | None:
        """Channels of the frames (``None`` before fitting)."""
        return None if self.frame_shape_ is None else self.frame_shape_[0]

    def extractor(self) -> FeatureExtractor:
        """The frozen backbone (built and its weights loaded on first use)."""
        if self._extractor is None:
            features = self.config.features
            if features.backbone == "none":
                features = replace(features, backbone="mobilenet_v2")
            self._extractor = extractor_for(features)
            # auto resolved once: fit and score run the same arithmetic
            self.config = replace(
                self.config,
                features=replace(
                    self.config.features, backbone_precision=self._extractor.precision
                ),
            )
        return self._extractor

    def _frames(self, windows: Sequence[Window]) -> list[np.ndarray]:
        if not windows:
            return []
        shapes = {w.features.shape for w in windows}
        expected = {self.frame_shape_} if self.frame_shape_ is not None else shapes
        if len(shapes) > 1 or shapes != expected or len(next(iter(shapes))) != 3:
            raise DataError(
                f"model={self.name} needs frames (C, H, W) of one shape"
                f"{'' if self.frame_shape_ is None else f' {self.frame_shape_}'}, got "
                f"{sorted(shapes)[:3]}; keep features.image_size as in training"
            )
        return [np.asarray(w.features, dtype=np.float32) for w in windows]

    def _encode(self, windows: Sequence[Window]) -> np.ndarray:
        return self.extractor().encode(self._frames(windows), batch_size=self.batch_size)

    def fit(self, windows: Sequence[Window], *, seed: int = 0) -> PretrainedBaseline:
        """Encode the normal training frames and fit the memory bank / the Gaussians."""
        if not windows:
            raise DataError("no training windows: every training file failed or none was given")
        self._frames(windows)  # one shape, before it becomes the expected one
        self.frame_shape_ = tuple(windows[0].features.shape)
        self.sample_rate_ = windows[0].sample_rate
        start = time.perf_counter()
        feature_maps = self._encode(windows)
        if self.name == "patchcore":
            self.model_ = fit_memory_bank(feature_maps, coreset_ratio=self.coreset_ratio, seed=seed)
            size = f"memory bank of {len(self.model_)} patches"
        else:
            self.model_ = fit_gaussians(feature_maps)
            size = f"{len(self.model_.mean)} Gaussians"
        logger.info(
            "%s: %s from %d frames in %.1f s",
            self.name,
            size,
            len(windows),
            time.perf_counter() - start,
        )
        return self

    def score(self, windows: Sequence[Window], *, seed: int = 0) -> ScoreResult:
        """Scores ``(N,)`` and frame-resolution maps ``(H, W)`` of frames (``seed`` unused:
        scoring is deterministic)."""
        if self.model_ is None:
            raise NotFittedError(f"{self.name} baseline is not fitted; call fit() first")
        self._frames(windows)
        size = self.frame_shape_[1:]
        scores, maps = [], []
        for start in range(0, len(windows), self.batch_size):
            feature_maps = self._encode(windows[start : start + self.batch_size])
            if self.name == "patchcore":
                grid = patch_distance_maps(feature_maps, self.model_)
                batch_maps = frame_maps(grid, size)
                scores.extend(grid.reshape(len(grid), -1).max(axis=1))
            else:
                batch_maps = frame_maps(mahalanobis_maps(feature_maps, self.model_), size)
                scores.extend(m.max() for m in batch_maps)
            maps.extend(batch_maps)
        return self._result(scores, maps, windows)
