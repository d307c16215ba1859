"""DetectorConfig: everything a :class:`~anomaly_diffusion.detector.DiffusionAnomalyDetector`
needs, saved with it (re-exported by :mod:`anomaly_diffusion.detector`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from anomaly_diffusion.config import (
    FeatureConfig,
    SchedulerConfig,
    ScoringConfig,
    SourceConfig,
    ThresholdConfig,
    TrainingConfig,
)
from anomaly_diffusion.diagnosis.windows import DiagnosisConfig
from anomaly_diffusion.diffusion.position_denoiser import DenoiserConfig
from anomaly_diffusion.diffusion.unet import UNetConfig
from anomaly_diffusion.errors import ConfigError


@dataclass(frozen=True)
class DetectorConfig:
    """Everything a detector needs, saved with it. ``network`` is the pixel-space UNet,
    ``denoiser`` the feature-space network used when ``features.backbone`` is set."""

    modality: str = "camera"
    source: SourceConfig = field(default_factory=SourceConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    network: UNetConfig = field(default_factory=UNetConfig)
    denoiser: DenoiserConfig = field(default_factory=DenoiserConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    threshold: ThresholdConfig = field(default_factory=ThresholdConfig)
    diagnosis: DiagnosisConfig = field(default_factory=DiagnosisConfig)

    def __post_init__(self) -> None:
        if self.scoring.t_start > self.scheduler.num_train_timesteps:
            raise ConfigError(
                f"scoring.t_start={self.scoring.t_start} exceeds "
                f"scheduler.num_train_timesteps={self.scheduler.num_train_timesteps}"
            )
        if self.training.objective == "inpaint":
            if self.features.backbone != "none":
                raise ConfigError(
                    f"training.objective=inpaint with features.backbone={self.features.backbone}:"
                    " inpainting needs the pixel UNet; set features.backbone=none or "
                    "training.objective=denoise"
                )
            if self.scoring.map_type != "residual":
                raise ConfigError(
                    f"scoring.map_type={self.scoring.map_type} with training.objective=inpaint: "
                    "an inpainting model's map is its filling error; use scoring.map_type="
                    "residual"
                )
        if self.features.backbone != "none":
            if self.scoring.map_type != "residual":
                raise ConfigError(
                    f"scoring.map_type={self.scoring.map_type} needs the pixel UNet's encoder; "
                    f"with features.backbone={self.features.backbone} use scoring.map_type="
                    "residual (the model already works in a pretrained feature space)"
                )
            if self.scoring.tile is not None:
                raise ConfigError(
                    f"scoring.tile={list(self.scoring.tile)} with features.backbone="
                    f"{self.features.backbone}: not supported; set scoring.tile=null and "
                    "features.image_size to the frame size to analyse"
                )
