"""Typed configuration: frozen dataclasses that every component takes (never a DictConfig).

The CLI composes the Hydra tree in ``configs/`` and turns it into these with :func:`from_dict`;
library users build them directly. Each dataclass validates itself and raises
:class:`~anomaly_diffusion.errors.ConfigError` naming the dotted field, the bad value and the fix.

This module holds the source, feature, data, scheduler, training and tracking configs; it
re-exports the scoring-side configs (:mod:`anomaly_diffusion.scoring_config`) and the dict
helpers (:mod:`anomaly_diffusion.config_dicts`), so every config imports from here.
"""

from __future__ import annotations

from dataclasses import dataclass

from anomaly_diffusion.config_dicts import _check, flatten, from_dict, to_dict
from anomaly_diffusion.scoring_config import (
    AGGREGATIONS,
    MAP_NORMALIZATIONS,
    MAP_TYPES,
    PRECISIONS,
    ScoringConfig,
    ThresholdConfig,
    TuneConfig,
)

__all__ = [
    "AGGREGATIONS",
    "BACKBONES",
    "FEATURE_KINDS",
    "MAP_NORMALIZATIONS",
    "MAP_TYPES",
    "MODALITIES",
    "PRECISIONS",
    "DataConfig",
    "FeatureConfig",
    "SchedulerConfig",
    "ScoringConfig",
    "SourceConfig",
    "ThresholdConfig",
    "TrackingConfig",
    "TrainingConfig",
    "TuneConfig",
    "_check",
    "flatten",
    "from_dict",
    "to_dict",
]

MODALITIES = ("vibration", "acoustic", "camera", "process")
BACKBONES = ("none", "mobilenet_v2")
WHITENINGS = ("position", "none")
SENSOR_WHITENINGS = ("zca", "none")
FEATURE_KINDS = ("stft", "log_mel", "frame", "sensor_window")


@dataclass(frozen=True)
class SourceConfig:
    """How files are read.

    Attributes:
        sample_rate: Sample rate in Hz for files that do not carry one (npy/npz/mat/csv);
            ``None`` means the file must carry it.
        resample: Resample signals whose rate differs from the model's instead of failing.
        channel: Channel to read: npz/mat key (e.g. ``DE``; for MATLAB files also a token of
            the variable name, ``DE`` -> ``X097_DE_time``), or an audio channel index
            (``"0"``, ``"1"``) or name (``"left"``/``"right"`` for 2-channel files);
            ``None``: the first key / audio as ``mono`` says.
        mono: Audio with ``channel`` unset: mix all channels down to one (else keep all).
        grayscale: Read images and video frames as one gray channel (else RGB).
        timestamp_column: Process tables: name of the timestamp column (``None``: auto).
        label_column: Process tables: optional 0/1 per-row label column.
        columns: Process tables: the sensor columns to model, in this order (``None``: every
            column but the time and label columns). Training pins it to the sensors it saw, so
            the saved model reads those and a table missing one is an error naming it.
        exclude_columns: Process tables: columns that are not sensors (a second label, a batch
            id, a status code); never read.
        video_fps: Videos: sample frames at this rate (frames/s; the frame nearest each
            multiple of ``1/video_fps`` is kept); ``None``: every frame at the file's rate.
        table_rate: Process tables: resample every sensor to this fixed rate (Hz) by linear
            interpolation on the time axis; ``None``: keep the rows as they are (the rate is
            the median rate of the timestamps).
        max_gap_s: Process tables: longest gap (s) that is linearly interpolated, a gap being
            a time step longer than 1.5x the median step or a run of blank cells; longer gaps
            split the recording into ``Recording.segments``. ``None``: 5x the median step.
        baseline_s: Process tables: centre every sensor of a file on its mean over the file's
            first ``baseline_s`` seconds (a stretch the user knows to be normal: each run's
            start-up after maintenance), so that runs whose normal levels differ are compared
            as departures from their own baseline; training, calibration and scoring alike
            (:mod:`anomaly_diffusion.data.baseline`). ``None``: no per-file centring.
    """

    sample_rate: int | None = None
    resample: bool = False
    channel: str | None = None
    mono: bool = True
    grayscale: bool = True
    timestamp_column: str | None = None
    label_column: str | None = None
    columns: tuple[str, ...] | None = None
    exclude_columns: tuple[str, ...] = ()
    video_fps: float | None = None
    table_rate: float | None = None
    max_gap_s: float | None = None
    baseline_s: float | None = None

    def __post_init__(self) -> None:
        if self.columns is not None:
            _check(
                len(self.columns) >= 1 and len(set(self.columns)) == len(self.columns),
                f"source.columns={list(self.columns)} must name one or more distinct sensor "
                "columns, or be null (all of them)",
            )
            both = sorted(set(self.columns) & set(self.exclude_columns))
            _check(
                not both,
                f"source.columns and source.exclude_columns both name {both}; keep each "
                "column in one of them",
            )
        for name in ("video_fps", "table_rate", "max_gap_s", "baseline_s"):
            value = getattr(self, name)
            _check(
                value is None or value > 0,
                f"source.{name}={value} must be > 0 or null",
            )


@dataclass(frozen=True)
class FeatureConfig:
    """How a recording becomes model input arrays.

    Attributes:
        kind: ``stft`` (linear-frequency log power, vibration), ``log_mel`` (acoustic),
            ``frame`` (images), ``sensor_window`` (process tables: sensors x time).
        window_seconds: Cut signals into windows of this length (s); ``None``: one item per
            file or manifest segment.
        hop_seconds: Hop between windows (s); defaults to ``window_seconds`` (no overlap).
        n_fft: FFT length (samples) for ``stft``/``log_mel``.
        hop_length: STFT hop (samples), or time-step (rows) stride for ``sensor_window``.
        n_mels: Mel bands for ``log_mel``.
        max_freq_hz: Highest frequency kept (Hz); ``None``: Nyquist.
        image_size: ``[height, width]`` frames are resized to (pixels).
        backbone: ``none`` (the model sees the frame's pixels) or ``mobilenet_v2`` (the model
            sees ImageNet MobileNetV2 feature maps of the frame, see
            :mod:`anomaly_diffusion.features.backbone`); frames only.
        backbone_layers: MobileNetV2 blocks whose outputs are concatenated (``features.<i>``).
        backbone_pool: Side of the average-pooling window over each layer's map (odd).
        backbone_weights: Weight file (safetensors or a weights-only torch checkpoint);
            ``None``: torchvision's file in ``$TORCH_HOME``, else the one ``make weights``
            stores.
        backbone_whitening: ``position``: whiten every position of the feature maps with its
            own mean and covariance (+ 0.01 I) before the diffusion model sees them
            (:mod:`anomaly_diffusion.features.whitening`); ``none``: per-channel
            standardization only.
        sensor_whitening: ``zca``: whiten every row's sensor vector of a process window with
            the training rows' covariance (+ 0.01 I) after the per-sensor standardization
            (:mod:`anomaly_diffusion.features.sensor_whitening`); ``none``: per-sensor
            standardization only. Process tables (``kind=sensor_window``) only.
        backbone_precision: Arithmetic of the backbone, a property of the fitted model:
            ``float32``, ``bfloat16`` (a bfloat16 copy of the network: ~1.4x faster on CPUs
            with native bfloat16) or ``auto`` (bfloat16 where native), resolved when the model
            is fitted and saved with it, so that it scores the features it was trained on
            (bfloat16 features differ from float32 ones by ~15 %: not interchangeable).
    """

    kind: str = "frame"
    window_seconds: float | None = None
    hop_seconds: float | None = None
    n_fft: int = 1024
    hop_length: int = 512
    n_mels: int = 64
    max_freq_hz: float | None = None
    image_size: tuple[int, int] = (64, 64)
    backbone: str = "none"
    backbone_layers: tuple[int, ...] = (6, 13)
    backbone_pool: int = 3
    backbone_weights: str | None = None
    backbone_whitening: str = "position"
    backbone_precision: str = "float32"  # models saved before the field ran float32
    sensor_whitening: str = "none"  # models saved before the field: none

    def __post_init__(self) -> None:
        _check(
            self.backbone_precision in PRECISIONS,
            f"features.backbone_precision={self.backbone_precision!r} is unknown; use one of "
            f"{PRECISIONS}",
        )
        _check(
            self.backbone_whitening in WHITENINGS,
            f"features.backbone_whitening={self.backbone_whitening!r} is unknown; use one of "
            f"{WHITENINGS}",
        )
        _check(
            self.sensor_whitening in SENSOR_WHITENINGS,
            f"features.sensor_whitening={self.sensor_whitening!r} is unknown; use one of "
            f"{SENSOR_WHITENINGS}",
        )
        _check(
            self.sensor_whitening == "none" or self.kind == "sensor_window",
            f"features.sensor_whitening={self.sensor_whitening} works on process tables "
            f"(features.kind=sensor_window), not features.kind={self.kind}; set "
            "features.sensor_whitening=none",
        )
        _check(
            self.backbone in BACKBONES,
            f"features.backbone={self.backbone!r} is unknown; use one of {BACKBONES}",
        )
        _check(
            self.backbone == "none" or self.kind == "frame",
            f"features.backbone={self.backbone} works on images (features.kind=frame), not "
            f"features.kind={self.kind}; set features.backbone=none",
        )
        _check(
            self.backbone_pool >= 1 and self.backbone_pool % 2 == 1,
            f"features.backbone_pool={self.backbone_pool} must be an odd number >= 1",
        )
        _check(
            len(self.backbone_layers) >= 1
            and list(self.backbone_layers) == sorted(set(self.backbone_layers))
            and self.backbone_layers[0] >= 0
            and self.backbone_layers[-1] <= 18,
            f"features.backbone_layers={list(self.backbone_layers)} must be ascending block "
            "indices in 0..18, e.g. [6, 13]",
        )
        _check(
            self.kind in FEATURE_KINDS,
            f"features.kind={self.kind!r} is unknown; use one of {FEATURE_KINDS}",
        )
        _check(
            self.window_seconds is None or self.window_seconds > 0,
            f"features.window_seconds={self.window_seconds} must be > 0 or null",
        )
        _check(
            self.hop_seconds is None or self.hop_seconds > 0,
            f"features.hop_seconds={self.hop_seconds} must be > 0 or null",
        )
        _check(self.n_fft >= 16, f"features.n_fft={self.n_fft} must be >= 16")
        _check(self.hop_length >= 1, f"features.hop_length={self.hop_length} must be >= 1")
        _check(self.n_mels >= 4, f"features.n_mels={self.n_mels} must be >= 4")
        _check(
            len(self.image_size) == 2 and min(self.image_size) >= 8,
            f"features.image_size={list(self.image_size)} must be [height, width], each >= 8",
        )


@dataclass(frozen=True)
class DataConfig:
    """Where the data is: a folder in the dataset layout or a manifest (CSV/Parquet).

    Attributes:
        root: Dataset folder with ``train/good``, ``test/<kind>``, optional ``ground_truth``.
        manifest: Manifest file with ``path, split, label, defect, start_s, end_s, asset``.
        val_fraction: Fraction of normal training files held out to calibrate the threshold.
        conditions: Operating conditions the model is conditioned on (see
            :mod:`anomaly_diffusion.data.conditions`); empty: unconditional.
        condition_table: Side table of condition values keyed by file name.
        cache_dir: Feature cache folder (windows of each file, keyed by file identity and
            feature settings; see :mod:`anomaly_diffusion.data.cache`); ``None``: no cache.
    """

    root: str | None = None
    manifest: str | None = None
    val_fraction: float = 0.2
    conditions: tuple[str, ...] = ()
    condition_table: str | None = None
    cache_dir: str | None = None

    def __post_init__(self) -> None:
        _check(
            0.0 < self.val_fraction < 0.9,
            f"data.val_fraction={self.val_fraction} must be in (0, 0.9)",
        )


@dataclass(frozen=True)
class SchedulerConfig:
    """Noise schedule (see :mod:`anomaly_diffusion.diffusion.schedules`)."""

    num_train_timesteps: int = 1000
    beta_schedule: str = "linear"
    beta_start: float = 1e-4
    beta_end: float = 0.02
    prediction_type: str = "epsilon"
    noise: str = "gaussian"

    def __post_init__(self) -> None:
        _check(
            self.noise in ("gaussian", "simplex"),
            f"scheduler.noise={self.noise!r}; use 'gaussian' or 'simplex' (multi-octave, AnoDDPM)",
        )
        _check(
            self.num_train_timesteps >= 10,
            f"scheduler.num_train_timesteps={self.num_train_timesteps} must be >= 10",
        )
        _check(
            self.beta_schedule in ("linear", "cosine"),
            f"scheduler.beta_schedule={self.beta_schedule!r}; use 'linear' or 'cosine'",
        )
        _check(
            0 < self.beta_start < self.beta_end < 1,
            "scheduler.beta_start/beta_end must satisfy 0 < beta_start < beta_end < 1",
        )
        _check(
            self.prediction_type in ("epsilon", "v_prediction"),
            f"scheduler.prediction_type={self.prediction_type!r}; use 'epsilon' or 'v_prediction'",
        )


OBJECTIVES = ("denoise", "inpaint")


@dataclass(frozen=True)
class TrainingConfig:
    """Plain PyTorch training loop settings.

    Attributes:
        max_steps: Optimizer steps (the loop also stops at ``max_minutes``).
        max_minutes: Wall-clock budget in minutes.
        crop: ``[F or H, T or W]`` random crop used for training batches (``None``: whole items,
            which must then share one shape).
        checkpoint_every: Save a resumable checkpoint every N steps (0: never).
        condition_dropout: Probability that an item's operating conditions are dropped (set to
            unknown) in a training batch, which trains the unconditional fallback.
        precision: ``float32``, ``bfloat16`` (autocast forward passes: about 2x more steps per
            minute on CPUs with native bfloat16; master weights, optimizer and EMA stay float32)
            or ``auto`` (bfloat16 where native, else float32).
        objective: ``denoise`` (the DDPM loss on whole items; scoring re-projects) or
            ``inpaint`` (process tables: the model fills masked sensor groups and time blocks
            from the rest, and scoring masks each part in turn, see
            :mod:`anomaly_diffusion.diffusion.inpainting`).
    """

    max_steps: int = 2000
    max_minutes: float = 10.0
    batch_size: int = 16
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 50
    ema_decay: float = 0.995
    grad_clip: float = 1.0
    crop: tuple[int, int] | None = None
    log_every: int = 10
    checkpoint_every: int = 200
    condition_dropout: float = 0.1
    precision: str = "float32"
    objective: str = "denoise"

    def __post_init__(self) -> None:
        _check(
            self.precision in PRECISIONS,
            f"training.precision={self.precision!r}; use one of {PRECISIONS}",
        )
        _check(
            self.objective in OBJECTIVES,
            f"training.objective={self.objective!r}; use one of {OBJECTIVES}",
        )
        _check(
            0 <= self.condition_dropout < 1,
            f"training.condition_dropout={self.condition_dropout} must be in [0, 1)",
        )
        _check(self.max_steps >= 1, f"training.max_steps={self.max_steps} must be >= 1")
        _check(self.max_minutes > 0, f"training.max_minutes={self.max_minutes} must be > 0")
        _check(self.batch_size >= 1, f"training.batch_size={self.batch_size} must be >= 1")
        _check(self.learning_rate > 0, f"training.learning_rate={self.learning_rate} must be > 0")
        _check(0 <= self.ema_decay < 1, f"training.ema_decay={self.ema_decay} must be in [0, 1)")
        _check(
            self.checkpoint_every >= 0,
            f"training.checkpoint_every={self.checkpoint_every} must be >= 0 (0 disables)",
        )


@dataclass(frozen=True)
class TrackingConfig:
    """MLflow tracking: ``uri`` defaults to ``$MLFLOW_TRACKING_URI`` or ``sqlite:///mlflow.db``."""

    enabled: bool = True
    uri: str | None = None
    experiment: str = "anomaly_diffusion"
    registered_model_name: str | None = None
