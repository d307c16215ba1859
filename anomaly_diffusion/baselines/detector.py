"""Baselines behind the detector's interface (``fit``, ``calibrate``, ``score``, ``threshold_``),
so that ``train model=isolation_forest`` reads, splits, calibrates, evaluates and logs a baseline
exactly as it does the diffusion model: same features, same normalization, same splits, same
threshold rule, same metrics and figures. PatchCore and PaDiM run on pretrained feature maps of
the raw frames instead (:class:`~anomaly_diffusion.baselines.pretrained.PretrainedBaseline`);
:func:`make_baseline` builds either from a ``model=`` name."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from anomaly_diffusion.baselines.common import CalibratedBaseline
from anomaly_diffusion.baselines.dense_ae import dense_ae_scores, fit_dense_ae
from anomaly_diffusion.baselines.pretrained import PRETRAINED_BASELINES, PretrainedBaseline
from anomaly_diffusion.baselines.process_pca import fit_row_pca, row_pca_scores
from anomaly_diffusion.baselines.reference import fit_isolation_forest, fit_pca, pca_scores
from anomaly_diffusion.data.windows import Window
from anomaly_diffusion.detector import DetectorConfig
from anomaly_diffusion.errors import ConfigError, DataError, NotFittedError
from anomaly_diffusion.features.normalization import fit_normalization, normalize
from anomaly_diffusion.scoring.result import ScoreResult

#: Baselines on the model's own normalized features (:class:`BaselineDetector`).
FEATURE_BASELINES = ("isolation_forest", "pca", "dense_ae", "pca_t2", "pca_q")
#: ``train model=<name>`` choices besides ``diffusion``.
BASELINES = (*FEATURE_BASELINES, *PRETRAINED_BASELINES)


def make_baseline(
    name: str, config: DetectorConfig, *, max_minutes: float = 3.0
) -> BaselineDetector | PretrainedBaseline:
    """The baseline ``train model=<name>`` runs: a :class:`BaselineDetector` for
    :data:`FEATURE_BASELINES`, a :class:`PretrainedBaseline` for ``patchcore`` / ``padim``."""
    if name in PRETRAINED_BASELINES:
        return PretrainedBaseline(name, config)
    return BaselineDetector(name, config, max_minutes=max_minutes)


class BaselineDetector(CalibratedBaseline):
    """IsolationForest, PCA reconstruction, the DCASE-style dense autoencoder, or (process
    tables) PCA T² / Q of every row, on the model's normalized features.

    Args:
        name: One of :data:`FEATURE_BASELINES`.
        config: The detector config whose ``features`` (and threshold) the baseline shares.
        max_minutes: Training budget of the dense autoencoder.
    """

    def __init__(self, name: str, config: DetectorConfig, *, max_minutes: float = 3.0) -> None:
        if name in PRETRAINED_BASELINES:
            raise ConfigError(
                f"model={name} runs on pretrained feature maps, not the normalized features; "
                "build it with make_baseline() or PretrainedBaseline"
            )
        if name not in BASELINES:
            raise ConfigError(
                f"model={name!r}: unknown; use diffusion or one of {', '.join(BASELINES)}"
            )
        self.name = name
        self.config = config
        self.max_minutes = max_minutes
        self.model_ = None
        self.alarm_rule_ = None  # the alarm rule, set by calibrate()
        self.sample_rate_: float | None = None
        self.mean_: np.ndarray | None = None
        self.std_: np.ndarray | None = None

    @property
    def input_channels(self) -> int | None:
        """Channels of the model input (``None`` before fitting)."""
        return None if self.mean_ is None else int(self.mean_.shape[0])

    @property
    def _spectrogram(self) -> bool:
        return self.config.features.kind in ("stft", "log_mel")

    def _check_shapes(self, windows: Sequence[Window]) -> None:
        shapes = {w.features.shape for w in windows}
        if len(shapes) > 1 and (self.name != "dense_ae" or len({s[:2] for s in shapes}) > 1):
            raise DataError(
                f"model={self.name} needs windows of one shape, got {sorted(shapes)[:3]}; "
                "set features.window_seconds so that every window has the same length"
            )

    def _check_table(self) -> None:
        if self.config.features.kind != "sensor_window":
            raise ConfigError(
                f"model={self.name} is a process-monitoring statistic of table rows; use it "
                f"on process tables (preset=process), not features.kind="
                f"{self.config.features.kind}"
            )

    def _inputs(self, windows: Sequence[Window]) -> list[np.ndarray]:
        self._check_shapes(windows)
        return [normalize(w.features, self.mean_, self.std_) for w in windows]

    def fit(self, windows: Sequence[Window], *, seed: int = 0) -> BaselineDetector:
        """Fit the normalization and the baseline on normal windows."""
        if not windows:
            raise DataError("no training windows: every training file failed or none was given")
        self._check_shapes(windows)
        per_row = self.config.features.kind != "frame"
        self.mean_, self.std_ = fit_normalization([w.features for w in windows], per_row=per_row)
        self.sample_rate_ = windows[0].sample_rate
        x = self._inputs(windows)
        if self.name == "isolation_forest":
            self.model_ = fit_isolation_forest(x, seed=seed)
        elif self.name == "pca":
            self.model_ = fit_pca(x)
        elif self.name in ("pca_t2", "pca_q"):
            self._check_table()
            self.model_ = fit_row_pca(x)
        else:
            self.model_ = fit_dense_ae(
                x, spectrogram=self._spectrogram, seed=seed, max_minutes=self.max_minutes
            )
        return self

    def score(self, windows: Sequence[Window], *, seed: int = 0) -> ScoreResult:
        """Scores (and maps, for PCA and the autoencoder) of windows."""
        if self.model_ is None:
            raise NotFittedError(f"{self.name} baseline is not fitted; call fit() first")
        x = self._inputs(windows)
        if self.name == "isolation_forest":
            flat = np.stack([a.reshape(-1) for a in x])
            scores = -self.model_.score_samples(flat)
            maps = [np.zeros(a.shape[1:], dtype=np.float32) for a in x]  # no localization
        elif self.name == "pca":
            scores, maps = pca_scores(self.model_, x)
        elif self.name in ("pca_t2", "pca_q"):
            scores, maps = row_pca_scores(self.model_, x, self.name[4:])
        else:
            scores, maps = dense_ae_scores(self.model_, x, spectrogram=self._spectrogram)
        return self._result(scores, maps, windows)
