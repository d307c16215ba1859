"""Process-sensor tables: CSV/Parquet with a timestamp column and numeric sensor columns.

CSV separator (``,``, ``;``, tab, ``|``), decimal mark (``.`` or ``,``) and encoding (UTF-8 or
Latin-1) are detected from the first bytes; the table is then parsed by pandas' C engine straight
into float32 sensor columns. Gaps (time steps longer than 1.5x the median step, blank cells) up
to ``max_gap_s`` are linearly interpolated; longer ones split the recording into
``Recording.segments`` and every gap is summarised in ``Recording.notes``. With ``table_rate``
every sensor is resampled onto a regular time grid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from anomaly_diffusion.errors import DataError
from anomaly_diffusion.ingest.checks import check_file
from anomaly_diffusion.ingest.recording import Recording

TABLE_SUFFIXES = (".csv", ".parquet")
_TIME_NAMES = ("timestamp", "time", "datetime", "date", "ts")
_SNIFF_BYTES = 64 * 1024
_SEPARATORS = ("\t", ";", "|", ",")  # preference order when several split every line evenly
_COMMA_DECIMAL = re.compile(r"^\s*[+-]?\d*,\d+(?:[eE][+-]?\d+)?\s*$")
_DOT_DECIMAL = re.compile(r"^\s*[+-]?\d*\.\d+(?:[eE][+-]?\d+)?\s*$")
_MAX_GRID_BYTES = 2 * 1024**3
_MAX_LISTED_GAPS = 5


def read_table(
    path: str | Path,
    *,
    timestamp_column: str | None = None,
    label_column: str | None = None,
    table_rate: float | None = None,
    max_gap_s: float | None = None,
    asset: str = "",
) -> Recording:
    """Read a sensor table as float32 ``(S, N)`` (S sensors, N rows or grid samples).

    Args:
        timestamp_column: Name of the time column (numbers in s, or date-times); ``None``: the
            first column named timestamp/time/datetime/date/ts.
        label_column: Optional per-row 0/1 label column; resampled as the max label of the
            rows nearest each grid sample, so a labelled row is never lost.
        table_rate: Resample every sensor to this rate (Hz) on the grid ``t0 + k / table_rate``;
            ``None``: keep the rows (``rate`` is then the median rate of the timestamps).
        max_gap_s: Longest gap interpolated (default 5x the median time step); longer gaps
            are left as NaN / time jumps and split the recording into ``segments``.

    Raises:
        DataError: unreadable table, missing timestamp, non-numeric sensor values, infinite
            values, an empty sensor column, duplicate or non-monotonic timestamps.
    """
    path = Path(path)
    check_file(path)
    frame, first_row, decimal = _read_frame(path, timestamp_column)
    if len(frame) == 0:
        raise DataError(f"{path}: the table has a header but no data rows; re-export it")
    time_col = _time_column(path, frame, timestamp_column)
    seconds = _seconds(path, frame.pop(time_col), first_row)
    labels = None
    if label_column is not None:
        if label_column not in frame.columns:
            raise DataError(
                f"{path}: label column {label_column!r} not found; set "
                f"source.label_column=<one of {[str(c) for c in frame.columns]}> or null"
            )
        labels = _labels(path, frame.pop(label_column), label_column, first_row, decimal)
    notes: list[str] = []
    empty_extra = [
        c for c in frame.columns if str(c).startswith("Unnamed:") and frame[c].isna().all()
    ]
    if empty_extra:  # trailing separators in the export
        frame = frame.drop(columns=empty_extra)
    if frame.shape[1] == 0:
        raise DataError(
            f"{path}: no sensor column besides {time_col!r}; export at least one numeric column"
        )
    channels = tuple(str(c) for c in frame.columns)
    data = _sensor_matrix(path, frame, first_row, decimal)
    del frame
    step = float(np.median(np.diff(seconds))) if seconds.size > 1 else 1.0
    max_gap = max_gap_s if max_gap_s is not None else 5.0 * step
    gaps = _Gaps(path, seconds, step, max_gap, first_row, resampled=table_rate is not None)
    if table_rate is None:
        out_t, rate = seconds, 1.0 / step
        values = data  # filled in place
    else:
        out_t, rate = _grid(path, seconds, table_rate, len(channels)), float(table_rate)
        values = np.empty((len(channels), out_t.size), dtype=np.float32)
    bad = np.zeros(out_t.size, dtype=bool)
    cut = np.zeros(out_t.size, dtype=bool)  # a segment must (re)start at this sample
    across_jump = _mark_long_gaps(seconds, out_t, max_gap, bad, cut)
    for s, name in enumerate(channels):
        column = data[s]
        blank = np.isnan(column)
        if not blank.any():
            if table_rate is not None:
                values[s] = np.interp(out_t, seconds, column)
                values[s, across_jump] = np.nan
            continue
        if blank.all():
            raise DataError(
                f"{path}: column {name!r} has no value; drop the column or fix the export"
            )
        gaps.add_blank_runs(name, blank)
        t_valid, v_valid = seconds[~blank], column[~blank]
        if table_rate is None:
            values[s, blank] = np.interp(seconds[blank], t_valid, v_valid, np.nan, np.nan)
        else:
            values[s] = np.interp(out_t, t_valid, v_valid, np.nan, np.nan)
        inside = _mark_long_gaps(t_valid, out_t, max_gap, bad, cut)
        values[s, inside] = np.nan
        bad |= np.isnan(values[s])
    del data
    if labels is not None and table_rate is not None:
        labels = _grid_labels(labels, seconds, out_t, rate)
    segments = _segments(bad, cut)
    if not segments:
        raise DataError(
            f"{path}: no stretch of the table has a value for every sensor; "
            "fill the blank cells or raise source.max_gap_s"
        )
    notes.extend(gaps.notes())
    if len(segments) > 1 or segments[0] != (0, out_t.size):
        kept = sum(b - a for a, b in segments)
        notes.append(
            f"{len(segments)} segment(s) of {kept} valid sample(s) out of {out_t.size}; "
            "score within the segments only"
        )
    return Recording(
        data=values,
        rate=rate,
        channels=channels,
        path=str(path),
        asset=asset,
        kind="table",
        labels=labels,
        segments=None if segments == [(0, out_t.size)] else tuple(segments),
        notes=tuple(notes),
    )


# ---------------------------------------------------------------- reading


def _read_frame(path: Path, timestamp_column: str | None) -> tuple[pd.DataFrame, int, str]:
    """The table, the file row number of its first data row (CSV: header is row 1) and the
    decimal mark of text cells."""
    try:
        if path.suffix.lower() == ".parquet":
            return pd.read_parquet(path), 1, "."
        sep, decimal, encoding = _sniff(path)
        options = {
            "sep": sep,
            "decimal": decimal,
            "encoding": encoding,
            "skipinitialspace": True,
            "engine": "c",
        }
        header = pd.read_csv(path, nrows=0, **options).columns
        time_col = timestamp_column or _guess_time(header)
        dtypes = {c: np.float32 for c in header if c != time_col}
        try:  # fast path: numbers parsed straight into float32 columns
            frame = pd.read_csv(path, dtype=dtypes, **options)
        except (ValueError, TypeError):  # a non-numeric cell: read as text to name it
            frame = pd.read_csv(path, dtype={c: object for c in dtypes}, **options)
        return frame, 2, decimal
    except DataError:
        raise
    except Exception as exc:  # pandas raises many types for a bad table
        raise DataError(f"{path}: cannot read table ({exc}); export it as CSV or Parquet") from exc


def _sniff(path: Path) -> tuple[str, str, str]:
    """Separator, decimal mark and encoding of a CSV file, from its first bytes."""
    with path.open("rb") as f:
        raw = f.read(_SNIFF_BYTES)
    full = len(raw) < _SNIFF_BYTES
    encoding = "utf-8"
    if raw.startswith(b"\xef\xbb\xbf"):
        encoding, raw = "utf-8-sig", raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        if not full and exc.start >= len(raw) - 3:  # a character cut by the sample's end
            text = raw[: exc.start].decode("utf-8", "replace")
        else:
            encoding, text = "latin-1", raw.decode("latin-1")
    lines = text.splitlines()
    if not full and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    lines = [ln for ln in lines[:200] if ln.strip()]
    if not lines:
        return ",", ".", encoding
    sep = _pick_separator(lines)
    decimal = "."
    if sep != ",":
        fields = [f for ln in lines[1:] for f in ln.split(sep)]
        commas = sum(bool(_COMMA_DECIMAL.match(f)) for f in fields)
        dots = sum(bool(_DOT_DECIMAL.match(f)) for f in fields)
        if commas > dots:
            decimal = ","
    return sep, decimal, encoding


def _pick_separator(lines: list[str]) -> str:
    counts = {sep: [ln.count(sep) for ln in lines] for sep in _SEPARATORS}
    even = [sep for sep, c in counts.items() if c[0] > 0 and len(set(c)) == 1]
    if even:
        return even[0]
    # Ragged lines (quoted fields, trailing separators): the most frequent separator.
    best = max(_SEPARATORS, key=lambda sep: (float(np.median(counts[sep])), sep == ","))
    return best if np.median(counts[best]) > 0 else ","


def _guess_time(columns) -> str | None:
    return next((c for c in columns if str(c).strip().lower() in _TIME_NAMES), None)


def _time_column(path: Path, frame: pd.DataFrame, timestamp_column: str | None) -> str:
    time_col = timestamp_column or _guess_time(frame.columns)
    if time_col is None or time_col not in frame.columns:
        raise DataError(
            f"{path}: no timestamp column (looked for {timestamp_column or _TIME_NAMES}; "
            f"columns: {[str(c) for c in frame.columns]}); set source.timestamp_column=<name>"
        )
    return time_col


def _seconds(path: Path, column: pd.Series, first_row: int) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(column):
        seconds = column.to_numpy(dtype=np.float64)
        if np.isnan(seconds).any():
            row = int(np.argmax(np.isnan(seconds)))
            raise DataError(
                f"{path}: row {row + first_row}: blank timestamp; fill it or drop the row"
            )
    else:
        stamps = pd.to_datetime(column, errors="coerce")
        if stamps.isna().any():
            row = int(np.argmax(stamps.isna().to_numpy()))
            raise DataError(
                f"{path}: row {row + first_row}: unparseable timestamp {column.iloc[row]!r}; "
                "fix the value or set source.timestamp_column to the right column"
            )
        seconds = (stamps - stamps.iloc[0]).dt.total_seconds().to_numpy(dtype=np.float64)
    steps = np.diff(seconds)
    if (steps <= 0).any():
        row = int(np.argmax(steps <= 0)) + 1
        raise DataError(
            f"{path}: row {row + first_row}: duplicate or non-monotonic timestamp; "
            "sort the table and drop duplicate rows"
        )
    return seconds


def _labels(path: Path, column: pd.Series, name: str, first_row: int, decimal: str) -> np.ndarray:
    values = _numeric(path, column, name, first_row, decimal)
    blank = np.isnan(values)
    if blank.any():
        row = int(np.argmax(blank))
        raise DataError(
            f"{path}: row {row + first_row}, label column {name!r}: blank label; "
            "fill it with 0 (normal) or 1 (anomalous)"
        )
    if (values != np.rint(values)).any():
        row = int(np.argmax(values != np.rint(values)))
        raise DataError(
            f"{path}: row {row + first_row}, label column {name!r}: label {values[row]!r} "
            "is not an integer; use 0 (normal) or 1 (anomalous)"
        )
    return values.astype(np.int64)


def _numeric(
    path: Path, column: pd.Series, name: str, first_row: int, decimal: str = "."
) -> np.ndarray:
    """A column as float (NaN for blank cells); a non-numeric cell raises naming its row."""
    if not pd.api.types.is_numeric_dtype(column):
        text = column
        if decimal != "." and column.dtype == object:
            text = column.str.replace(decimal, ".", regex=False)
        values = pd.to_numeric(text, errors="coerce")
        bad = values.isna() & column.notna()
        if bad.any():
            row = int(np.argmax(bad.to_numpy()))
            raise DataError(
                f"{path}: row {row + first_row}, column {name!r}: non-numeric value "
                f"{column.iloc[row]!r}; clean the export or drop the column"
            )
        column = values
    return column.to_numpy(dtype=np.float32, na_value=np.nan)


def _sensor_matrix(path: Path, frame: pd.DataFrame, first_row: int, decimal: str) -> np.ndarray:
    """Sensor columns as float32 ``(S, N)``, NaN for blank cells; inf is rejected."""
    data = np.empty((frame.shape[1], len(frame)), dtype=np.float32)
    for s, name in enumerate(list(frame.columns)):
        data[s] = _numeric(path, frame[name], str(name), first_row, decimal)
        del frame[name]  # keep peak memory near one copy of the table
        inf = np.isinf(data[s])
        if inf.any():
            row = int(np.argmax(inf))
            raise DataError(
                f"{path}: row {row + first_row}, column {str(name)!r}: infinite value; "
                "clean the export (blank cells are interpolated)"
            )
    return data


# ---------------------------------------------------------------- gaps and resampling


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


def _mark_long_gaps(
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


def _segments(bad: np.ndarray, cut: np.ndarray) -> list[tuple[int, int]]:
    """Maximal ``[start, stop)`` runs of good samples, also split where ``cut`` is set."""
    good = ~bad
    starts = good & (np.r_[True, ~good[:-1]] | cut)
    begin = np.flatnonzero(starts)
    stops = np.flatnonzero(good & np.r_[starts[1:] | ~good[1:], True]) + 1
    return [(int(a), int(b)) for a, b in zip(begin, stops, strict=True)]


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


class _Gaps:
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
