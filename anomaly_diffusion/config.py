"""Typed configuration: frozen dataclasses that every component takes (never a DictConfig).

The CLI composes the Hydra tree in ``configs/`` and turns it into these with :func:`from_dict`;
library users build them directly. Each dataclass validates itself and raises
:class:`~anomaly_diffusion.errors.ConfigError` naming the dotted field, the bad value and the fix.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from typing import Any

from anomaly_diffusion.errors import ConfigError

MODALITIES = ("vibration", "acoustic", "camera", "process")
FEATURE_KINDS = ("stft", "log_mel", "frame", "sensor_window")
AGGREGATIONS = ("mean", "max", "topk")
MAP_NORMALIZATIONS = ("none", "row", "pixel")
MAP_TYPES = ("residual", "feature", "combined")
PRECISIONS = ("float32", "bfloat16")


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


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
        video_fps: Videos: sample frames at this rate (frames/s; the frame nearest each
            multiple of ``1/video_fps`` is kept); ``None``: every frame at the file's rate.
        table_rate: Process tables: resample every sensor to this fixed rate (Hz) by linear
            interpolation on the time axis; ``None``: keep the rows as they are (the rate is
            the median rate of the timestamps).
        max_gap_s: Process tables: longest gap (s) that is linearly interpolated, a gap being
            a time step longer than 1.5x the median step or a run of blank cells; longer gaps
            split the recording into ``Recording.segments``. ``None``: 5x the median step.
    """

    sample_rate: int | None = None
    resample: bool = False
    channel: str | None = None
    mono: bool = True
    grayscale: bool = True
    timestamp_column: str | None = None
    label_column: str | None = None
    video_fps: float | None = None
    table_rate: float | None = None
    max_gap_s: float | None = None

    def __post_init__(self) -> None:
        for name in ("video_fps", "table_rate", "max_gap_s"):
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
    """

    kind: str = "frame"
    window_seconds: float | None = None
    hop_seconds: float | None = None
    n_fft: int = 1024
    hop_length: int = 512
    n_mels: int = 64
    max_freq_hz: float | None = None
    image_size: tuple[int, int] = (64, 64)

    def __post_init__(self) -> None:
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

    def __post_init__(self) -> None:
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
class ScoringConfig:
    """Partial re-projection settings (see :mod:`anomaly_diffusion.scoring.reconstruct`).

    Attributes:
        t_start: Noise level (timestep, 1..num_train_timesteps-1) the sample is pushed to.
        n_steps: DDIM steps back to ``t = 0`` (1 = one-step x0 prediction).
        n_repeats: Independent noise draws averaged per item.
        smoothing_sigma: Gaussian smoothing of the map (pixels/bins); 0 disables.
        aggregation: Map -> score: ``mean``, ``max`` or ``topk`` (mean of the top fraction).
        topk_fraction: Fraction of map cells averaged by ``topk``.
        batch_size: Items per forward pass when scoring.
        map_normalization: z-score each map against normal maps before smoothing: ``row`` (per
            frequency bin / sensor), ``pixel`` (per cell; per row when shapes vary), ``none``.
        map_type: ``residual`` (squared re-projection error), ``feature`` (1 - cosine similarity
            of the denoiser's own multi-scale encoder features of input and reconstruction), or
            ``combined`` (both, each normalized against normal maps, then averaged).
        guidance: Input-conditioned denoising weight (DDAD, Mousakhan et al. 2023): each DDIM
            step is pulled toward the noised input; 0 = plain DDIM (no effect when n_steps=1).
        tile: ``[h, w]`` tiles for large frames/spectrograms (half-overlapping, maps averaged
            where tiles overlap); ``None`` scores whole items.
        precision: Arithmetic of the network while scoring: ``float32``, or ``bfloat16``
            (autocast; about 2x faster on CPUs with native bfloat16, e.g. AVX512-BF16 or AMX;
            maps within about 1 % of float32; slower on CPUs without it). Training always
            runs in float32.
    """

    t_start: int = 100
    n_steps: int = 1
    n_repeats: int = 4
    smoothing_sigma: float = 1.0
    aggregation: str = "topk"
    topk_fraction: float = 0.01
    batch_size: int = 16
    map_normalization: str = "none"
    map_type: str = "residual"
    guidance: float = 0.0
    tile: tuple[int, int] | None = None
    precision: str = "float32"

    def __post_init__(self) -> None:
        _check(
            self.precision in PRECISIONS,
            f"scoring.precision={self.precision!r}; use one of {PRECISIONS}",
        )
        _check(
            self.map_type in MAP_TYPES,
            f"scoring.map_type={self.map_type!r}; use one of {MAP_TYPES}",
        )
        _check(self.guidance >= 0, f"scoring.guidance={self.guidance} must be >= 0")
        _check(
            self.tile is None or (len(self.tile) == 2 and min(self.tile) >= 8),
            f"scoring.tile={self.tile}: give [rows, columns], each >= 8, or null",
        )
        _check(
            self.t_start >= 1,
            f"scoring.t_start={self.t_start} must be >= 1 (a timestep in "
            "1..num_train_timesteps-1; ~100 for images, 250-400 for spectrograms)",
        )
        _check(
            1 <= self.n_steps <= self.t_start,
            f"scoring.n_steps={self.n_steps} must be in [1, scoring.t_start={self.t_start}]",
        )
        _check(self.n_repeats >= 1, f"scoring.n_repeats={self.n_repeats} must be >= 1")
        _check(
            self.smoothing_sigma >= 0,
            f"scoring.smoothing_sigma={self.smoothing_sigma} must be >= 0",
        )
        _check(
            self.aggregation in AGGREGATIONS,
            f"scoring.aggregation={self.aggregation!r}; use one of {AGGREGATIONS}",
        )
        _check(
            self.map_normalization in MAP_NORMALIZATIONS,
            f"scoring.map_normalization={self.map_normalization!r}; "
            f"use one of {MAP_NORMALIZATIONS}",
        )
        _check(
            0 < self.topk_fraction <= 1,
            f"scoring.topk_fraction={self.topk_fraction} must be in (0, 1]",
        )


@dataclass(frozen=True)
class TuneConfig:
    """Label-free choice of the scoring settings (:mod:`anomaly_diffusion.scoring.chooser`).

    Attributes:
        enabled: Run the chooser after training (``train tune.enabled=true``).
        t_starts: Noise levels tried (single-step x0 prediction each).
        map_types, normalizations, smoothing_sigmas, aggregations: The grid searched.
        per_kind: Synthetic anomalies per kind; strength: their amplitude (feature std units).
        n_repeats: Noise draws while searching (``None``: the scoring config's).
    """

    enabled: bool = False
    t_starts: tuple[int, ...] = (50, 100, 250, 400)
    map_types: tuple[str, ...] = MAP_TYPES
    normalizations: tuple[str, ...] = ("none", "pixel")
    smoothing_sigmas: tuple[float, ...] = (1.0, 2.0)
    aggregations: tuple[str, ...] = AGGREGATIONS
    per_kind: int = 8
    strength: float = 3.0
    n_repeats: int | None = None

    def __post_init__(self) -> None:
        for name, values, allowed in (
            ("map_types", self.map_types, MAP_TYPES),
            ("normalizations", self.normalizations, MAP_NORMALIZATIONS),
            ("aggregations", self.aggregations, AGGREGATIONS),
        ):
            bad = [v for v in values if v not in allowed]
            _check(not bad and values, f"tune.{name}={list(values)}: use values from {allowed}")
        _check(
            bool(self.t_starts) and min(self.t_starts) >= 1,
            f"tune.t_starts={list(self.t_starts)} must be timesteps >= 1",
        )
        _check(self.per_kind >= 2, f"tune.per_kind={self.per_kind} must be >= 2")
        _check(self.strength > 0, f"tune.strength={self.strength} must be > 0")


@dataclass(frozen=True)
class ThresholdConfig:
    """Alarm threshold, fit on held-out data.

    Attributes:
        false_alarm_rate: Target false-alarm rate: the threshold is this upper quantile of the
            held-out normal scores.
        per: ``asset`` or an operating-condition name (e.g. ``speed``): a threshold per group,
            each from that group's held-out normal scores (groups with fewer than
            ``min_group_windows`` normal windows, and unseen groups, use the global one).
        min_group_windows: Held-out normal windows a group needs for its own threshold.
        method: ``false_alarm`` (default, normal data only) or ``f1``: the F1-optimal threshold
            on a labelled validation set (manifest rows with ``split=val``); without anomalies
            there it falls back to ``false_alarm`` (it never collapses to the lowest score).
    """

    false_alarm_rate: float = 0.01
    per: str | None = None
    min_group_windows: int = 20
    method: str = "false_alarm"

    def __post_init__(self) -> None:
        _check(
            0 < self.false_alarm_rate < 1,
            f"threshold.false_alarm_rate={self.false_alarm_rate} must be in (0, 1), e.g. 0.01",
        )
        _check(
            self.method in ("false_alarm", "f1"),
            f"threshold.method={self.method!r} must be false_alarm or f1",
        )
        _check(
            self.min_group_windows >= 1,
            f"threshold.min_group_windows={self.min_group_windows} must be >= 1",
        )


@dataclass(frozen=True)
class TrackingConfig:
    """MLflow tracking: ``uri`` defaults to ``$MLFLOW_TRACKING_URI`` or ``sqlite:///mlflow.db``."""

    enabled: bool = True
    uri: str | None = None
    experiment: str = "anomaly_diffusion"
    registered_model_name: str | None = None


def from_dict(cls: type, values: dict[str, Any] | None, prefix: str = "") -> Any:
    """Build dataclass ``cls`` from a plain dict, recursing into nested dataclasses.

    Raises:
        ConfigError: for an unknown key (naming its dotted path) or a badly typed value.
    """
    values = dict(values or {})
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    _check(
        not unknown,
        f"unknown config key(s) {[prefix + k for k in unknown]}; "
        f"valid keys under '{prefix or 'top level'}' are {sorted(names)}",
    )
    kwargs = {name: _coerce(hints[name], value, prefix + name) for name, value in values.items()}
    return cls(**kwargs)


def _coerce(hint: Any, value: Any, path: str) -> Any:
    if value is None:
        return None  # the dataclass's own validation says whether null is allowed
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return _coerce(args[0], value, path)
    if dataclasses.is_dataclass(hint):
        _check(isinstance(value, dict), f"{path} must be a mapping, got {value!r}")
        return from_dict(hint, value, prefix=path + ".")
    if origin is tuple:
        _check(isinstance(value, (list, tuple)), f"{path}={value!r} must be a list")
        inner = typing.get_args(hint)[0]
        return tuple(_coerce(inner, v, path) for v in value)
    if hint is bool:
        _check(isinstance(value, bool), f"{path}={value!r} must be true or false")
        return value
    if hint in (int, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        _check(ok, f"{path}={value!r} must be a number")
        _check(hint is float or float(value).is_integer(), f"{path}={value!r} must be an integer")
        return hint(value)
    if hint is str:
        return str(value)
    return value


def to_dict(config: Any) -> dict[str, Any]:
    """Plain nested dict of a config dataclass (tuples become lists)."""
    return _plain(dataclasses.asdict(config))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten a nested dict to dotted keys: ``{"a": {"b": 1}} -> {"a.b": 1}``."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update(flatten(value, prefix + key + "."))
        else:
            flat[prefix + key] = value
    return flat
