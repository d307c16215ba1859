"""Process-sensor tables: CSV/Parquet with a timestamp column and numeric sensor columns.

The file is read block by block (:mod:`anomaly_diffusion.ingest.table_columns`). Gaps (time
steps longer than 1.5x the median step, blank cells) up to ``max_gap_s`` are linearly
interpolated; longer ones split the recording into ``Recording.segments`` and every gap is
summarised in ``Recording.notes`` (:mod:`anomaly_diffusion.ingest.table_gaps`). With
``table_rate`` every sensor is resampled onto a regular time grid.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from anomaly_diffusion.errors import DataError
from anomaly_diffusion.ingest.checks import check_file
from anomaly_diffusion.ingest.recording import Recording
from anomaly_diffusion.ingest.table_columns import TableColumns, read_columns
from anomaly_diffusion.ingest.table_gaps import Gaps, mark_long_gaps, segments

TABLE_SUFFIXES = (".csv", ".parquet")
_MAX_GRID_BYTES = 2 * 1024**3


def read_table(
    path: str | Path,
    *,
    timestamp_column: str | None = None,
    label_column: str | None = None,
    columns: tuple[str, ...] | None = None,
    exclude_columns: tuple[str, ...] = (),
    table_rate: float | None = None,
    max_gap_s: float | None = None,
    start_s: float | None = None,
    end_s: float | None = None,
    asset: str = "",
) -> Recording:
    """Read a sensor table as float32 ``(S, N)`` (S sensors, N rows or grid samples).

    Args:
        timestamp_column: Name of the time column (numbers in s, or date-times); ``None``: the
            first column named timestamp/time/datetime/date/ts.
        label_column: Optional per-row 0/1 label column; resampled as the max label of the
            rows nearest each grid sample, so a labelled row is never lost.
        columns, exclude_columns: Which columns are sensors (see
            :func:`~anomaly_diffusion.ingest.table_columns.read_columns`).
        table_rate: Resample every sensor to this rate (Hz) on the grid ``t0 + k / table_rate``;
            ``None``: keep the rows (``rate`` is then the median rate of the timestamps).
        max_gap_s: Longest gap interpolated (default 5x the median time step); longer gaps
            are left as NaN / time jumps and split the recording into ``segments``.
        start_s, end_s: Keep only the rows with ``start_s <= t < end_s`` (s from the first
            row), e.g. a manifest segment; ``None``: from the start / to the end.

    Raises:
        DataError: unreadable table, missing timestamp, non-numeric sensor values, infinite
            values, an empty sensor column, duplicate or non-monotonic timestamps, a segment
            without rows.
    """
    path = Path(path)
    check_file(path)
    cols = read_columns(
        path,
        timestamp_column=timestamp_column,
        label_column=label_column,
        columns=columns,
        exclude_columns=exclude_columns,
    )
    cols, offset_s, first_row = _crop(path, cols, start_s, end_s)
    seconds, channels = cols.seconds, cols.channels
    if seconds.size < 2 and table_rate is None:
        raise DataError(
            f"{path}: only one data row{' in the segment' if start_s or end_s else ''}: its "
            "sampling interval cannot be told from one timestamp; export at least two rows "
            "(or set source.table_rate=<Hz>)"
        )
    step = float(np.median(np.diff(seconds))) if seconds.size > 1 else 1.0 / table_rate
    max_gap = max_gap_s if max_gap_s is not None else 5.0 * step
    gaps = Gaps(path, seconds, step, max_gap, first_row, resampled=table_rate is not None)
    if table_rate is None:
        out_t, rate = seconds, 1.0 / step
    else:
        out_t, rate = _grid(path, seconds, table_rate, len(channels)), float(table_rate)
    values, bad, cut = _fill(path, cols, out_t, max_gap, gaps, resample=table_rate is not None)
    labels = cols.labels
    if labels is not None and table_rate is not None:
        labels = _grid_labels(labels, seconds, out_t, rate)
    found = segments(bad, cut)
    if not found:
        raise DataError(
            f"{path}: no stretch of the table has a value for every sensor; "
            "fill the blank cells or raise source.max_gap_s"
        )
    notes = gaps.notes()
    whole = found == [(0, out_t.size)]
    if not whole:
        kept = sum(b - a for a, b in found)
        notes.append(
            f"{len(found)} segment(s) of {kept} valid sample(s) out of {out_t.size}; "
            "score within the segments only"
        )
    return Recording(
        data=values,
        rate=rate,
        channels=channels,
        path=str(path),
        asset=asset,
        kind="table",
        offset_s=offset_s,
        labels=labels,
        segments=None if whole else tuple(found),
        notes=tuple(notes),
        start_time=cols.origin,
    )


def _crop(
    path: Path, cols: TableColumns, start_s: float | None, end_s: float | None
) -> tuple[TableColumns, float, int]:
    """The rows with ``start_s <= t < end_s``, the time of the first kept row (s) and its file
    row number."""
    if start_s is None and end_s is None:
        return cols, 0.0, cols.first_row
    t = cols.seconds
    lo = 0 if start_s is None else int(np.searchsorted(t, start_s - 1e-9, side="left"))
    hi = t.size if end_s is None else int(np.searchsorted(t, end_s - 1e-9, side="left"))
    if hi - lo < 1:
        raise DataError(
            f"{path}: segment [{start_s}, {end_s}) s holds no rows (the table spans "
            f"0-{t[-1]:.6g} s); fix start_s/end_s in the manifest"
        )
    offset = float(t[lo])
    kept = dataclasses.replace(
        cols,
        seconds=t[lo:hi] - offset,
        data=cols.data[:, lo:hi],
        labels=None if cols.labels is None else cols.labels[lo:hi],
    )
    return kept, offset, cols.first_row + lo


def _fill(
    path: Path,
    cols: TableColumns,
    out_t: np.ndarray,
    max_gap: float,
    gaps: Gaps,
    *,
    resample: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sensor values at the times ``out_t`` ``(S, len(out_t))`` float32 with short gaps
    interpolated (in place in ``cols.data`` without resampling), the samples inside long gaps
    (``bad``) and where a segment must restart (``cut``)."""
    seconds, data = cols.seconds, cols.data
    values = np.empty((data.shape[0], out_t.size), dtype=np.float32) if resample else data
    bad = np.zeros(out_t.size, dtype=bool)
    cut = np.zeros(out_t.size, dtype=bool)
    across_jump = mark_long_gaps(seconds, out_t, max_gap, bad, cut)
    for s, name in enumerate(cols.channels):
        column = data[s]
        blank = np.isnan(column)
        if not blank.any():
            if resample:
                values[s] = np.interp(out_t, seconds, column)
                values[s, across_jump] = np.nan
            continue
        if blank.all():
            raise DataError(
                f"{path}: column {name!r} has no value; drop the column or fix the export"
            )
        gaps.add_blank_runs(name, blank)
        t_valid, v_valid = seconds[~blank], column[~blank]
        if resample:
            values[s] = np.interp(out_t, t_valid, v_valid, np.nan, np.nan)
        else:
            values[s, blank] = np.interp(seconds[blank], t_valid, v_valid, np.nan, np.nan)
        inside = mark_long_gaps(t_valid, out_t, max_gap, bad, cut)
        values[s, inside] = np.nan
        bad |= np.isnan(values[s])
    return values, bad, cut


def _grid(path: Path, seconds: np.ndarray, table_rate: float, n_sensors: int) -> np.ndarray:
    span = float(seconds[-1] - seconds[0])
    n = int(np.floor(span * table_rate + 1e-6)) + 1
    if n * n_sensors * 4 > _MAX_GRID_BYTES:
        raise DataError(
            f"{path}: source.table_rate={table_rate:g} Hz over {span:.1f} s gives {n} samples "
            f"x {n_sensors} sensors (> {_MAX_GRID_BYTES // 1024**3} GiB); lower "
            "source.table_rate or split the table"
        )
    return seconds[0] + np.arange(n, dtype=np.float64) / table_rate


def _grid_labels(
    labels: np.ndarray, seconds: np.ndarray, grid: np.ndarray, rate: float
) -> np.ndarray:
    """Each grid sample's label: the max label of the rows nearest to it (none is lost)."""
    out = np.zeros(grid.size, dtype=np.int64)
    rows = np.flatnonzero(labels)
    if rows.size:
        index = np.clip(np.floor((seconds[rows] - grid[0]) * rate + 0.5), 0, grid.size - 1)
        np.maximum.at(out, index.astype(np.int64), labels[rows])
    return out
