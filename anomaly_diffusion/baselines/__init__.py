"""Reference detectors: IsolationForest, PCA reconstruction and a DCASE-style dense autoencoder
on the model's own features, PatchCore and PaDiM on pretrained MobileNetV2 feature maps of the
frames; :func:`~anomaly_diffusion.baselines.detector.make_baseline` runs them from
``train model=<name>``."""

from anomaly_diffusion.baselines.dense_ae import dense_autoencoder
from anomaly_diffusion.baselines.reference import isolation_forest_scores, pca_reconstruction

__all__ = ["dense_autoencoder", "isolation_forest_scores", "pca_reconstruction"]
