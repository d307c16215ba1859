"""What every baseline shares with the diffusion model: the alarm rule (threshold, per-group
thresholds and severity tails, :mod:`anomaly_diffusion.calibration`) and the
:class:`~anomaly_diffusion.scoring.result.ScoreResult` it returns."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from anomaly_diffusion.calibration import AlarmRule, fit_alarm_rule, group_key
from anomaly_diffusion.data.windows import Window
from anomaly_diffusion.metrics.severity import NormalTail
from anomaly_diffusion.scoring.result import ScoreResult


class CalibratedBaseline:
    """Mixin: ``calibrate`` and the result of ``score`` with the diffusion model's rule, so
    ``threshold.false_alarm_rate``, ``threshold.per`` and ``threshold.method`` mean the same for
    every model. Subclasses set ``config`` and ``rule_ = None`` and implement ``score``."""

    config = None
    rule_: AlarmRule | None = None

    @property
    def threshold_(self) -> float | None:
        """The global alarm threshold (``None`` before :meth:`calibrate`)."""
        return None if self.rule_ is None else self.rule_.threshold

    @property
    def normal_tail_(self) -> NormalTail | None:
        """The global normal tail (severity)."""
        return None if self.rule_ is None else self.rule_.tail

    def _keys(self, windows: Sequence[Window]) -> list[str]:
        return [group_key(w.item, self.config.threshold.per) for w in windows]

    def calibrate(self, normal: Sequence[Window], *, seed: int = 0, anomalous=()):
        """Fit the alarm rule on held-out normal windows (and, for ``threshold.method=f1``,
        labelled validation anomalies), as the diffusion model does."""
        cfg = self.config.threshold
        bad = None
        if cfg.method == "f1" and anomalous:
            bad = self.score(anomalous, seed=seed).scores
        self.rule_ = fit_alarm_rule(
            self.score(normal, seed=seed).scores,
            self._keys(normal),
            cfg,
            anomalous_scores=bad,
            anomalous_keys=self._keys(anomalous),
        )
        return self

    def _result(
        self, scores: Sequence[float], maps: list[np.ndarray], windows: Sequence[Window]
    ) -> ScoreResult:
        """``ScoreResult`` of a baseline: each window's threshold and severity from its group's
        rule (no network evaluations)."""
        scores = np.asarray(scores, dtype=np.float64)
        rule, keys = self.rule_, self._keys(windows)
        return ScoreResult(
            scores=scores,
            maps=maps,
            threshold=None if rule is None else rule.thresholds(keys),
            network_evals_per_item=0,
            severity=None if rule is None else rule.severity(scores, keys),
        )
