"""Scoring-side configs: re-projection/map settings, their label-free tuning grid, thresholds.

Frozen dataclasses :class:`ScoringConfig`, :class:`TuneConfig` and :class:`ThresholdConfig`
and the choices they validate against; re-exported by :mod:`anomaly_diffusion.config`.
"""

from __future__ import annotations

from dataclasses import dataclass

from anomaly_diffusion.config_dicts import _check
from anomaly_diffusion.precision import PRECISIONS

AGGREGATIONS = ("mean", "max", "topk", "row_max")
MAP_NORMALIZATIONS = ("none", "row", "pixel")
MAP_TYPES = ("residual", "feature", "combined")
MASK_KINDS = ("sensors", "time")


@dataclass(frozen=True)
class ScoringConfig:
    """Partial re-projection settings (see :mod:`anomaly_diffusion.scoring.reconstruct`).

    Attributes:
        t_start: Noise level (timestep, 1..num_train_timesteps-1) the sample is pushed to.
        n_steps: DDIM steps back to ``t = 0`` (1 = one-step x0 prediction).
        n_repeats: Independent noise draws averaged per item.
        smoothing_sigma: Gaussian smoothing of the map (pixels/bins, along time only for
            ``sensor_window`` maps: sensors are not neighbours); 0 disables.
        aggregation: Map -> score: ``mean``, ``max``, ``topk`` (mean of the top fraction) or
            ``row_max`` (the largest row mean: the sensor / frequency bin most off over the
            whole window).
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
        precision: Arithmetic of the denoiser while scoring: ``float32``, ``bfloat16`` (a
            bfloat16 copy of the network, weights and activations; about 2x faster than float32
            on CPUs with native bfloat16, e.g. AVX512-BF16 or AMX; maps within about 1 % of
            float32; slower on CPUs without it) or ``auto`` (bfloat16 where native, else
            float32). A pretrained backbone runs in ``features.backbone_precision``, fixed at
            fit time. See also ``training.precision``.
        mask_groups: Inpainting models (``training.objective=inpaint``): the parts each mask
            kind splits a window into; each part is masked in turn and filled from the rest.
        mask_kinds: Inpainting models: ``sensors`` (interleaved sensor groups) and/or ``time``
            (contiguous blocks of time steps). Network evaluations per item:
            ``n_repeats * n_steps * mask_groups * len(mask_kinds)``.
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
    mask_groups: int = 4
    mask_kinds: tuple[str, ...] = MASK_KINDS

    def __post_init__(self) -> None:
        _check(
            self.mask_groups >= 2,
            f"scoring.mask_groups={self.mask_groups} must be >= 2 (a part is filled from the "
            "others)",
        )
        _check(
            bool(self.mask_kinds) and all(k in MASK_KINDS for k in self.mask_kinds),
            f"scoring.mask_kinds={list(self.mask_kinds)}: use one or both of {list(MASK_KINDS)}",
        )
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


CALIBRATION_FREE = ("batch_size", "precision")
"""Scoring settings a calibration does not depend on: the batch size changes nothing, the
precision changes maps by about 1 %. Every other setting changes the maps' scale."""


def calibration_changes(
    calibrated: ScoringConfig, current: ScoringConfig
) -> dict[str, tuple[object, object]]:
    """``{field: (calibrated value, current value)}`` of the scoring settings that differ from
    the ones a threshold, map statistics and severity tail were fit with (see
    :data:`CALIBRATION_FREE`)."""
    from dataclasses import fields

    return {
        f.name: (getattr(calibrated, f.name), getattr(current, f.name))
        for f in fields(ScoringConfig)
        if f.name not in CALIBRATION_FREE
        and getattr(calibrated, f.name) != getattr(current, f.name)
    }


def describe_changes(changes: dict[str, tuple[object, object]]) -> str:
    """``scoring.t_start=50 (calibrated with 250), ...`` for messages."""
    return ", ".join(
        f"scoring.{k}={new} (calibrated with {old})" for k, (old, new) in changes.items()
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
        share: Share of the held-out normal files / segments that choose the settings; the
            others set the threshold (:func:`~anomaly_diffusion.calibration.split_held_out`).
        draws: Noise draws per item to choose from (``scoring.n_repeats``; empty: keep the
            scoring config's). Every candidate is searched with each; the fewest draws whose
            best synthetic-anomaly AUROC is within one standard error of the overall best are
            chosen (the one-standard-error rule: cheaper when the difference is not resolved).
    """

    enabled: bool = False
    t_starts: tuple[int, ...] = (50, 100, 250, 400)
    map_types: tuple[str, ...] = MAP_TYPES
    normalizations: tuple[str, ...] = ("none", "pixel")
    smoothing_sigmas: tuple[float, ...] = (1.0, 2.0)
    aggregations: tuple[str, ...] = ("mean", "max", "topk")
    per_kind: int = 8
    strength: float = 3.0
    n_repeats: int | None = None
    draws: tuple[int, ...] = ()
    share: float = 0.5

    def __post_init__(self) -> None:
        _check(
            0 < self.share < 1,
            f"tune.share={self.share} must be in (0, 1): the held-out share that tunes",
        )
        _check(
            all(d >= 1 for d in self.draws),
            f"tune.draws={list(self.draws)} must be noise draw counts >= 1, e.g. [1, 2]",
        )
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
