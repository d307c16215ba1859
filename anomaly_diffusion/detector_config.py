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
from anomaly_diffusion.diffusion.unet import UNetConfig
from anomaly_diffusion.errors import ConfigError


@dataclass(frozen=True)
class DetectorConfig:
    """Everything a detector needs, saved with it."""

    modality: str = "camera"
    source: SourceConfig = field(default_factory=SourceConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    network: UNetConfig = field(default_factory=UNetConfig)
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
