"""Reference detectors (IsolationForest, PCA reconstruction, DCASE-style dense autoencoder) on
the model's own features; :class:`BaselineDetector` runs them from ``train model=<name>``."""

from anomaly_diffusion.baselines.dense_ae import dense_autoencoder
from anomaly_diffusion.baselines.reference import isolation_forest_scores, pca_reconstruction

__all__ = ["dense_autoencoder", "isolation_forest_scores", "pca_reconstruction"]
