"""Tests of anomaly_diffusion.metrics.detection."""

from __future__ import annotations

import json

import numpy as np
import pytest

from anomaly_diffusion.errors import ConfigError
from anomaly_diffusion.metrics import auroc_by_defect, bootstrap_auroc_ci, detection_metrics

KEYS = {
    "auroc",
    "pauc",
    "f1",
    "precision",
    "recall",
    "threshold",
    "false_alarm_rate",
    "false_alarm_rate_low",
    "false_alarm_rate_high",
    "n_test_normal",
    "n_test_anomalous",
}


def test_detection_metrics_perfect_separation() -> None:
    labels = np.array([0, 0, 0, 1, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.8, 0.9])
    out = detection_metrics(labels, scores, threshold=0.5)
    assert set(out) == KEYS
    assert out["auroc"] == 1.0
    assert out["pauc"] == 1.0
    assert out["f1"] == out["precision"] == out["recall"] == 1.0
    assert out["false_alarm_rate"] == 0.0
    assert (out["n_test_normal"], out["n_test_anomalous"]) == (3, 2)
    json.dumps(out)


def test_detection_metrics_reversed() -> None:
    labels = np.array([1, 1, 0, 0])
    scores = np.array([0.1, 0.2, 0.8, 0.9])
    out = detection_metrics(labels, scores, threshold=0.5)
    assert out["auroc"] == 0.0
    assert out["pauc"] < 0.5
    assert out["f1"] == out["precision"] == out["recall"] == 0.0
    assert out["false_alarm_rate"] == 1.0


def test_detection_metrics_hand_example() -> None:
    # Alarms (> 0.5): items 1, 2, 4 -> TP = 2 (items 2, 4), FP = 1 (item 1), FN = 1 (item 3).
    labels = [0, 0, 1, 1, 1, 0]
    scores = [0.1, 0.6, 0.7, 0.4, 0.9, 0.2]
    out = detection_metrics(labels, scores, threshold=0.5)
    assert out["precision"] == pytest.approx(2 / 3)
    assert out["recall"] == pytest.approx(2 / 3)
    assert out["f1"] == pytest.approx(2 / 3)
    assert out["false_alarm_rate"] == pytest.approx(1 / 3)
    assert out["auroc"] == pytest.approx(8 / 9)  # 8 of 9 (anomalous, normal) pairs ordered
    assert out["threshold"] == 0.5
    assert all(type(out[k]) is float for k in KEYS - {"n_test_normal", "n_test_anomalous"})
    assert type(out["n_test_normal"]) is int
    json.dumps(out)


def test_detection_metrics_normal_only() -> None:
    out = detection_metrics(np.zeros(4, dtype=int), [0.1, 0.2, 0.6, 0.7], threshold=0.5)
    for key in ("auroc", "pauc", "f1", "precision", "recall"):
        assert out[key] is None
    assert out["false_alarm_rate"] == 0.5
    assert (out["n_test_normal"], out["n_test_anomalous"]) == (4, 0)
    json.dumps(out)


def test_detection_metrics_anomalous_only() -> None:
    out = detection_metrics(np.ones(3, dtype=bool), [0.1, 0.6, 0.7], threshold=0.5)
    for key in ("auroc", "pauc", "f1", "precision", "recall", "false_alarm_rate"):
        assert out[key] is None
    assert out["false_alarm_rate_low"] is None and out["false_alarm_rate_high"] is None
    assert (out["n_test_normal"], out["n_test_anomalous"]) == (0, 3)


def test_detection_metrics_validation() -> None:
    with pytest.raises(ConfigError, match="threshold: got nan"):
        detection_metrics([0, 1], [0.1, 0.2], threshold=float("nan"))
    with pytest.raises(ConfigError, match=r"labels: shape \(1,\) does not match"):
        detection_metrics([0], [0.1, 0.2], threshold=0.5)
    with pytest.raises(ConfigError, match=r"labels: values \[-1\] are not binary"):
        detection_metrics([0, -1], [0.1, 0.2], threshold=0.5)
    with pytest.raises(ConfigError, match="scores: got an empty array"):
        detection_metrics([], [], threshold=0.5)


def test_auroc_by_defect_hand_example() -> None:
    labels = [0, 0, 1, 1, 1, 1]
    scores = [0.1, 0.5, 0.9, 0.8, 0.3, 0.05]
    defects = ["good", "good", "scratch", "scratch", "dent", "dent"]
    out = auroc_by_defect(labels, scores, defects)
    assert list(out) == ["dent", "scratch"]
    assert out["scratch"] == 1.0
    # dent 0.3 beats 0.1 only, dent 0.05 beats none: 1 / 4.
    assert out["dent"] == pytest.approx(0.25)


def test_auroc_by_defect_no_normals_and_validation() -> None:
    assert auroc_by_defect([1, 1], [0.1, 0.2], ["a", "b"]) == {}
    with pytest.raises(ConfigError, match=r"defects: shape \(1,\) does not match scores shape"):
        auroc_by_defect([0, 1], [0.1, 0.2], ["a"])


def test_bootstrap_auroc_ci_contains_point_estimate() -> None:
    rng = np.random.default_rng(0)
    labels = np.r_[np.zeros(200, dtype=int), np.ones(50, dtype=int)]
    scores = rng.normal(size=250) + labels
    point = detection_metrics(labels, scores, threshold=0.0)["auroc"]
    low, high = bootstrap_auroc_ci(labels, scores, n_boot=300, rng=np.random.default_rng(1))
    assert isinstance(low, float) and isinstance(high, float)
    assert low < point < high
    assert 0.05 < high - low < 0.3
    again = bootstrap_auroc_ci(labels, scores, n_boot=300, rng=np.random.default_rng(1))
    assert again == (low, high)


def test_bootstrap_auroc_ci_perfect_separation() -> None:
    labels, scores = [0, 0, 0, 1, 1], [0.1, 0.2, 0.3, 0.8, 0.9]
    assert bootstrap_auroc_ci(labels, scores, n_boot=50, rng=np.random.default_rng(0)) == (1, 1)


def test_bootstrap_auroc_ci_validation() -> None:
    labels, scores = [0, 1], [0.1, 0.2]
    rng = np.random.default_rng(0)
    with pytest.raises(ConfigError, match="n_boot: got 0; use a positive integer"):
        bootstrap_auroc_ci(labels, scores, n_boot=0, rng=rng)
    with pytest.raises(ConfigError, match=r"alpha: got 1.5; use a level in \(0, 1\)"):
        bootstrap_auroc_ci(labels, scores, alpha=1.5, rng=rng)
    with pytest.raises(ConfigError, match=r"rng: got int; pass np\.random\.default_rng"):
        bootstrap_auroc_ci(labels, scores, rng=0)
    with pytest.raises(ConfigError, match="labels: AUROC needs both classes, got 2 normal"):
        bootstrap_auroc_ci([0, 0], scores, rng=rng)


@pytest.mark.parametrize(
    "alarms,n,low,high",
    [(0, 50, 0.0, 0.0711), (3, 50, 0.0125, 0.1655), (2, 150, 0.0016, 0.0473)],
)
def test_false_alarm_rate_interval_is_the_exact_binomial_one(alarms, n, low, high) -> None:
    """Clopper-Pearson 95 % intervals (known values): zero false alarms among 50 normal items
    cannot rule out a rate of 7 %."""
    labels = np.zeros(n, dtype=int)
    scores = np.r_[np.ones(alarms), np.zeros(n - alarms)]
    out = detection_metrics(labels, scores, threshold=0.5)
    assert out["false_alarm_rate"] == pytest.approx(alarms / n)
    assert out["false_alarm_rate_low"] == pytest.approx(low, abs=5e-4)
    assert out["false_alarm_rate_high"] == pytest.approx(high, abs=5e-4)
