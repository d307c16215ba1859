"""Held-out scores -> the alarm rule, for the diffusion model and every baseline alike.

The rule is the threshold (the false-alarm quantile of held-out normal scores, or with
``threshold.method=f1`` the F1-optimal cut on labelled validation anomalies) and the normal tail
that turns a score into a severity. With ``threshold.per=asset`` (or a condition name) every
group with at least ``threshold.min_group_windows`` held-out normal windows gets its own
threshold *and* its own tail, fit on its own scores (an F1 threshold from its own anomalies
when it has some); windows of other groups use the global rule.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from anomaly_diffusion.metrics.severity import NormalTail
from anomaly_diffusion.metrics.thresholds import f1_optimal_threshold, false_alarm_threshold
from anomaly_diffusion.scoring_config import ThresholdConfig

logger = logging.getLogger(__name__)
__all__ = [
    "AlarmRule",
    "CalibratedRule",
    "fit_alarm_rule",
    "group_key",
    "held_out_resolution",
    "split_held_out",
]

MIN_SPLIT_WINDOWS = 4
"""Windows each side of :func:`split_held_out` needs (tuning and map statistics need 4)."""


def group_key(item, per: str | None) -> str:
    """The threshold group of an item (``threshold.per``): its asset or a condition's value;
    ``""`` without grouping or when the item has no value."""
    if per is None:
        return ""
    if per == "asset":
        return item.asset
    return dict(item.conditions).get(per, "")


@dataclass
class AlarmRule:
    """Global threshold and tail, plus those of the groups that have their own.

    Attributes:
        threshold: Global alarm threshold (score units).
        tail: Global normal tail (severity; ``None`` in models saved before tails).
        group_thresholds, group_tails: Per-group threshold and tail, by group key.
    """

    threshold: float
    tail: NormalTail | None
    group_thresholds: dict[str, float] = field(default_factory=dict)
    group_tails: dict[str, NormalTail] = field(default_factory=dict)

    def thresholds(self, keys: Sequence[str]) -> float | np.ndarray:
        """The threshold of each key ``(N,)``, or the global one when there are no groups."""
        if not self.group_thresholds:
            return self.threshold
        return np.array([self.group_thresholds.get(k, self.threshold) for k in keys])

    def severity(self, scores: np.ndarray, keys: Sequence[str]) -> np.ndarray | None:
        """Severity of each score ``(N,)`` against its group's tail (else the global one);
        ``None`` without a tail."""
        if self.tail is None:
            return None
        scores = np.asarray(scores, dtype=np.float64)
        out = self.tail.severity(scores)
        for key, tail in self.group_tails.items():
            sel = np.array([k == key for k in keys], dtype=bool)
            if sel.any():
                out[sel] = tail.severity(scores[sel])
        return out


class CalibratedRule:
    """Mixin: the fitted ``alarm_rule_`` (``None`` before calibration) and read-only views of
    its parts, shared by the diffusion detector and every baseline."""

    alarm_rule_: AlarmRule | None = None

    @property
    def threshold_(self) -> float | None:
        """The global alarm threshold (``None`` before calibration)."""
        return None if self.alarm_rule_ is None else self.alarm_rule_.threshold

    @property
    def normal_tail_(self) -> NormalTail | None:
        """The global normal tail (severity; ``None`` before calibration)."""
        return None if self.alarm_rule_ is None else self.alarm_rule_.tail

    @property
    def group_thresholds_(self) -> dict[str, float]:
        """Thresholds of the groups that have their own (``threshold.per``)."""
        return {} if self.alarm_rule_ is None else self.alarm_rule_.group_thresholds

    @property
    def group_tails_(self) -> dict[str, NormalTail]:
        """Normal tails of the groups that have their own."""
        return {} if self.alarm_rule_ is None else self.alarm_rule_.group_tails


def fit_alarm_rule(
    normal_scores: np.ndarray,
    normal_keys: Sequence[str],
    cfg: ThresholdConfig,
    *,
    anomalous_scores: np.ndarray | None = None,
    anomalous_keys: Sequence[str] = (),
) -> AlarmRule:
    """Fit the rule of the module doc.

    Args:
        normal_scores: ``(n,)`` held-out normal scores; normal_keys: their group keys.
        cfg: ``threshold.*`` settings.
        anomalous_scores: ``(m,)`` scores of labelled validation anomalies (``method=f1``);
            anomalous_keys: their group keys.
    """
    normal_scores = np.asarray(normal_scores, dtype=np.float64)
    bad = np.zeros(0) if anomalous_scores is None else np.asarray(anomalous_scores, float)
    keys, bad_keys = np.asarray(normal_keys, dtype=object), np.asarray(anomalous_keys, object)
    rule = AlarmRule(_threshold(normal_scores, bad, cfg, "all"), NormalTail.fit(normal_scores))
    if not cfg.per:
        return rule
    for key in sorted(set(keys.tolist())):
        group = normal_scores[keys == key]
        if not key or group.size < cfg.min_group_windows:
            continue
        rule.group_thresholds[key] = _threshold(group, bad[bad_keys == key], cfg, repr(key))
        rule.group_tails[key] = NormalTail.fit(group)
    return rule


def _threshold(normal: np.ndarray, bad: np.ndarray, cfg: ThresholdConfig, group: str) -> float:
    far = false_alarm_threshold(normal, target_far=cfg.false_alarm_rate)
    if cfg.method != "f1":
        return far
    if bad.size == 0:
        logger.warning(
            "threshold.method=f1 but the validation set has no anomalies%s; using the "
            "false-alarm threshold (give labelled split=val rows with label=1)",
            "" if group == "all" else f" of group {group}",
        )
        return far
    labels = np.r_[np.zeros(normal.size), np.ones(bad.size)]
    return f1_optimal_threshold(labels, np.r_[normal, bad])


def held_out_resolution(n_windows: int, n_units: int, rate: float) -> dict:
    """How far a held-out set can back a false-alarm target.

    The split-conformal guarantee of :func:`false_alarm_threshold` counts exchangeable held-out
    *units* (files or recording segments: windows of one unit are correlated), and a rate
    ``rate`` needs at least ``ceil(1 / rate) - 1`` of them (99 for 1 %). Below that the threshold
    is extrapolated with the normal tail, or rests on correlated windows, and the realised rate
    can be far from the target.

    Returns:
        ``{"windows", "units", "units_needed", "resolved", "note"}``; ``note`` is the log and
        model-card sentence, empty when resolved.
    """
    needed = int(np.ceil(1.0 / rate - 1e-9)) - 1
    resolved = n_units >= needed
    note = ""
    if not resolved:
        note = (
            f"the held-out normal data ({n_windows} window(s) from {n_units} file(s)/segment(s)) "
            f"cannot resolve a {100 * rate:g} % false-alarm rate: that needs >= {needed} "
            "independent held-out files or segments; the threshold "
            + (
                "is extrapolated from the normal tail"
                if n_windows < needed
                else "rests on correlated windows"
            )
            + " and the realised rate may differ from the target; add normal files (or longer "
            "recordings cut into segments), raise data.val_fraction, or set "
            "threshold.false_alarm_rate to a rate it can resolve"
        )
    return {
        "windows": int(n_windows),
        "units": int(n_units),
        "units_needed": needed,
        "resolved": bool(resolved),
        "note": note,
    }


def _unit(window) -> tuple[str, str, str]:
    it = window.item
    return (it.path, repr(it.start_s), repr(it.end_s))


def split_held_out(windows: Sequence, *, share: float, seed: int) -> tuple[list, list]:
    """Held-out normal windows -> ``(tune, calibrate)``: the data that chooses the scoring
    settings never sets the threshold (a threshold from the data that picked the settings is
    optimistic).

    Whole units (files / recording segments) go to one side, ``share`` of them (at random,
    ``seed``) to tuning. With too few units for both sides to get ``MIN_SPLIT_WINDOWS``
    windows, the windows are cut in time instead (the later ones calibrate: they stand for the
    future); with too few windows for that, nothing tunes (``([], windows)``, with a warning):
    settings chosen on the calibration data make its threshold optimistic (a 150-step camera
    model tuned and calibrated on the same 6 frames let 5-6 of 8 fresh normal frames through).
    """
    windows = list(windows)
    units = sorted({_unit(w) for w in windows})
    rng = np.random.default_rng(seed)
    n_tune = round(share * len(units))
    if 0 < n_tune < len(units):
        chosen = {units[i] for i in rng.permutation(len(units))[:n_tune]}
        tune = [w for w in windows if _unit(w) in chosen]
        calibrate = [w for w in windows if _unit(w) not in chosen]
        if min(len(tune), len(calibrate)) >= MIN_SPLIT_WINDOWS:
            return tune, calibrate
    ordered = sorted(windows, key=lambda w: (_unit(w), w.start_s or 0.0))
    cut = round(share * len(ordered))
    if min(cut, len(ordered) - cut) >= MIN_SPLIT_WINDOWS:
        return ordered[:cut], ordered[cut:]
    logger.warning(
        "tune: %d held-out normal window(s) are too few to tune on some (>= %d) and calibrate "
        "on the others (>= %d); the scoring settings stay as configured and all of them "
        "calibrate (add normal data or raise data.val_fraction to tune)",
        len(windows),
        MIN_SPLIT_WINDOWS,
        MIN_SPLIT_WINDOWS,
    )
    return [], windows
