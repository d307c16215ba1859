"""Severity in 0-1: how far into the normal score distribution's tail an item lies.

``severity = 1 - p`` where ``p`` is the probability that a *normal* item scores at least as high.
Within the observed normal scores ``p`` is empirical, ``(1 + #{normal > s}) / (n + 1)``; beyond
the highest normal score an exponential tail fitted to the largest normal scores (the
peaks-over-threshold idea, with a shape of 0) continues it, so severity keeps growing instead of
saturating at the last observed score.

The tail is *predictive*: its scale is estimated from few excesses, and plugging that estimate in
as if it were exact makes thresholds far beyond the data optimistic (with 6 normal scores the
plug-in threshold for 1 % let about 6 % of fresh normals through). For an exponential tail with
scale estimated as the mean of ``m`` excesses, a fresh excess ``x`` satisfies
``P(x > c * scale_hat) = (1 + c / m) ** -m`` exactly (the scale estimate is a Gamma(m) variable;
average ``exp(-c * scale_hat / scale)`` over it), which tends to ``exp(-c)`` as ``m`` grows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from anomaly_diffusion.errors import DataError

TAIL_FRACTION = 0.2
"""Share of the highest normal scores the tail is fitted to."""


@dataclass(frozen=True)
class NormalTail:
    """Sorted held-out normal scores and the exponential tail fitted above them.

    Attributes:
        scores: ``(n,)`` sorted normal scores.
        scale: Mean excess of the top ``TAIL_FRACTION`` scores over the lowest of them (score
            units).
    """

    scores: np.ndarray
    scale: float

    @property
    def dof(self) -> int:
        """Excesses behind ``scale`` (``m`` of the module doc): the top ``k`` scores give
        ``k - 1`` excesses over the lowest of them."""
        return _tail_size(self.scores.size) - 1

    @classmethod
    def fit(cls, normal_scores: np.ndarray) -> NormalTail:
        """Fit from held-out normal scores (>= 2).

        Raises:
            DataError: fewer than 2 finite scores.
        """
        s = np.sort(np.asarray(normal_scores, dtype=np.float64))
        s = s[np.isfinite(s)]
        if s.size < 2:
            raise DataError(
                f"severity needs >= 2 held-out normal scores, got {s.size}; add normal data"
            )
        k = _tail_size(s.size)
        top = s[-k:]
        # The k - 1 excesses over the k-th highest score are i.i.d. under an exponential tail:
        # their mean is the unbiased scale estimate.
        scale = float(np.sum(top - top[0]) / (k - 1))
        spread = float(s[-1] - s[0])
        scale = max(scale, 1e-3 * spread, 1e-12)
        return cls(scores=s, scale=scale)

    def tail_probability(self, scores: np.ndarray) -> np.ndarray:
        """``P(normal score >= s)`` for each score, ``(N,)`` in ``(0, 1]``."""
        s = np.asarray(scores, dtype=np.float64)
        n = self.scores.size
        above = n - np.searchsorted(self.scores, s, side="right")
        p = (1.0 + above) / (n + 1.0)
        beyond = s > self.scores[-1]
        m = self.dof
        excess = (s[beyond] - self.scores[-1]) / self.scale
        p[beyond] = (1.0 + excess / m) ** -m / (n + 1.0)
        return np.minimum(p, 1.0)

    def score_at(self, probability: float) -> float:
        """The score whose tail probability is ``probability``, for a probability below
        ``1 / (n + 1)`` (beyond the highest normal score, from the fitted tail)."""
        n = self.scores.size
        if not 0.0 < probability < 1.0 / (n + 1.0):
            raise DataError(
                f"score_at: probability {probability!r} is not in (0, 1/(n+1)) for n={n} "
                "normal scores; use the empirical quantile instead"
            )
        m = self.dof
        c = m * ((1.0 / (probability * (n + 1.0))) ** (1.0 / m) - 1.0)
        return float(self.scores[-1] + self.scale * c)

    def severity(self, scores: np.ndarray) -> np.ndarray:
        """``1 - tail_probability``: 0 = typical of normal data, towards 1 = far beyond it."""
        return 1.0 - self.tail_probability(scores)


def _tail_size(n: int) -> int:
    """Top scores the tail is fitted to: ``TAIL_FRACTION`` of ``n``, at least 2."""
    return max(2, int(np.ceil(TAIL_FRACTION * n)))
