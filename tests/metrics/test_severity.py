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


def test_tail_beyond_the_last_score_is_predictive_known_answer():
    """n = 5, top 2 scores (3, 5): one excess, scale 2. Beyond 5 the tail is
    (1 + x / (m * scale)) ** -m / (n + 1) with m = 1, not the plug-in exp(-x / scale) / (n + 1):
    a scale from one excess is uncertain, and the tail must be heavier for it."""
    tail = NormalTail.fit(np.array([0.0, 1.0, 2.0, 3.0, 5.0]))
    assert tail.scale == pytest.approx(2.0) and tail.dof == 1
    assert tail.tail_probability(np.array([9.0]))[0] == pytest.approx(1 / 18)
    # the score at a probability inverts it
    assert tail.score_at(1 / 18) == pytest.approx(9.0)
    # many excesses: the predictive tail tends to the exponential one
    big = NormalTail.fit(np.random.default_rng(0).exponential(1.0, 5000))
    x = big.scores[-1] + 3 * big.scale
    p = big.tail_probability(np.array([x]))[0]
    assert p == pytest.approx(np.exp(-3.0) / 5001, rel=0.01)
