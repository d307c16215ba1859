"""What every baseline shares with the diffusion model: the alarm rule (threshold, per-group
thresholds and severity tails, :mod:`anomaly_diffusion.calibration`) and the
:class:`~anomaly_diffusion.scoring.result.ScoreResult` it returns."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from anomaly_diffusion.calibration import CalibratedRule, fit_alarm_rule, group_key
from anomaly_diffusion.data.windows import Window
from anomaly_diffusion.scoring.result import ScoreResult


class CalibratedBaseline(CalibratedRule):
    """Mixin: ``calibrate`` and the result of ``score`` with the diffusion model's rule, so
    ``threshold.false_alarm_rate``, ``threshold.per`` and ``threshold.method`` mean the same for
    every model. Subclasses set ``config`` and implement ``score``."""

    config = None

    def _keys(self, windows: Sequence[Window]) -> list[str]:
        return [group_key(w.item, self.config.threshold.per) for w in windows]

    def calibrate(self, normal: Sequence[Window], *, seed: int = 0, anomalous=()):
        """Fit the alarm rule on held-out normal windows (and, for ``threshold.method=f1``,
        labelled validation anomalies), as the diffusion model does."""
        cfg = self.config.threshold
        bad = None
        if cfg.method == "f1" and anomalous:
            bad = self.score(anomalous, seed=seed).scores
        self.alarm_rule_ = fit_alarm_rule(
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
        rule, keys = self.alarm_rule_, self._keys(windows)
        return ScoreResult(
            scores=scores,
            maps=maps,
            threshold=None if rule is None else rule.thresholds(keys),
            network_evals_per_item=0,
            severity=None if rule is None else rule.severity(scores, keys),
        )
