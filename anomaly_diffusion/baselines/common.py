"""What every baseline shares with the diffusion model: the false-alarm threshold rule and the
:class:`~anomaly_diffusion.scoring.result.ScoreResult` it returns."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from anomaly_diffusion.metrics.severity import NormalTail
from anomaly_diffusion.metrics.thresholds import false_alarm_threshold
from anomaly_diffusion.scoring.result import ScoreResult


def baseline_result(
    scores: Sequence[float],
    maps: list[np.ndarray],
    *,
    threshold: float | None,
    tail: NormalTail | None,
) -> ScoreResult:
    """``ScoreResult`` of a baseline (no network evaluations; severity from the normal tail)."""
    scores = np.asarray(scores, dtype=np.float64)
    return ScoreResult(
        scores=scores,
        maps=maps,
        threshold=threshold,
        network_evals_per_item=0,
        severity=None if tail is None else tail.severity(scores),
    )


def calibrated(normal_scores: np.ndarray, *, rate: float) -> tuple[float, NormalTail]:
    """Threshold at the ``rate`` false-alarm quantile of held-out normal scores (the diffusion
    model's default rule) and the normal tail that drives severity."""
    return false_alarm_threshold(normal_scores, target_far=rate), NormalTail.fit(normal_scores)
