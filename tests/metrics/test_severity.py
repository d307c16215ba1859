"""Severity: empirical tail probability of normal scores, with a fitted tail beyond them."""

from __future__ import annotations

import numpy as np
import pytest

from anomaly_diffusion.errors import DataError
from anomaly_diffusion.metrics.severity import NormalTail


def test_normal_scores_get_uniform_severities_and_alarms_land_in_the_tail():
    rng = np.random.default_rng(0)
    tail = NormalTail.fit(rng.standard_normal(2000))
    fresh = tail.severity(rng.standard_normal(20_000))
    # for new normal scores the severity is ~uniform: P(severity > 0.99) is ~1 %
    assert np.mean(fresh > 0.99) == pytest.approx(0.01, abs=0.004)
    assert np.mean(fresh > 0.5) == pytest.approx(0.5, abs=0.02)
    assert tail.severity(np.array([-10.0]))[0] < 0.001


def test_severity_is_monotonic_and_does_not_saturate_beyond_the_last_normal_score():
    rng = np.random.default_rng(1)
    normal = rng.exponential(1.0, 500)
    tail = NormalTail.fit(normal)
    grid = np.linspace(0, normal.max() + 10, 400)
    sev = tail.severity(grid)
    assert (np.diff(sev) >= 0).all() and (sev <= 1).all() and (sev >= 0).all()
    top = normal.max()
    far = tail.tail_probability(np.array([top + 1.0, top + 2.0, top + 4.0]))
    assert far[0] > far[1] > far[2] > 0  # still ordered, not clipped to one value
    # exponential normal scores: the fitted tail's scale is close to the true one (1.0)
    assert tail.scale == pytest.approx(1.0, rel=0.3)
    # continuous at the last normal score
    edge = tail.tail_probability(np.array([top, top + 1e-9]))
    assert edge[0] == pytest.approx(edge[1], rel=1e-6)


def test_severity_needs_two_normal_scores():
    with pytest.raises(DataError, match=">= 2 held-out normal scores"):
        NormalTail.fit(np.array([1.0]))
