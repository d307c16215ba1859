"""Pretrained encoders: networks defined here, weights read from local files (never
downloaded at run time)."""

from anomaly_diffusion.features.backbone.extractor import (
    FeatureExtractor,
    extractor_for,
)

__all__ = ["FeatureExtractor", "extractor_for"]
