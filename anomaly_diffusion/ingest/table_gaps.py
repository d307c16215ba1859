"""Gaps in sensor tables: time jumps and runs of blank cells, which are interpolated up to a limit
and split the recording into segments beyond it, each summarised as a human-readable note."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

_MAX_LISTED_GAPS = 5


def mark_long_gaps(
    t_valid: np.ndarray, out_t: np.ndarray, max_gap: float, bad: np.ndarray, cut: np.ndarray
) -> np.ndarray:
    """Samples of ``out_t`` strictly inside gaps longer than ``max_gap`` between consecutive
    valid times (returned as a mask and added to ``bad``); ``cut`` marks where segments restart.
    """
    inside = np.zeros(out_t.size, dtype=bool)
    long = np.flatnonzero(np.diff(t_valid) > max_gap)
    if long.size == 0:
        return inside
    lo = np.searchsorted(out_t, t_valid[long], side="right")
    hi = np.searchsorted(out_t, t_valid[long + 1], side="left")
    delta = np.zeros(out_t.size + 1, dtype=np.int64)
    np.add.at(delta, lo, 1)
    np.add.at(delta, hi, -1)
    inside = np.cumsum(delta[:-1]) > 0
    bad |= inside
    cut[lo[lo < out_t.size]] = True
    return inside


def segments(bad: np.ndarray, cut: np.ndarray) -> list[tuple[int, int]]:
    """Maximal ``[start, stop)`` runs of good samples, also split where ``cut`` is set."""
    good = ~bad
    starts = good & (np.r_[True, ~good[:-1]] | cut)
    begin = np.flatnonzero(starts)
    stops = np.flatnonzero(good & np.r_[starts[1:] | ~good[1:], True]) + 1
    return [(int(a), int(b)) for a, b in zip(begin, stops, strict=True)]


@dataclass
class _Gap:
    row: int  # file row number where the gap starts (first blank row, or the row after a jump)
    length_s: float
    what: str


@dataclass
class _Tally:
    """Count, longest and first of many gaps (kept as numbers: a table may have millions)."""

    count: int = 0
    longest: float = 0.0
    first_row: int | None = None
    first_column: str | None = None

    def add(self, rows: np.ndarray, lengths: np.ndarray, column: str | None) -> None:
        if rows.size == 0:
            return
        self.count += int(rows.size)
        self.longest = max(self.longest, float(lengths.max()))
        if self.first_row is None or int(rows[0]) < self.first_row:
            self.first_row, self.first_column = int(rows[0]), column

    def merged(self, other: _Tally) -> _Tally:
        out = _Tally(self.count, self.longest, self.first_row, self.first_column)
        if other.count:
            out.add(np.array([other.first_row]), np.array([other.longest]), other.first_column)
            out.count += other.count - 1
        return out


class Gaps:
    """Collects time jumps and blank-cell runs and words them as notes."""

    def __init__(
        self,
        path: Path,
        seconds: np.ndarray,
        step: float,
        max_gap: float,
        first_row: int,
        *,
        resampled: bool,
    ) -> None:
        self.path, self.seconds, self.max_gap = path, seconds, max_gap
        self.first_row, self.resampled = first_row, resampled
        self.short, self.jumps = _Tally(), _Tally()
        self.long: list[_Gap] = []
        self.n_long = 0
        self.edges: list[str] = []
        steps = np.diff(seconds)
        index = np.flatnonzero(steps > 1.5 * step)
        lengths, rows = steps[index], index + 1 + first_row
        is_long = lengths > max_gap
        self.jumps.add(rows[~is_long], lengths[~is_long], None)
        self._add_long(rows[is_long], lengths[is_long], lambda j: "time jump")

    def _add_long(self, rows: np.ndarray, lengths: np.ndarray, describe) -> None:
        self.n_long += int(rows.size)
        for j in range(min(rows.size, _MAX_LISTED_GAPS)):
            self.long.append(_Gap(int(rows[j]), float(lengths[j]), describe(j)))

    def add_blank_runs(self, name: str, blank: np.ndarray) -> None:
        """Runs of blank cells in column ``name`` (``blank``: one bool per row)."""
        edges = np.diff(np.r_[np.int8(0), blank.astype(np.int8), np.int8(0)])
        starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        n, row0 = blank.size, self.first_row
        if starts.size and starts[0] == 0:
            self.edges.append(
                f"column {name!r} has no value before row {stops[0] + row0}; those rows are "
                "left out of the segments"
            )
        if stops.size and stops[-1] == n:
            self.edges.append(
                f"column {name!r} has no value from row {starts[-1] + row0}; those rows are "
                "left out of the segments"
            )
        inner = (starts > 0) & (stops < n)
        a, b = starts[inner], stops[inner]
        lengths = self.seconds[b] - self.seconds[a - 1]
        is_long = lengths > self.max_gap
        self.short.add(a[~is_long] + row0, lengths[~is_long], name)
        a_long, b_long = a[is_long], b[is_long]

        def describe(j: int) -> str:
            first, last = a_long[j] + row0, b_long[j] - 1 + row0
            return f"blank cells in {name!r}, row {first}" + (f"-{last}" if last > first else "")

        self._add_long(a_long + row0, lengths[is_long], describe)

    def notes(self) -> list[str]:
        notes = []
        short = self.short.merged(self.jumps) if self.resampled else self.short
        if short.count:
            where = f"row {short.first_row}" + (
                "" if short.first_column is None else f", column {short.first_column!r}"
            )
            notes.append(
                f"{short.count} gap(s) up to {short.longest:.3g} s interpolated (first at {where})"
            )
        if self.jumps.count and not self.resampled:
            notes.append(
                f"{self.jumps.count} time jump(s) up to {self.jumps.longest:.3g} s (first at row "
                f"{self.jumps.first_row}) kept as they are (rows are not resampled; set "
                "source.table_rate=<Hz> to put them on a regular grid)"
            )
        for gap in sorted(self.long, key=lambda g: g.row)[:_MAX_LISTED_GAPS]:
            notes.append(
                f"gap of {gap.length_s:.3g} s ({gap.what}) at row {gap.row} splits the "
                f"recording (longer than max_gap_s={self.max_gap:.3g} s; raise "
                "source.max_gap_s to interpolate it)"
            )
        if self.n_long > _MAX_LISTED_GAPS:
            notes.append(f"... and {self.n_long - _MAX_LISTED_GAPS} more gap(s) that split it")
        notes.extend(self.edges)
        return notes
