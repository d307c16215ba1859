"""Closest calls: the items that came nearest to an alarm without raising one.

With no alarm an engineer still wants to see what the model found least normal, and how far
below the threshold it stayed. Items are ranked by their margin ``score - threshold`` (in
score units; negative below the threshold), so that per-asset or per-condition thresholds
compare fairly. :func:`closest_calls` ranks a whole table; :class:`RunningClosestCalls` keeps
the top ``n`` while a score job streams chunk by chunk (map PNGs are written for the admitted
items and removed again for the ones pushed out).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Hashable

import numpy as np

__all__ = ["RunningClosestCalls", "closest_calls", "margins"]


def margins(scores: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """``score - threshold`` per item, ``nan`` where either is missing. ``(N,) x 2 -> (N,)``."""
    s = np.asarray(scores, dtype=np.float64)
    t = np.asarray(thresholds, dtype=np.float64)
    out = s - t
    out[~(np.isfinite(s) & np.isfinite(t))] = np.nan
    return out


def closest_calls(
    scores: np.ndarray, thresholds: np.ndarray, is_anomaly: np.ndarray, n: int
) -> np.ndarray:
    """Indices of the ``n`` non-alarm items with the largest margin, closest first (items
    without a finite score or threshold are left out; ties keep the input order)."""
    m = margins(scores, thresholds)
    candidates = np.flatnonzero(~np.asarray(is_anomaly, dtype=bool) & np.isfinite(m))
    order = np.argsort(-m[candidates], kind="stable")
    return candidates[order[: max(0, n)]]


class RunningClosestCalls:
    """The top ``n`` non-alarm items by margin over a stream.

    :meth:`offer` returns whether the item is (for now) among the top ``n`` and the keys it
    pushed out; ties go to the earlier item.
    """

    def __init__(self, n: int) -> None:
        self.n = max(0, int(n))
        self._heap: list[tuple[float, int, Hashable]] = []  # (margin, -arrival, key): min first
        self._arrival = itertools.count()

    def offer(self, key: Hashable, margin: float) -> tuple[bool, list[Hashable]]:
        if self.n == 0 or not np.isfinite(margin):
            return False, []
        entry = (float(margin), -next(self._arrival), key)
        if len(self._heap) < self.n:
            heapq.heappush(self._heap, entry)
            return True, []
        if entry[:2] <= self._heap[0][:2]:
            return False, []
        evicted = heapq.heapreplace(self._heap, entry)
        return True, [evicted[2]]

    def keys(self) -> list[Hashable]:
        """The kept keys, closest call first."""
        return [k for _, _, k in sorted(self._heap, key=lambda e: (-e[0], -e[1]))]
