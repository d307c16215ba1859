"""Point-wise table metrics and the time-localization hit rate: known answers, then the whole
path from a labelled CSV through windows and evaluation (maps stubbed to the data itself, so
the map peaks exactly where the injected spike is)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from anomaly_diffusion.calibration import AlarmRule
from anomaly_diffusion.config import FeatureConfig, ScoringConfig, SourceConfig
from anomaly_diffusion.data.dataset import Item
from anomaly_diffusion.data.windows import extract_windows
from anomaly_diffusion.detector import DetectorConfig, DiffusionAnomalyDetector
from anomaly_diffusion.jobs.evaluation import evaluate_windows
from anomaly_diffusion.metrics.pointwise import (
    labelled_intervals,
    pointwise_metrics,
    row_scores,
    time_hit_rate,
)


def test_row_scores_take_the_highest_covering_window():
    scores = row_scores(10, [(0, 4), (2, 6), (4, 8)], [1.0, 3.0, 2.0])
    np.testing.assert_array_equal(scores[:8], [1, 1, 3, 3, 3, 3, 2, 2])
    assert np.isnan(scores[8:]).all()


def test_pointwise_metrics_perfect_and_uncovered_rows():
    labels = np.array([0, 0, 1, 1, 0, 0])
    perfect = pointwise_metrics(labels, np.array([0, 0, 5, 5, 0, np.nan]), 1.0)
    assert perfect["pointwise_auroc"] == 1.0 and perfect["pointwise_f1"] == 1.0
    assert perfect["pointwise_rows"] == 5
    inverted = pointwise_metrics(labels, np.array([5, 5, 0, 0, 5, 5.0]), 1.0)
    assert inverted["pointwise_auroc"] == 0.0 and inverted["pointwise_recall"] == 0.0
    rng = np.random.default_rng(0)
    big = rng.integers(0, 2, 20_000)
    random = pointwise_metrics(big, rng.random(20_000), 0.5)
    assert random["pointwise_auroc"] == pytest.approx(0.5, abs=0.02)
    assert pointwise_metrics(np.zeros(3), np.ones(3), 0.5)["pointwise_auroc"] is None


def test_labelled_intervals_and_hit_rate():
    assert labelled_intervals(np.array([1, 1, 0, 0, 1, 0, 1])) == [(0, 2), (4, 5), (6, 7)]
    assert labelled_intervals(np.zeros(4)) == []
    intervals = [(10.0, 12.0), (30.0, 31.0), (50.0, 55.0)]
    assert time_hit_rate(intervals, [11.0, 31.5, 70.0]) == pytest.approx(1 / 3)
    assert time_hit_rate(intervals, [11.0, 31.5, 70.0], tolerance_s=0.5) == pytest.approx(2 / 3)
    assert time_hit_rate([], [1.0]) is None


class DataAsMap(DiffusionAnomalyDetector):
    """Map = the window's own (sensor-mean) values: a spike in the data is the map's peak."""

    def raw_maps(self, windows, *, seed=0):
        return [w.features.mean(axis=1, keepdims=True).repeat(4, axis=1) for w in windows]


def test_labelled_table_evaluation(tmp_path):
    rng = np.random.default_rng(0)
    t = np.arange(2000) * 0.5  # 2 Hz rows, 1000 s
    values = 0.1 * rng.normal(size=(2000, 2))
    labels = np.zeros(2000, dtype=int)
    for start in (300, 1100, 1700):  # three faults of 10 rows; the third too weak to alarm
        labels[start : start + 10] = 1
        values[start + 4 : start + 6] += 5.0 if start < 1700 else 0.15
    frame = pd.DataFrame({"time": t, "a": values[:, 0], "b": values[:, 1], "fault": labels})
    frame.to_csv(tmp_path / "line.csv", index=False)
    features = FeatureConfig(kind="sensor_window", window_seconds=64.0, hop_seconds=32.0)
    source = SourceConfig(label_column="fault")
    windows = extract_windows(Item(str(tmp_path / "line.csv")), source=source, features=features)
    assert all(w.row_labels is not None and len(w.row_labels) == 128 for w in windows)
    # 128-row windows every 64 rows: rows 300-309 lie in the windows starting at rows 192, 256
    assert [w.label for w in windows][2:6] == [0, 1, 1, 0]
    det = DataAsMap(
        DetectorConfig(
            "process",
            source=source,
            features=features,
            scoring=ScoringConfig(smoothing_sigma=0.0, aggregation="max"),
        )
    )
    det.alarm_rule_ = AlarmRule(threshold=1.0, tail=None)
    metrics, _ = evaluate_windows(det, windows)
    assert metrics["time_hit_rate"] == pytest.approx(2 / 3)  # the weak fault is missed
    assert metrics["pointwise_recall"] == pytest.approx(20 / 30)
    assert 0.0 < metrics["pointwise_precision"] < 0.2  # whole windows alarm, not just 10 rows
    # independently: a window scores the max of its rows' sensor mean; a row the max over the
    # windows covering it
    row_means = values.mean(axis=1)
    starts = range(0, 2000 - 128 + 1, 64)
    expected = np.full(2000, -np.inf)
    for a in starts:
        expected[a : a + 128] = np.maximum(expected[a : a + 128], row_means[a : a + 128].max())
    covered = np.isfinite(expected)
    want = roc_auc_score(labels[covered], expected[covered])
    assert metrics["pointwise_auroc"] == pytest.approx(want, abs=1e-4)
