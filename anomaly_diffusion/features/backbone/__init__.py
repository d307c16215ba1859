"""Pretrained encoders: networks defined here, weights read from local files (never
downloaded at run time)."""

from anomaly_diffusion.features.backbone.extractor import (
    BACKBONES,
    FeatureExtractor,
    extractor_for,
)

__all__ = ["BACKBONES", "FeatureExtractor", "extractor_for"]
