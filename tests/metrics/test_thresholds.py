"""Tests of anomaly_diffusion.metrics.thresholds."""

from __future__ import annotations

import numpy as np
import pytest

from anomaly_diffusion.errors import ConfigError
from anomaly_diffusion.metrics import f1_optimal_threshold, false_alarm_threshold


def test_false_alarm_threshold_gaussian_known_answer() -> None:
    rng = np.random.default_rng(0)
    threshold = false_alarm_threshold(rng.normal(size=1000), target_far=0.01)
    assert isinstance(threshold, float)
    assert threshold == pytest.approx(2.33, abs=0.25)
    fresh = rng.normal(size=200_000)
    assert np.mean(fresh > threshold) == pytest.approx(0.01, abs=0.006)


@pytest.mark.parametrize("target_far", [0.01, 0.05, 0.2])
def test_false_alarm_threshold_bounds_given_far(target_far: float) -> None:
    scores = np.random.default_rng(1).exponential(size=537)
    threshold = false_alarm_threshold(scores, target_far=target_far)
    assert np.mean(scores > threshold) <= target_far


def test_false_alarm_threshold_with_ties() -> None:
    scores = np.r_[np.zeros(990), np.ones(10)]
    assert false_alarm_threshold(scores, target_far=0.01) == 1.0


def test_few_scores_extrapolate_the_exponential_tail_known_answer() -> None:
    scores = np.array([0.0, 1.0, 2.0, 4.0])  # n = 4: top 2 -> one excess of 2 -> scale 2
    # P(fresh > max) = 1/5; beyond it the predictive tail (1 + x / (m * 2)) ** -m with m = 1
    # excess: 1/5 * 1 / (1 + x / 2) = 0.01 at x = 38 (the plug-in exp(-x / 2) gave x = 6.0)
    expected = 4.0 + 38.0
    assert false_alarm_threshold(scores, target_far=0.01) == pytest.approx(expected)
    constant = false_alarm_threshold(np.full(5, 3.0), target_far=0.01)
    assert constant > 3.0


@pytest.mark.parametrize("n", [6, 10, 25, 50])
def test_few_normal_scores_still_give_about_the_target_rate(n: int) -> None:
    """With n * rate < 1 the highest normal score alone would let 1/(n+1) (4 % at n = 25)
    through; the fitted tail keeps the realised rate on fresh draws within 2x of 1 %. With a
    handful of scores the tail's scale rests on one or two excesses: plugging that estimate in
    let 6.7 % through at n = 6 and 4.2 % at n = 10; the predictive tail (2.3 %, 1.6 %) accounts
    for it, within 2.5x of the target at n = 6."""
    rng = np.random.default_rng(n)
    realised = [
        np.mean(rng.gamma(2.0, size=4000) > false_alarm_threshold(rng.gamma(2.0, size=n)))
        for _ in range(300)
    ]
    assert 0.005 <= np.mean(realised) <= (0.025 if n < 10 else 0.02)
    assert np.mean(realised) < 0.75 / (n + 1)  # clearly below the plain maximum's rate


@pytest.mark.parametrize("n", [120, 300])
def test_enough_normal_scores_keep_fresh_alarms_at_or_below_the_target(n: int) -> None:
    """The conformal order statistic: a fresh normal score exceeds the threshold with
    probability (n + 1 - k) / (n + 1) <= 1 % (0.83 % at n = 120, 1.0 % at n = 300); the plain
    "higher" quantile let 2/121 = 1.65 % through at n = 120."""
    rng = np.random.default_rng(n)
    realised = [
        np.mean(rng.gamma(2.0, size=4000) > false_alarm_threshold(rng.gamma(2.0, size=n)))
        for _ in range(400)
    ]
    assert 0.005 <= np.mean(realised) <= 0.0105
    expected = (n + 1 - np.ceil((n + 1) * 0.99)) / (n + 1)
    assert np.mean(realised) == pytest.approx(expected, abs=0.0015)


def test_false_alarm_threshold_validation() -> None:
    with pytest.raises(ConfigError, match="normal_scores: got an empty array"):
        false_alarm_threshold([])
    with pytest.raises(ConfigError, match="normal_scores: 1 non-finite"):
        false_alarm_threshold([0.0, np.nan, 1.0])
    with pytest.raises(ConfigError, match=r"normal_scores: expected a 1-D array"):
        false_alarm_threshold(np.zeros((2, 2)))
    for bad in (0.0, 1.0, -0.1, 1.5):
        with pytest.raises(ConfigError, match=r"target_far: got .*use a rate in \(0, 1\)"):
            false_alarm_threshold([0.0, 1.0], target_far=bad)


def test_f1_optimal_threshold_separable() -> None:
    labels = np.array([0, 0, 0, 1, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.8, 0.9])
    threshold = f1_optimal_threshold(labels, scores)
    assert threshold == pytest.approx(0.55)
    assert np.array_equal(scores > threshold, labels.astype(bool))


def test_f1_optimal_threshold_overlapping_known_answer() -> None:
    # Cuts: >0.35 -> P=2/3, R=1, F1=0.8 (best); >0.65 -> P=1, R=1/2, F1=2/3.
    labels = np.array([0, 0, 1, 0, 1])
    scores = np.array([0.1, 0.3, 0.4, 0.6, 0.7])
    threshold = f1_optimal_threshold(labels, scores)
    assert threshold == pytest.approx(0.35)


def test_f1_optimal_threshold_all_predicted_anomalous() -> None:
    labels = np.array([1, 1, 1, 0])
    scores = np.array([0.5, 0.6, 0.7, 0.8])
    threshold = f1_optimal_threshold(labels, scores)
    assert threshold < 0.5
    assert np.all(scores > threshold)


def test_f1_optimal_threshold_validation() -> None:
    with pytest.raises(ConfigError, match="labels: only class 0 present"):
        f1_optimal_threshold([0, 0], [0.1, 0.2])
    with pytest.raises(ConfigError, match=r"labels: shape \(3,\) does not match scores shape"):
        f1_optimal_threshold([0, 1, 1], [0.1, 0.2])
    with pytest.raises(ConfigError, match=r"labels: values \[2\] are not binary"):
        f1_optimal_threshold([0, 2], [0.1, 0.2])
    with pytest.raises(ConfigError, match="scores: 1 non-finite"):
        f1_optimal_threshold([0, 1], [0.1, np.inf])
