"""The alarm rule shared by every model (anomaly_diffusion/calibration.py): per-group
thresholds *and* severity tails, per-group F1 thresholds, and the baselines on the same rule."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from anomaly_diffusion.baselines.detector import BaselineDetector
from anomaly_diffusion.calibration import fit_alarm_rule, group_key
from anomaly_diffusion.config import FeatureConfig, ThresholdConfig
from anomaly_diffusion.data.dataset import Item
from anomaly_diffusion.data.windows import Window
from anomaly_diffusion.detector import DetectorConfig
from anomaly_diffusion.metrics.thresholds import false_alarm_threshold


def _two_groups(rng, n=300):
    """Group ``quiet`` scores ~N(0, 1), group ``loud`` ~N(10, 1): one global rule fits neither."""
    scores = np.r_[rng.normal(0, 1, n), rng.normal(10, 1, n)]
    keys = ["quiet"] * n + ["loud"] * n
    return scores, keys


def test_each_group_gets_its_own_threshold_and_severity_tail():
    scores, keys = _two_groups(np.random.default_rng(0))
    rule = fit_alarm_rule(scores, keys, ThresholdConfig(per="asset", min_group_windows=20))
    assert rule.group_thresholds["quiet"] == false_alarm_threshold(scores[:300], target_far=0.01)
    assert rule.group_thresholds["loud"] == false_alarm_threshold(scores[300:], target_far=0.01)
    # a score of 10 is typical of 'loud' and far beyond anything 'quiet' does
    sev = rule.severity(np.array([10.0, 10.0, 1.0]), ["loud", "quiet", "unseen"])
    assert 0.3 < sev[0] < 0.7 and sev[1] > 0.999
    assert sev[2] == pytest.approx(rule.tail.severity(np.array([1.0]))[0])  # global fallback
    # the issue #15 bug: with the global tail, 'loud' normals all looked severe
    assert rule.tail.severity(np.array([10.0]))[0] > 0.7
    # too few windows: no group of its own
    few = fit_alarm_rule(scores, keys, ThresholdConfig(per="asset", min_group_windows=301))
    assert few.group_thresholds == {} and few.group_tails == {}
    assert np.isscalar(few.thresholds(["loud"]))


def test_f1_thresholds_are_fit_per_group_from_that_groups_anomalies():
    rng = np.random.default_rng(1)
    scores, keys = _two_groups(rng)
    bad = np.r_[rng.normal(4.5, 0.3, 30), rng.normal(14.5, 0.3, 30)]
    bad_keys = ["quiet"] * 30 + ["loud"] * 30
    cfg = ThresholdConfig(per="asset", method="f1")
    rule = fit_alarm_rule(scores, keys, cfg, anomalous_scores=bad, anomalous_keys=bad_keys)
    assert 3.0 < rule.group_thresholds["quiet"] < 4.5  # between its normals and anomalies
    assert 13.0 < rule.group_thresholds["loud"] < 14.5
    # a group without anomalies keeps its false-alarm threshold
    only_loud = fit_alarm_rule(
        scores, keys, cfg, anomalous_scores=bad[30:], anomalous_keys=bad_keys[30:]
    )
    assert only_loud.group_thresholds["quiet"] == false_alarm_threshold(
        scores[:300], target_far=0.01
    )


def _windows(rng, n, asset, level):
    return [
        Window(
            features=(level + 0.05 * rng.normal(size=(1, 8, 8))).astype(np.float32),
            item=Item(f"/plant/{asset}/{i}.png", asset=asset),
        )
        for i in range(n)
    ]


def test_baselines_follow_threshold_per_like_the_diffusion_model():
    rng = np.random.default_rng(2)
    cfg = DetectorConfig("camera", features=FeatureConfig(kind="frame", image_size=(8, 8)))
    cfg = replace(cfg, threshold=ThresholdConfig(per="asset", min_group_windows=10))
    det = BaselineDetector("pca", cfg)
    det.fit(_windows(rng, 40, "a", 0.3) + _windows(rng, 40, "b", 0.7))
    det.calibrate(_windows(rng, 30, "a", 0.3) + _windows(rng, 30, "b", 0.7))
    assert set(det.alarm_rule_.group_thresholds) == set(det.alarm_rule_.group_tails) == {"a", "b"}
    test = _windows(rng, 3, "a", 0.3) + _windows(rng, 3, "b", 0.7)
    result = det.score(test)
    expected = [det.alarm_rule_.group_thresholds[group_key(w.item, "asset")] for w in test]
    np.testing.assert_array_equal(result.threshold, expected)
    np.testing.assert_allclose(
        result.severity, det.alarm_rule_.severity(result.scores, ["a"] * 3 + ["b"] * 3)
    )
    assert det.threshold_ == det.alarm_rule_.threshold and det.normal_tail_ is det.alarm_rule_.tail


def test_held_out_resolution_counts_units_not_windows():
    from anomaly_diffusion.calibration import held_out_resolution

    enough = held_out_resolution(120, 120, 0.01)
    assert enough["resolved"] and enough["units_needed"] == 99 and enough["note"] == ""
    # CWRU with the vibration preset: 2 windows from the one held-out segment
    cwru = held_out_resolution(2, 1, 0.01)
    assert not cwru["resolved"] and "extrapolated from the normal tail" in cwru["note"]
    assert "2 window(s) from 1 file(s)/segment(s)" in cwru["note"]
    # many windows from few files: correlated windows, still not resolved
    few = held_out_resolution(500, 10, 0.01)
    assert not few["resolved"] and "correlated windows" in few["note"]
    assert held_out_resolution(20, 20, 0.05)["resolved"]  # 5 % needs 19


def test_tuning_and_calibration_get_disjoint_held_out_files(caplog):
    from anomaly_diffusion.calibration import split_held_out

    def win(path, start=None):
        return Window(
            features=np.zeros((1, 2, 2), np.float32), item=Item(path), start_s=start, end_s=None
        )

    files = [win(f"/h/{i}.wav", s) for i in range(10) for s in (0.0, 1.0)]  # 2 windows a file
    tune, calibrate = split_held_out(files, share=0.5, seed=0)
    tune_files = {w.item.path for w in tune}
    assert len(tune_files) == 5 and not tune_files & {w.item.path for w in calibrate}
    assert len(tune) + len(calibrate) == 20
    assert split_held_out(files, share=0.5, seed=0) == (tune, calibrate)  # seeded
    # one long held-out segment: cut in time, the later windows calibrate (the "future")
    one = [win("/h/long.wav", float(t)) for t in range(20)]
    early, late = split_held_out(one[::-1], share=0.5, seed=0)
    assert [w.start_s for w in early] == list(range(10))
    assert [w.start_s for w in late] == list(range(10, 20))
    # too few to split: nothing tunes (never the calibration data), all calibrate, and the
    # log says so
    few = one[:5]
    with caplog.at_level("WARNING"):
        assert split_held_out(few, share=0.5, seed=0) == ([], few)
    assert "scoring settings stay as configured" in caplog.text
