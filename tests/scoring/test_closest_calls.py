"""Closest calls: the non-alarm items nearest to their threshold, over a table and a stream."""

from __future__ import annotations

import numpy as np

from anomaly_diffusion.scoring.closest_calls import RunningClosestCalls, closest_calls, margins


def test_closest_calls_rank_by_margin_and_skip_alarms_and_missing():
    scores = np.array([0.9, 0.4, np.nan, 0.7, 2.0, 0.45])
    thresholds = np.array([1.0, 0.5, 0.5, 1.0, 1.0, 0.5])  # per-asset thresholds
    alarm = scores > thresholds
    np.testing.assert_allclose(margins(scores, thresholds)[[0, 1, 3]], [-0.1, -0.1, -0.3])
    assert np.isnan(margins(scores, thresholds)[2])
    # margins -0.1 (0), -0.1 (1), -0.3 (3), -0.05 (5); item 4 is an alarm, item 2 unscored
    assert closest_calls(scores, thresholds, alarm, 3).tolist() == [5, 0, 1]
    assert closest_calls(scores, thresholds, alarm, 10).tolist() == [5, 0, 1, 3]
    assert closest_calls(scores, thresholds, alarm, 0).tolist() == []


def test_running_top_n_equals_the_whole_table_and_evicts_exactly_the_rest():
    rng = np.random.default_rng(0)
    m = rng.normal(size=500).round(1)  # many ties: the earlier item wins
    running = RunningClosestCalls(7)
    kept: set[int] = set()
    for key, margin in enumerate(m):
        admitted, evicted = running.offer(key, margin)
        assert not set(evicted) - kept  # only kept items are ever evicted
        kept -= set(evicted)
        if admitted:
            kept.add(key)
        assert len(kept) <= 7
    expected = closest_calls(m, np.zeros_like(m), np.zeros(len(m), bool), 7).tolist()
    assert running.keys() == expected and kept == set(expected)
    assert RunningClosestCalls(0).offer("a", 1.0) == (False, [])
    assert RunningClosestCalls(3).offer("a", float("nan")) == (False, [])
