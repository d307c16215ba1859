"""DiffusionAnomalyDetector: the one façade (fit / calibrate / score / save / load).

Its configuration lives in :mod:`anomaly_diffusion.detector_config` and its saved-folder format
in :mod:`anomaly_diffusion.model_files`; both are re-exported here.
"""

from __future__ import annotations

import logging
import math
import os
import zlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import torch

from anomaly_diffusion.calibration import (
    AlarmRule,
    CalibratedRule,
    fit_alarm_rule,
    group_key,
    held_out_resolution,
)
from anomaly_diffusion.config import ScoringConfig
from anomaly_diffusion.data.conditions import ConditionEncoder
from anomaly_diffusion.data.windows import Window
from anomaly_diffusion.detector_config import DetectorConfig
from anomaly_diffusion.diffusion.inpainting import inpainting_loss
from anomaly_diffusion.diffusion.losses import diffusion_loss
from anomaly_diffusion.diffusion.scheduler import NoiseScheduler
from anomaly_diffusion.errors import ConfigError, DataError, NotFittedError
from anomaly_diffusion.features.backbone import extractor_for
from anomaly_diffusion.features.normalization import fit_normalization, normalize
from anomaly_diffusion.features.sensor_whitening import fit_sensor_whitening, whiten_sensors
from anomaly_diffusion.model_files import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    for_inference,
    load_detector_files,
    make_network,
    save_detector,
)
from anomaly_diffusion.model_inputs import BackboneInputs
from anomaly_diffusion.precision import BFloat16Copy, use_bfloat16
from anomaly_diffusion.progress import progress
from anomaly_diffusion.scoring.aggregate import aggregate_map
from anomaly_diffusion.scoring.inpaint import inpainting_maps
from anomaly_diffusion.scoring.map_stats import apply_map_stats, fit_map_stats
from anomaly_diffusion.scoring.maps import rows_are_neighbours, smooth_map
from anomaly_diffusion.scoring.reconstruct import anomaly_maps
from anomaly_diffusion.scoring.result import ScoreResult
from anomaly_diffusion.scoring.tiles import tiled
from anomaly_diffusion.scoring_config import calibration_changes, describe_changes
from anomaly_diffusion.training.loop import CheckpointPlan, TrainResult, train_diffusion

__all__ = [
    "CONFIG_FILE",
    "WEIGHTS_FILE",
    "DetectorConfig",
    "DiffusionAnomalyDetector",
    "for_inference",
    "load_detector",
]

logger = logging.getLogger(__name__)
_PROGRESS_MIN_WINDOWS = 512  # a progress bar for longer scoring calls (evaluation, calibration)


class DiffusionAnomalyDetector(CalibratedRule):
    """Learns normal windows with a small diffusion model; scores by partial re-projection.

    Fitted state ends in ``_``: ``model_`` (EMA UNet), ``mean_``/``std_`` (normalization),
    ``sensor_whitening_`` (the ``(S, S)`` ZCA matrix applied after it, process tables with
    ``features.sensor_whitening=zca``; else ``None``),
    ``alarm_rule_`` (the calibrated :class:`~anomaly_diffusion.calibration.AlarmRule`: global
    and per-group thresholds and normal tails; ``threshold_``, ``normal_tail_``,
    ``group_thresholds_`` and ``group_tails_`` read it), ``map_stats_``
    (normal mean/std of maps, or ``None``) and the ``map_stats_type_`` they were fit for,
    ``conditions_`` (operating-condition encoder, or ``None`` for an unconditional model),
    ``sample_rate_`` (Hz, signals only), ``train_result_``, and ``inputs_``: the pretrained
    backbone and its feature statistics when ``features.backbone`` is set (the model then learns
    and re-projects feature maps, see :mod:`anomaly_diffusion.model_inputs`), else ``None``;
    ``calibrated_scoring_`` (the scoring settings the calibration holds for) and
    ``calibration_items_`` (the held-out normal items it was fit on, saved with the model so
    that ``anomaly-diffusion recalibrate`` can fit it again for other settings).
    """

    def __init__(self, config: DetectorConfig | None = None) -> None:
        self.config = config or DetectorConfig()
        self.scheduler = NoiseScheduler.from_config(self.config.scheduler)
        self.model_: torch.nn.Module | None = None
        self.inputs_: BackboneInputs | None = None
        self.mean_: np.ndarray | None = None
        self.std_: np.ndarray | None = None
        self.sensor_whitening_: np.ndarray | None = None
        self.alarm_rule_: AlarmRule | None = None
        self.map_stats_: tuple[np.ndarray, np.ndarray] | None = None
        self.map_stats_type_: str | None = None
        self.conditions_: ConditionEncoder | None = None
        self.sample_rate_: float | None = None
        self.source_sizes_: tuple[tuple[int, int], tuple[int, int]] | None = None
        self.input_lengths_: tuple[int, int] | None = None
        self.clip_seconds_: tuple[float, float] | None = None
        self.train_result_: TrainResult | None = None
        self.calibrated_scoring_: ScoringConfig | None = None
        self.calibration_items_: list[dict] = []
        self.calibration_resolution_: dict | None = None
        self._bf16_model: tuple[torch.nn.Module, torch.nn.Module] | None = None

    def fit(
        self,
        windows: Sequence[Window],
        *,
        seed: int = 0,
        on_log: Callable[[int, dict[str, float]], None] | None = None,
        checkpoint: CheckpointPlan | None = None,
        conditions: Sequence[str] = (),
    ) -> DiffusionAnomalyDetector:
        """Fit normalization and train the UNet on normal windows (resumable with
        ``checkpoint``, see :func:`~anomaly_diffusion.training.loop.train_diffusion`).

        ``conditions`` names operating conditions (e.g. ``("car", "spd")``) the model is
        conditioned on; values come from each window's item (see
        :mod:`anomaly_diffusion.data.conditions`).
        """
        if not windows:
            raise DataError(
                "no training windows: every training file failed or the folder is empty"
            )
        feats = [w.features for w in windows]
        per_row = self.config.features.kind != "frame"
        self.mean_, self.std_ = fit_normalization(feats, per_row=per_row)
        self.sample_rate_ = windows[0].sample_rate
        sizes = np.array([w.source_size for w in windows if w.source_size is not None])
        self.source_sizes_ = (
            None
            if sizes.size == 0
            else (tuple(sizes.min(0).tolist()), tuple(sizes.max(0).tolist()))
        )
        if self.config.features.kind == "sensor_window" and self.config.source.columns is None:
            # the saved model reads exactly the sensors it learned, in that order
            names = windows[0].channels
            if names:
                source = replace(self.config.source, columns=tuple(names))
                self.config = replace(self.config, source=source)
        # (shortest, longest) training input in columns (spectrogram frames / table rows)
        self.input_lengths_ = None
        if self.config.features.kind != "frame":
            cols = [int(w.features.shape[-1]) for w in windows]
            self.input_lengths_ = (min(cols), max(cols))
        # a clip model's (median, longest) training clip: long recordings get clip windows
        self.clip_seconds_ = None
        spans = [w.end_s - w.start_s for w in windows if w.start_s is not None and w.end_s]
        if (
            self.config.features.window_seconds is None
            and self.config.features.kind
            in (
                "stft",
                "log_mel",
            )
            and spans
        ):
            self.clip_seconds_ = (float(np.median(spans)), float(max(spans)))
        cond = None
        self.conditions_ = None
        if conditions and self.config.features.backbone != "none":
            raise ConfigError(
                f"data.conditions={list(conditions)} with features.backbone="
                f"{self.config.features.backbone}: the feature-space model is unconditional; "
                "set data.conditions=[] (threshold.per=<condition> still gives per-condition "
                "thresholds) or features.backbone=none"
            )
        if conditions:
            self.conditions_ = ConditionEncoder.fit([w.item for w in windows], conditions)
            cond = self.conditions_.encode([w.item for w in windows])
        channels = feats[0].shape[0]
        unet_cfg = replace(
            self.config.network,
            in_channels=channels + self.inpainting,
            out_channels=channels,
            cond_vocab_sizes=self.conditions_.vocab_sizes if self.conditions_ else (),
            cond_numeric=self.conditions_.numeric_width if self.conditions_ else 0,
        )
        self.config = replace(self.config, network=unet_cfg)
        generator = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        data = self._training_inputs(feats)
        self.model_, self.train_result_ = train_diffusion(
            make_network(self.config),
            self.scheduler,
            data,
            self.config.training,
            generator=generator,
            on_log=on_log,
            checkpoint=checkpoint,
            cond=cond,
            loss_fn=inpainting_loss if self.inpainting else diffusion_loss,
        )
        self.model_ = for_inference(self.model_)
        return self

    def _training_inputs(self, feats: list[np.ndarray]) -> list[np.ndarray]:
        """Normalized model inputs of the training windows: their features, or (with a backbone)
        their feature maps, encoded once (sets the denoiser's input size in the config and
        trains on whole maps)."""
        self.inputs_ = None
        self.sensor_whitening_ = None
        if self.config.features.backbone == "none":
            data = [normalize(f, self.mean_, self.std_) for f in feats]
            if self.config.features.sensor_whitening == "zca":
                self.sensor_whitening_ = fit_sensor_whitening(data)
                data = [whiten_sensors(x, self.sensor_whitening_) for x in data]
            return data
        extractor = extractor_for(self.config.features)
        # auto resolved on this CPU and saved: the model scores the features it was fit on
        features = replace(self.config.features, backbone_precision=extractor.precision)
        self.config = replace(self.config, features=features)
        logger.info(
            "encoding %d training frames with %s (%s)",
            len(feats),
            features.backbone,
            extractor.precision,
        )
        whiten = self.config.features.backbone_whitening == "position"
        self.inputs_, data = BackboneInputs.fit(extractor, feats, whiten=whiten)
        denoiser = replace(
            self.config.denoiser, in_channels=data[0].shape[0], grid=tuple(data[0].shape[1:])
        )
        # the position embedding needs whole maps: no random crops
        training = replace(self.config.training, crop=None)
        self.config = replace(self.config, denoiser=denoiser, training=training)
        return data

    def calibrate(
        self,
        normal: Sequence[Window],
        *,
        seed: int = 0,
        anomalous: Sequence[Window] = (),
    ) -> DiffusionAnomalyDetector:
        """Set ``threshold_`` (and per-group ``group_thresholds_``) from held-out windows.

        With ``scoring.map_normalization`` other than ``none``, the maps' normal statistics
        are fit on the first half of ``normal`` (and kept for scoring); the threshold comes
        from every held-out window, each scored with statistics fit on the other half
        (cross-fitting), so no window normalizes its own map and all n set the threshold.
        ``anomalous`` (labelled validation anomalies) is used only by ``threshold.method=f1``.
        """
        raw = self.raw_maps(normal, seed=seed)
        self.calibrated_scoring_ = self.config.scoring
        self.calibration_items_ = _held_out_items(normal)
        mode = self.config.scoring.map_normalization
        self.map_stats_ = None
        if mode == "none":
            scores = self.score_maps(raw).scores
        else:
            scores = self._cross_fit_scores(raw, mode)
        cfg = self.config.threshold
        bad = None
        if cfg.method == "f1" and anomalous:
            bad = self.score_maps(self.raw_maps(anomalous, seed=seed)).scores
        self.alarm_rule_ = fit_alarm_rule(
            scores,
            [self.group_of(w) for w in normal],
            cfg,
            anomalous_scores=bad,
            anomalous_keys=[self.group_of(w) for w in anomalous],
        )
        self.calibration_resolution_ = held_out_resolution(
            len(normal), len(self.calibration_items_), cfg.false_alarm_rate
        )
        if note := self.calibration_resolution_["note"]:
            logger.warning("threshold: %s", note)
        return self

    def _cross_fit_scores(self, raw: list[np.ndarray], mode: str) -> np.ndarray:
        """``(n,)`` scores of the held-out raw maps, the first half normalized with statistics
        of the second and vice versa; leaves ``map_stats_`` fit on the first half."""
        if len(raw) < 4:
            raise DataError(
                f"scoring.map_normalization={mode} needs >= 4 held-out normal windows, got "
                f"{len(raw)}; add normal training data or set scoring.map_normalization=none"
            )
        half = len(raw) // 2
        self.map_stats_type_ = self.config.scoring.map_type
        across = rows_are_neighbours(self.config.features.kind)
        self.map_stats_ = fit_map_stats(raw[half:], mode=mode, across_rows=across)
        first = self.score_maps(raw[:half]).scores
        self.map_stats_ = fit_map_stats(raw[:half], mode=mode, across_rows=across)
        second = self.score_maps(raw[half:]).scores
        return np.r_[first, second]

    def group_of(self, window: Window) -> str:
        """The window's threshold group (``threshold.per``): its asset or a condition value."""
        return group_key(window.item, self.config.threshold.per)

    def thresholds_for(self, windows: Sequence[Window]) -> float | np.ndarray | None:
        """The alarm threshold of each window: per group when fitted, else the global one."""
        if self.alarm_rule_ is None:
            return None
        return self.alarm_rule_.thresholds([self.group_of(w) for w in windows])

    @property
    def input_channels(self) -> int | None:
        """Channels of the model input (``None`` before fitting)."""
        return None if self.mean_ is None else int(self.mean_.shape[0])

    def unexpected_size(self, window: Window) -> str | None:
        """Why an image's original size is outside the training images' range by more than
        10 % (it is resized all the same), else ``None``."""
        if self.source_sizes_ is None or window.source_size is None:
            return None
        (h_min, w_min), (h_max, w_max) = self.source_sizes_
        height, width = window.source_size
        if 0.9 * h_min <= height <= 1.1 * h_max and 0.9 * w_min <= width <= 1.1 * w_max:
            return None
        return (
            f"{window.item.path}: image is {height}x{width} px, the model was trained on "
            f"{h_min}-{h_max} x {w_min}-{w_max} px; resized to "
            f"{window.features.shape[1]}x{window.features.shape[2]} all the same: check that "
            "the camera and crop match the training data"
        )

    def too_short(self, window: Window) -> str | None:
        """Why a signal or table window is too short for this model to score honestly, else
        ``None``: fewer columns (spectrogram frames, table rows) than
        :data:`MIN_LENGTH_SHARE` of the shortest training input. A 64-sample clip scored by a
        model of 10-s clips would otherwise get an ordinary-looking score of almost nothing."""
        if self.input_lengths_ is None or window.features.ndim != 3:
            return None
        shortest = self.input_lengths_[0]
        have = int(window.features.shape[-1])
        if have >= MIN_LENGTH_SHARE * shortest:
            return None
        per_col = window.frame_s or 0.0
        secs = f" ({have * per_col:.3g} s)" if per_col else ""
        need = f" ({MIN_LENGTH_SHARE * shortest * per_col:.3g} s)" if per_col else ""
        return (
            f"{window.item.path}: too short: {have} column(s){secs}, the model was trained on "
            f"{shortest}-{self.input_lengths_[1]} (it needs at least "
            f"{math.ceil(MIN_LENGTH_SHARE * shortest)}{need}); record longer clips, or train "
            "on clips this short"
        )

    @property
    def inpainting(self) -> bool:
        """An inpainting model (``training.objective=inpaint``): it fills masked parts of a
        window, and scoring masks each part in turn (:mod:`anomaly_diffusion.scoring.inpaint`)."""
        return self.config.training.objective == "inpaint"

    def network_evals_per_item(self) -> int:
        """Denoiser passes per item (an encoder pass over input + reconstruction for feature
        maps counts as one; an inpainting model passes once per mask)."""
        cfg = self.config.scoring
        if self.inpainting:
            return cfg.n_repeats * cfg.n_steps * cfg.mask_groups * len(cfg.mask_kinds)
        return cfg.n_repeats * (cfg.n_steps + (cfg.map_type != "residual"))

    def stale_calibration(self) -> dict[str, tuple[object, object]]:
        """Scoring settings changed since :meth:`calibrate` (``{field: (calibrated, now)}``,
        see :func:`~anomaly_diffusion.scoring_config.calibration_changes`); empty when the
        threshold, map statistics and severity tail hold for the current settings."""
        if self.calibrated_scoring_ is None:
            return {}
        return calibration_changes(self.calibrated_scoring_, self.config.scoring)

    def score(self, windows: Sequence[Window], *, seed: int = 0) -> ScoreResult:
        """Scores and smoothed maps of windows (see :meth:`raw_maps` and :meth:`score_maps`),
        with each window's threshold (per asset / condition when calibrated so).

        Raises:
            ConfigError: scoring settings changed since calibration (:meth:`with_scoring`):
                the threshold and the map statistics would be stale; call :meth:`calibrate`.
        """
        if changes := self.stale_calibration():
            raise ConfigError(
                f"{describe_changes(changes)}: the threshold, map statistics and severity of "
                "this model were calibrated for the old value(s); recalibrate on held-out "
                "normal data first (detector.calibrate(windows), or 'anomaly-diffusion "
                "recalibrate model=... scoring.<setting>=...')"
            )
        return self.score_maps(
            self.raw_maps(windows, seed=seed), keys=[self.group_of(w) for w in windows]
        )

    def raw_maps(self, windows: Sequence[Window], *, seed: int = 0) -> list[np.ndarray]:
        """Unsmoothed ``(K, H, W)`` maps (K components, see
        :func:`~anomaly_diffusion.scoring.reconstruct.anomaly_maps`); windows of equal shape are
        batched together.

        Noise is drawn per window from ``seed`` and the window's identity, so a window scores the
        same whatever batch it is in (local, pyfunc and Spark engines agree).
        """
        if self.model_ is None:
            raise NotFittedError("detector is not fitted; call fit() or load a saved model")
        batch_size = self.config.scoring.batch_size
        maps: list[np.ndarray | None] = [None] * len(windows)
        groups: dict[tuple, list[int]] = defaultdict(list)
        for i, w in enumerate(windows):
            groups[w.features.shape].append(i)
        with progress(
            total=len(windows),
            desc="scoring",
            unit="window",
            disable=len(windows) < _PROGRESS_MIN_WINDOWS,
            leave=False,
        ) as bar:
            for indices in groups.values():
                # one array per shape group, filled batch by batch: the kept maps sit in one
                # large (mmapped) block instead of one heap block per batch between the freed
                # network temporaries, which kept ~1.5 MB per frame of free memory resident
                group = None
                for start in range(0, len(indices), batch_size):
                    batch = indices[start : start + batch_size]
                    raw = self._raw_maps([windows[i] for i in batch], seed)
                    if group is None:
                        group = np.empty((len(indices), *raw.shape[1:]), dtype=raw.dtype)
                    group[start : start + len(batch)] = raw
                    del raw
                    bar.update(len(batch))
                for j, i in enumerate(indices):
                    maps[i] = group[j]
        return maps

    def score_maps(
        self, raw_maps: Sequence[np.ndarray], *, keys: Sequence[str] | None = None
    ) -> ScoreResult:
        """Normal-statistics normalization (when calibrated with it), averaging of the map
        components, smoothing, aggregation; maps come out ``(H, W)``. Thresholds and severity
        are each map's group's (``keys``, from :meth:`group_of`; the global rule without
        them)."""
        cfg = self.config.scoring
        stats = self.map_stats_ if cfg.map_normalization != "none" else None
        across = rows_are_neighbours(self.config.features.kind)
        maps = [
            smooth_map(
                apply_map_stats(m, stats).mean(axis=0),
                sigma=cfg.smoothing_sigma,
                across_rows=across,
            )
            for m in raw_maps
        ]
        scores = np.array(
            [
                aggregate_map(m, method=cfg.aggregation, topk_fraction=cfg.topk_fraction)
                for m in maps
            ],
            dtype=np.float64,
        )
        rule = self.alarm_rule_
        keys = [""] * len(maps) if keys is None else list(keys)
        return ScoreResult(
            scores=scores,
            maps=maps,
            threshold=None if rule is None else rule.thresholds(keys),
            network_evals_per_item=self.network_evals_per_item(),
            severity=None if rule is None else rule.severity(scores, keys),
        )

    def _raw_maps(self, windows: Sequence[Window], seed: int) -> np.ndarray:
        cfg = self.config.scoring
        bf16 = use_bfloat16(cfg.precision)
        if self.inputs_ is None:
            x = np.stack([normalize(w.features, self.mean_, self.std_) for w in windows])
            if self.sensor_whitening_ is not None:
                x = whiten_sensors(x, self.sensor_whitening_)
            x_0 = torch.from_numpy(x)
        else:
            x_0 = self.inputs_.encode([w.features for w in windows])
        x_0 = x_0.contiguous(memory_format=torch.channels_last)
        noise = torch.stack(
            [
                _window_noise(self.scheduler, w, seed, (cfg.n_repeats, *x_0.shape[1:]))
                for w in windows
            ],
            dim=1,
        )
        cond = None
        if self.conditions_ is not None:
            cond = tuple(
                torch.from_numpy(a) for a in self.conditions_.encode([w.item for w in windows])
            )

        net = self._bfloat16_model() if bf16 else self.model_

        if self.inpainting:
            maps_fn = partial(inpainting_maps, groups=cfg.mask_groups, kinds=cfg.mask_kinds)
        else:
            matrix = self.sensor_whitening_
            maps_fn = partial(
                anomaly_maps,
                map_type=cfg.map_type,
                guidance=cfg.guidance,
                sensor_matrix=None if matrix is None else torch.from_numpy(matrix),
            )

        def maps_of(x, nz, c):
            return maps_fn(
                net, self.scheduler, x, noise=nz, t_start=cfg.t_start, n_steps=cfg.n_steps, cond=c
            )

        maps = tiled(maps_of, x_0, noise, cond, tile=cfg.tile).float()
        if self.inputs_ is not None:
            maps = self.inputs_.to_frame(maps, windows[0].features.shape[1:])
        return maps.numpy()

    def _bfloat16_model(self) -> torch.nn.Module:
        """A bfloat16 copy of the fitted network (``scoring.precision``), made once per model."""
        if self._bf16_model is None or self._bf16_model[0] is not self.model_:
            self._bf16_model = (self.model_, BFloat16Copy(self.model_))
        return self._bf16_model[1]

    def with_scoring(self, scoring: ScoringConfig) -> DiffusionAnomalyDetector:
        """The same fitted detector with other scoring settings. Unless only
        :data:`~anomaly_diffusion.scoring_config.CALIBRATION_FREE` settings changed,
        :meth:`score` refuses until :meth:`calibrate` has been called again (a threshold fit
        for other settings is stale; :meth:`stale_calibration` says which).

        Raises:
            ConfigError: map normalization asked for but the model was calibrated without it or
                for another map type.
        """
        if scoring.map_normalization != "none" and self.map_stats_ is None:
            raise ConfigError(
                f"scoring.map_normalization={scoring.map_normalization}: this model was calibrated "
                "without map statistics; retrain with it or use scoring.map_normalization=none"
            )
        if scoring.map_normalization != "none" and scoring.map_type != self.map_stats_type_:
            raise ConfigError(
                f"scoring.map_type={scoring.map_type}: this model's map statistics are for "
                f"map_type={self.map_stats_type_}; keep that map type, or recalibrate (train) "
                "with the new one, or use scoring.map_normalization=none"
            )
        self.config = replace(self.config, scoring=scoring)
        return self

    def save(self, path: str | Path) -> Path:
        """Write ``weights.safetensors`` (EMA weights + normalization) and ``detector.json``
        (see :func:`~anomaly_diffusion.model_files.save_detector`)."""
        return save_detector(self, path)

    @classmethod
    def load(cls, path: str | Path) -> DiffusionAnomalyDetector:
        """Load a folder written by :meth:`save` (see
        :func:`~anomaly_diffusion.model_files.load_detector_files`)."""
        return load_detector_files(cls, path)


def _held_out_items(windows: Sequence[Window]) -> list[dict]:
    """The distinct items (absolute path, segment, asset, conditions) of calibration windows,
    as saved with the model so that a recalibration can read the same held-out normals."""
    out: dict[tuple, dict] = {}
    for w in windows:
        it = w.item
        key = (os.path.abspath(it.path), it.start_s, it.end_s)
        out.setdefault(
            key,
            {
                "path": key[0],
                "start_s": it.start_s,
                "end_s": it.end_s,
                "asset": it.asset,
                "conditions": [list(c) for c in it.conditions],
            },
        )
    return list(out.values())


MIN_LENGTH_SHARE = 0.5
"""Shortest input a signal/table model scores, as a share of its shortest training input."""


def _window_noise(
    scheduler: NoiseScheduler, window: Window, seed: int, shape: tuple[int, ...]
) -> torch.Tensor:
    """Noise of ``shape`` (``(R, C, H, W)``: R draws of the model input's shape; the
    scheduler's kind) determined by the seed and the window's
    identity: the file's path as given, normalized (``./a/b.wav`` = ``a/b.wav``; same-named
    files in other folders get other draws, and the same spelling gets the same draws from any
    working directory, so a score does not depend on where a job runs), and the start time to
    the microsecond (so a window read whole, streamed in blocks or planned as a Spark row gets
    the same draws)."""
    start = "None" if window.start_s is None else f"{window.start_s:.6f}"
    key = f"{os.path.normpath(window.item.path)}|{start}".encode()
    generator = torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(key))
    return scheduler.sample_noise(shape, generator=generator)


def load_detector(path: str | Path) -> DiffusionAnomalyDetector:
    """Load a detector from a saved folder or a pyfunc model folder (``run_dir/model``)."""
    path = Path(path)
    inner = path / "artifacts" / "detector"
    return DiffusionAnomalyDetector.load(inner if inner.is_dir() else path)
