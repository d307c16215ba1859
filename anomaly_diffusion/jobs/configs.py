"""Typed job configurations (what the CLI builds from the composed Hydra tree)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from anomaly_diffusion.config import (
    DataConfig,
    ScoringConfig,
    TrackingConfig,
    TuneConfig,
    _check,
)
from anomaly_diffusion.detector import DetectorConfig


@dataclass(frozen=True)
class TrainJobConfig:
    """``anomaly-diffusion train``: fit, calibrate, evaluate, save, log."""

    detector: DetectorConfig = field(default_factory=DetectorConfig)
    data: DataConfig = field(default_factory=DataConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    tune: TuneConfig = field(default_factory=TuneConfig)
    run_dir: str = "outputs/train"
    seed: int = 0
    max_maps: int = 8
    resume: bool = False
    model: str = "diffusion"

    def __post_init__(self) -> None:
        from anomaly_diffusion.baselines.detector import BASELINES

        _check(
            self.model in ("diffusion", *BASELINES),
            f"model={self.model!r} must be diffusion or one of {', '.join(BASELINES)} "
            "(baselines on the same data and splits, for comparison; patchcore and padim "
            "work on images)",
        )


@dataclass(frozen=True)
class ScoringOverrides:
    """Scoring settings given on the command line; ``None`` keeps the saved model's value."""

    t_start: int | None = None
    n_steps: int | None = None
    n_repeats: int | None = None
    smoothing_sigma: float | None = None
    aggregation: str | None = None
    topk_fraction: float | None = None
    batch_size: int | None = None
    map_normalization: str | None = None
    map_type: str | None = None
    guidance: float | None = None
    tile: tuple[int, int] | None = None
    precision: str | None = None
    mask_groups: int | None = None
    mask_kinds: tuple[str, ...] | None = None

    def apply(self, base: ScoringConfig) -> ScoringConfig:
        """``base`` with the given fields replaced (validated again)."""
        from dataclasses import asdict, replace

        return replace(base, **{k: v for k, v in asdict(self).items() if v is not None})


@dataclass(frozen=True)
class EvaluateJobConfig:
    """``anomaly-diffusion evaluate``: metrics of a saved model on a labelled dataset.

    Attributes:
        normal: Normal data (file, folder, glob or manifest) to recalibrate on when
            ``scoring.*`` overrides change calibrated settings; ``None``: the held-out normals
            saved with the model (see :mod:`anomaly_diffusion.jobs.recalibrate`).
    """

    model: str = ""
    data: DataConfig = field(default_factory=DataConfig)
    scoring: ScoringOverrides = field(default_factory=ScoringOverrides)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    normal: str | None = None
    run_dir: str = "outputs/evaluate"
    seed: int = 0

    def __post_init__(self) -> None:
        _check(
            bool(self.model), "model= is required: a run_dir/model folder or an MLflow model URI"
        )


@dataclass(frozen=True)
class RecalibrateJobConfig:
    """``anomaly-diffusion recalibrate``: a saved model with other scoring settings and its
    calibration fit again (see :mod:`anomaly_diffusion.jobs.recalibrate`).

    Attributes:
        normal: Normal data to calibrate on; ``None``: the held-out normals saved with the model.
        output: Folder for the recalibrated model (score with ``model=<output>``).
        registered_model_name: Register the logged model as a new version of this name
            (aliases are not moved: ``promote`` it); ``None``: log it without registering.
    """

    model: str = ""
    normal: str | None = None
    output: str = "outputs/recalibrated/model"
    registered_model_name: str | None = None
    scoring: ScoringOverrides = field(default_factory=ScoringOverrides)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    seed: int = 0

    def __post_init__(self) -> None:
        _check(
            bool(self.model), "model= is required: a run_dir/model folder or an MLflow model URI"
        )


@dataclass(frozen=True)
class ScoreJobConfig:
    """``anomaly-diffusion score``: batch scoring to the score-output contract.

    Attributes:
        maps: Which windows get a map PNG: ``anomalous``, ``all`` or ``none``.
        closest_calls: With ``maps=anomalous``, also map this many windows that stayed below
            their threshold, the nearest to it (``score - threshold``): the report's "closest
            calls" (0: none).
        maps_dir: Folder for PNGs (default: ``<output stem>_maps`` beside the output).
        asset: Asset name for every input (``None``: each file's parent folder / manifest).
        resample: Resample signals whose rate differs from the model's (``None``: as trained).
        sample_rate: Rate (Hz) of inputs that carry none (``.npy``, ``.npz``/``.mat`` without a
            rate key); ``None``: the model's ``source.sample_rate``.
        condition_table: Operating conditions per file name, for conditioned models.
        since: ``last``: only files modified after the newest file the last finished score run
            of the same ``input`` saw (kept in MLflow); or a date/time (``2026-11-24``,
            ``2026-11-24T06:00``): only files modified after it; ``None``: every file.
        long_hop_s: Hop (s) between the clip windows of a recording much longer than a clip
            model's training clips (``None``: the clip length; see
            :mod:`anomaly_diffusion.data.long_recordings`).
        merge: Add the rows to an existing ``output`` (a new score of the same window replaces
            the old row) instead of replacing the file; ``None``: merge when ``since`` is set
            (a nightly job run twice a day, or with nothing new, keeps the day's rows).
        engine: ``local`` (this process) or ``spark`` (the MLflow pyfunc as a Spark UDF, one
            row per window; ``output`` becomes a folder of Parquet partitioned by asset).
        spark_master: Spark master URL for ``engine=spark`` (``local[2]``, ``yarn``, ...);
            ``None``: the master ``spark-submit`` was given.
        onset_k: Consecutive alarming recordings (or windows of an asset's single recording)
            that make a persistent alarm: its first one is the asset's onset, written to
            ``<output stem>_assets.csv`` (see :mod:`anomaly_diffusion.trend.onset`).
    """

    model: str = ""
    input: str = ""
    since: str | None = None
    merge: bool | None = None
    long_hop_s: float | None = None
    engine: str = "local"
    spark_master: str | None = "local[2]"
    output: str = "outputs/scores.parquet"
    maps: str = "anomalous"
    closest_calls: int = 5
    maps_dir: str | None = None
    asset: str | None = None
    resample: bool | None = None
    sample_rate: int | None = None
    condition_table: str | None = None
    onset_k: int = 3
    scoring: ScoringOverrides = field(default_factory=ScoringOverrides)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    seed: int = 0

    @property
    def merges(self) -> bool:
        """Whether the rows go into an existing ``output`` (see ``merge``)."""
        if self.merge is None:
            return self.since is not None and self.engine == "local"
        return self.merge

    def __post_init__(self) -> None:
        _check(
            bool(self.model), "model= is required: a run_dir/model folder or an MLflow model URI"
        )
        _check(bool(self.input), "input= is required: a file, a folder, a glob or a manifest")
        _check(
            self.maps in ("anomalous", "all", "none"),
            f"maps={self.maps!r}; use 'anomalous', 'all' or 'none'",
        )
        _check(
            self.closest_calls >= 0,
            f"closest_calls={self.closest_calls} must be >= 0 (0: no below-threshold maps)",
        )
        _check(
            self.onset_k >= 1,
            f"onset_k={self.onset_k} must be >= 1 (consecutive alarms that make an onset)",
        )
        _check(
            self.output.endswith((".parquet", ".csv")),
            f"output={self.output}: use a .parquet (or .csv) file name",
        )
        _check(
            self.engine in ("local", "spark"),
            f"engine={self.engine!r}; use 'local' or 'spark'",
        )
        _check(
            self.long_hop_s is None or self.long_hop_s > 0,
            f"long_hop_s={self.long_hop_s} must be > 0 (s) or null (the clip length)",
        )
        _check(
            not (self.merge and self.engine == "spark"),
            "merge=true with engine=spark: Spark writes a new partitioned folder; use "
            "engine=local or another output=",
        )
        _check(
            self.engine == "local" or self.output.endswith(".parquet"),
            f"output={self.output}: engine=spark writes partitioned Parquet; name it *.parquet",
        )
        if self.since is not None and self.since != "last":
            try:
                datetime.fromisoformat(str(self.since))
            except ValueError:
                _check(False, f"since={self.since!r}: use 'last' or a date such as 2026-11-24")
        _check(
            self.since != "last" or self.tracking.enabled,
            "since=last keeps its watermark in MLflow: leave tracking enabled (tracking.uri=...)",
        )


@dataclass(frozen=True)
class ReportJobConfig:
    """``anomaly-diffusion report``: one self-contained HTML file from a score table.

    Attributes:
        top_n: Alarms listed with their maps, highest score first.
        closest_n: Items below their threshold listed, nearest to it first, alarms or not
            (their maps come from the score job's ``closest_calls``); 0: none.
        onset_k: Consecutive alarming recordings that make an asset's persistent alarm (the
            score job's ``onset_k``), for the report's trend per asset.
    """

    input: str = ""
    output: str = "outputs/report.html"
    title: str = "Anomaly report"
    top_n: int = 20
    closest_n: int = 5
    onset_k: int = 3
    tracking: TrackingConfig = field(default_factory=TrackingConfig)

    def __post_init__(self) -> None:
        _check(
            bool(self.input),
            "input= is required: the .parquet written by 'anomaly-diffusion score'",
        )
        _check(self.output.endswith(".html"), f"output={self.output}: use a .html file name")
        _check(self.top_n >= 1, f"top_n={self.top_n} must be >= 1")
        _check(self.closest_n >= 0, f"closest_n={self.closest_n} must be >= 0 (0: none)")
        _check(self.onset_k >= 1, f"onset_k={self.onset_k} must be >= 1")


@dataclass(frozen=True)
class PromoteJobConfig:
    """``anomaly-diffusion promote``: move a registry alias to a model version."""

    model: str = ""
    version: int = 0
    alias: str = "champion"
    tracking: TrackingConfig = field(default_factory=TrackingConfig)

    def __post_init__(self) -> None:
        _check(
            bool(self.model) and self.version > 0,
            "model=<registered name> and version=<N> are required, e.g. "
            "model=anomaly_diffusion_camera version=3 alias=champion",
        )
        _check(
            bool(self.alias) and str(self.alias).replace("_", "").isalnum(),
            f"alias={self.alias!r}: use letters, digits and '_' (e.g. champion)",
        )
