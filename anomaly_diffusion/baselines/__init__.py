"""Reference detectors (IsolationForest, PCA reconstruction) on the model's own features."""

from anomaly_diffusion.baselines.reference import isolation_forest_scores, pca_reconstruction

__all__ = ["isolation_forest_scores", "pca_reconstruction"]
