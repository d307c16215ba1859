"""Threshold calibration of the detector: realised false-alarm rates on known score
distributions, per-asset / per-condition thresholds and the F1 option (no training needed: the
maps are stubbed so that each window's score is a known draw)."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from anomaly_diffusion.config import ScoringConfig, ThresholdConfig
from anomaly_diffusion.data.dataset import Item
from anomaly_diffusion.data.windows import Window
from anomaly_diffusion.detector import DetectorConfig, DiffusionAnomalyDetector
from anomaly_diffusion.metrics import false_alarm_threshold


class KnownScores(DiffusionAnomalyDetector):
    """A detector whose map of a window is constant at its first feature value (its score)."""

    def raw_maps(self, windows, *, seed=0):
        return [np.full((1, 4, 4), w.features[0, 0, 0], dtype=np.float32) for w in windows]


def _windows(scores, asset="", conditions=()) -> list[Window]:
    return [
        Window(
            features=np.full((1, 4, 4), s, dtype=np.float32),
            item=Item(f"{asset}_{i}.wav", asset=asset, conditions=conditions),
        )
        for i, s in enumerate(scores)
    ]


def _detector(**threshold) -> KnownScores:
    scoring = ScoringConfig(smoothing_sigma=0.0, aggregation="max")
    return KnownScores(DetectorConfig(scoring=scoring, threshold=ThresholdConfig(**threshold)))


def _far(det, windows) -> float:
    result = det.score(windows)
    return float(result.is_anomaly.mean())


def test_realised_false_alarm_rate_on_a_known_distribution():
    rng = np.random.default_rng(0)
    for target in (0.01, 0.05):
        det = _detector(false_alarm_rate=target).calibrate(_windows(rng.gamma(2.0, size=3000)))
        assert det.threshold_ == pytest.approx(
            float(np.quantile(rng.gamma(2.0, size=10**6), 1 - target)), rel=0.1
        )
        fresh = _far(det, _windows(rng.gamma(2.0, size=20_000)))
        assert target / 2 <= fresh <= 2 * target  # the "within 2x of the target"


def test_per_asset_thresholds_keep_each_asset_at_the_target():
    rng = np.random.default_rng(1)
    quiet = _windows(rng.normal(0, 1, 2000), asset="pump_1")
    loud = _windows(rng.normal(10, 1, 2000), asset="pump_2")
    few = _windows(rng.normal(5, 1, 5), asset="pump_3")  # too few for its own threshold
    det = _detector(per="asset").calibrate(quiet + loud + few)
    assert set(det.group_thresholds_) == {"pump_1", "pump_2"}
    assert det.group_thresholds_["pump_1"] == pytest.approx(2.33, abs=0.25)
    assert det.group_thresholds_["pump_2"] == pytest.approx(12.33, abs=0.25)
    for asset, mean in (("pump_1", 0), ("pump_2", 10)):
        assert 0.005 <= _far(det, _windows(rng.normal(mean, 1, 20_000), asset=asset)) <= 0.02
    # one global threshold would silence pump_1 and alarm on pump_2 far too often
    glob = _detector().calibrate(quiet + loud + few)
    assert _far(glob, _windows(rng.normal(0, 1, 5000), asset="pump_1")) == 0.0
    # an unseen asset and the small one use the global threshold
    result = det.score(_windows([0.0], asset="pump_9") + few[:1])
    assert np.all(result.threshold == det.threshold_)


def test_per_condition_thresholds():
    rng = np.random.default_rng(2)
    slow = _windows(rng.normal(0, 1, 500), conditions=(("speed", "slow"),))
    fast = _windows(rng.normal(4, 1, 500), conditions=(("speed", "fast"),))
    det = _detector(per="speed").calibrate(slow + fast)
    assert det.group_thresholds_["fast"] - det.group_thresholds_["slow"] == pytest.approx(
        4, abs=0.6
    )
    table = det.score(fast[:3] + slow[:3]).threshold
    assert list(table) == [det.group_thresholds_["fast"]] * 3 + [det.group_thresholds_["slow"]] * 3


def test_f1_threshold_uses_labelled_anomalies():
    rng = np.random.default_rng(3)
    normal = _windows(rng.normal(0, 1, 400))
    anomalous = _windows(rng.normal(3, 1, 100), asset="bad")
    det = _detector(method="f1").calibrate(normal, anomalous=anomalous)
    fa = false_alarm_threshold([w.features[0, 0, 0] for w in normal], target_far=0.01)
    assert 0.8 < det.threshold_ < fa  # trades false alarms for recall: lower than the 1 % cut


def test_f1_without_anomalies_never_collapses(caplog):
    rng = np.random.default_rng(4)
    normal = _windows(rng.normal(0, 1, 400))
    with caplog.at_level(logging.WARNING):
        det = _detector(method="f1").calibrate(normal)
    scores = [w.features[0, 0, 0] for w in normal]
    assert det.threshold_ == false_alarm_threshold(scores, target_far=0.01)
    assert det.threshold_ > np.quantile(scores, 0.9)
    assert "no anomalies" in caplog.text


def test_threshold_config_errors():
    from anomaly_diffusion.errors import ConfigError

    with pytest.raises(ConfigError, match=r"threshold\.false_alarm_rate=1\.5"):
        ThresholdConfig(false_alarm_rate=1.5)
    with pytest.raises(ConfigError, match=r"threshold\.method=.best."):
        ThresholdConfig(method="best")
