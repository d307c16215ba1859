"""A sensor table file read block by block into its columns: time, sensors, labels.

CSV separator, decimal mark and encoding are detected from the first bytes
(:mod:`anomaly_diffusion.ingest.csv_format`). CSV is parsed by pandas' C engine and Parquet by
pyarrow, :data:`CHUNK_ROWS` rows at a time, straight into float32 sensor columns, so that peak
memory stays near one float32 copy of the sensors plus one block of text.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from anomaly_diffusion.errors import DataError
from anomaly_diffusion.ingest.csv_format import TIME_NAMES, guess_label, guess_time, sniff

CHUNK_ROWS = 500_000


@dataclass(frozen=True)
class TableColumns:
    """The columns of a sensor table.

    Attributes:
        seconds: ``(N,)`` float64 time of each row (s) from the first row, strictly increasing.
        origin: Wall-clock time of the first row when the time column holds date-times
            (time-zone aware when the file says so), else ``None``.
        channels: Sensor column names, length S.
        data: ``(S, N)`` float32 sensor values, NaN for blank cells.
        labels: ``(N,)`` int64 0/1 labels when a label column was asked for.
        first_row: File row number of the first data row (CSV: the header is row 1).
    """

    seconds: np.ndarray
    origin: pd.Timestamp | None
    channels: tuple[str, ...]
    data: np.ndarray
    labels: np.ndarray | None
    first_row: int


def read_columns(
    path: Path,
    *,
    timestamp_column: str | None,
    label_column: str | None,
    columns: tuple[str, ...] | None = None,
    exclude_columns: tuple[str, ...] = (),
) -> TableColumns:
    """Read ``path`` (CSV or Parquet) block by block.

    Args:
        columns: The sensor columns, in this order (``None``: every column but the time and
            label columns); a name the file lacks is an error listing the file's columns.
        exclude_columns: Columns that are not sensors (a second label, a batch id, a status
            code): never read.

    Raises:
        DataError: unreadable table, no data rows, missing timestamp or label column, blank or
            unparseable timestamps, duplicate or non-monotonic timestamps, non-numeric or
            infinite sensor values, blank or non-integer labels; each names the row and column.
    """
    pick = (columns, tuple(exclude_columns))
    reader = _Reader(path, timestamp_column, label_column, *pick)
    try:
        reader.consume(reader.blocks(text=False))
    except DataError:
        raise
    except (ValueError, TypeError):  # a non-numeric cell: re-read as text to name it
        reader = _Reader(path, timestamp_column, label_column, *pick)
        reader.consume(reader.blocks(text=True))
    return reader.columns()


class _Reader:
    """Accumulates the blocks of one table file."""

    def __init__(
        self,
        path: Path,
        timestamp_column: str | None,
        label_column: str | None,
        columns: tuple[str, ...] | None = None,
        exclude_columns: tuple[str, ...] = (),
    ):
        self.path = path
        self.is_parquet = path.suffix.lower() == ".parquet"
        self.first_row, self.decimal = (1, ".") if self.is_parquet else (2, ".")
        self.header = self._header()
        if label_column is None:  # a label named like one is never read as a sensor
            label_column = guess_label(self.header)
            if label_column is not None and label_column in (columns or ()):
                label_column = None  # the user named it a sensor
        self.label_column = label_column
        self.time_col = timestamp_column or guess_time(self.header)
        if self.time_col is None or self.time_col not in self.header:
            raise DataError(
                f"{path}: no timestamp column (looked for {timestamp_column or TIME_NAMES}"
                f"{'' if timestamp_column else ', optionally with a unit like _s'}; "
                f"columns: {[str(c) for c in self.header]}); set source.timestamp_column=<name>"
            )
        if label_column is not None and label_column not in self.header:
            raise DataError(
                f"{path}: label column {label_column!r} not found; set "
                f"source.label_column=<one of {[str(c) for c in self.header]}> or null"
            )
        self.sensors = self._sensors(columns, exclude_columns)
        if not self.sensors:
            raise DataError(
                f"{path}: no sensor column besides {self.time_col!r}; export at least one "
                "numeric column"
            )
        self.times: list[np.ndarray] = []
        self.blocks_: list[np.ndarray] = []
        self.labels: list[np.ndarray] = []
        self.is_datetime: bool | None = None
        self.tz = None
        self.rows = 0

    def _sensors(self, columns: tuple[str, ...] | None, exclude: tuple[str, ...]) -> list:
        names = [str(c) for c in self.header]
        for key, asked in (("source.columns", columns or ()), ("source.exclude_columns", exclude)):
            missing = [c for c in asked if c not in names]
            if missing:
                raise DataError(
                    f"{self.path}: {key} names {missing}, which the table does not have "
                    f"(columns: {names}); fix {key} (a model trained on these sensors needs "
                    "every one of them)"
                )
        if columns:
            clash = [c for c in columns if c in (self.time_col, self.label_column)]
            if clash:
                raise DataError(
                    f"{self.path}: source.columns lists {clash}, the time or label column; "
                    "keep only sensor columns there"
                )
            return [self.header[names.index(c)] for c in columns]
        skip = {self.time_col, self.label_column, *exclude}
        return [c for c in self.header if str(c) not in skip and c not in skip]

    # ------------------------------------------------------------ file access

    def _header(self) -> list:
        try:
            if self.is_parquet:
                import pyarrow.parquet as pq

                return list(pq.ParquetFile(self.path).schema_arrow.names)
            sep, self.decimal, encoding = sniff(self.path)
            self.options = {
                "sep": sep,
                "decimal": self.decimal,
                "encoding": encoding,
                "skipinitialspace": True,
                "engine": "c",
            }
            return list(pd.read_csv(self.path, nrows=0, **self.options).columns)
        except DataError:
            raise
        except Exception as exc:  # pandas/pyarrow raise many types for a bad table
            raise self._unreadable(exc) from exc

    def _unreadable(self, exc: Exception) -> DataError:
        return DataError(f"{self.path}: cannot read table ({exc}); export it as CSV or Parquet")

    def blocks(self, *, text: bool) -> Iterator[pd.DataFrame]:
        """Blocks of rows; ``text``: sensor columns as text (to name a bad cell)."""
        try:
            if self.is_parquet:
                import pyarrow.parquet as pq

                wanted = [self.time_col, *self.sensors]
                if self.label_column is not None:
                    wanted.append(self.label_column)
                table = pq.ParquetFile(self.path)
                for batch in table.iter_batches(batch_size=CHUNK_ROWS, columns=wanted):
                    yield batch.to_pandas()
                return
            kind = object if text else np.float32
            wanted = [self.time_col, *self.sensors]
            if self.label_column is not None:
                wanted.append(self.label_column)
            dtypes = {c: kind for c in wanted if c != self.time_col}
            with pd.read_csv(
                self.path, usecols=wanted, dtype=dtypes, chunksize=CHUNK_ROWS, **self.options
            ) as r:
                yield from r
        except DataError:
            raise
        except (ValueError, TypeError) as exc:
            if text or self.is_parquet:
                raise self._unreadable(exc) from exc
            raise  # may be a non-numeric cell: read_columns re-reads the file as text
        except Exception as exc:
            raise self._unreadable(exc) from exc

    # ------------------------------------------------------------ one block

    def consume(self, blocks: Iterator[pd.DataFrame]) -> None:
        for block in blocks:
            row0 = self.rows + self.first_row
            self.times.append(self._time(block[self.time_col], row0))
            if self.label_column is not None:
                self.labels.append(
                    _numeric(
                        self.path, block[self.label_column], self.label_column, row0, self.decimal
                    )
                )
            data = np.empty((len(self.sensors), len(block)), dtype=np.float32)
            for s, name in enumerate(self.sensors):
                data[s] = _numeric(self.path, block[name], str(name), row0, self.decimal)
                _check_finite(self.path, data[s], str(name), row0)
            self.blocks_.append(data)
            self.rows += len(block)

    def _time(self, column: pd.Series, row0: int) -> np.ndarray:
        """float64 seconds (numeric stamps) or int64 ns since the epoch (date-times)."""
        if self.is_datetime is None:
            self.is_datetime = not pd.api.types.is_numeric_dtype(column)
        if not self.is_datetime:
            values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
            self._no_blank(np.isnan(values), column, row0)
            return values
        stamps = _datetimes(column)
        self._no_blank(stamps.isna().to_numpy(), column, row0)
        if stamps.dt.tz is not None:
            self.tz = self.tz or stamps.dt.tz
            stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
        return stamps.to_numpy(dtype="datetime64[ns]").view(np.int64)

    def _no_blank(self, bad: np.ndarray, column: pd.Series, row0: int) -> None:
        if bad.any():
            row = int(np.argmax(bad))
            value = column.iloc[row]
            what = "blank timestamp" if pd.isna(value) else f"unparseable timestamp {value!r}"
            raise DataError(
                f"{self.path}: row {row + row0}: {what}; fix the value, drop the row or set "
                "source.timestamp_column to the right column"
            )

    # ------------------------------------------------------------ result

    def columns(self) -> TableColumns:
        if self.rows == 0:
            raise DataError(f"{self.path}: the table has a header but no data rows; re-export it")
        raw = np.concatenate(self.times)
        self.times.clear()
        origin = None
        if self.is_datetime:
            origin = pd.Timestamp(int(raw[0]), unit="ns")
            if self.tz is not None:
                origin = origin.tz_localize("UTC").tz_convert(self.tz)
            seconds = (raw - raw[0]).astype(np.float64) / 1e9
        else:
            seconds = raw - raw[0]
        _check_monotonic(self.path, seconds, self.first_row)
        data = self.blocks_[0] if len(self.blocks_) == 1 else np.concatenate(self.blocks_, axis=1)
        self.blocks_.clear()
        keep = [
            s
            for s, name in enumerate(self.sensors)
            if not (str(name).startswith("Unnamed:") and np.isnan(data[s]).all())
        ]  # trailing separators in the export
        if not keep:
            raise DataError(
                f"{self.path}: no sensor column besides {self.time_col!r}; export at least one "
                "numeric column"
            )
        if len(keep) < len(self.sensors):
            data = data[keep]
        labels = None
        if self.label_column is not None:
            labels = _labels(
                self.path, np.concatenate(self.labels), self.label_column, self.first_row
            )
        return TableColumns(
            seconds=seconds,
            origin=origin,
            channels=tuple(str(self.sensors[s]) for s in keep),
            data=data,
            labels=labels,
            first_row=self.first_row,
        )


# ---------------------------------------------------------------- values


def _datetimes(column: pd.Series) -> pd.Series:
    """Date-time stamps (NaT where unparseable); mixed UTC offsets are converted to UTC."""
    if pd.api.types.is_datetime64_any_dtype(column):
        return column
    try:
        return pd.to_datetime(column, errors="coerce")
    except ValueError:  # mixed time zones
        return pd.to_datetime(column, errors="coerce", utc=True)


def _check_monotonic(path: Path, seconds: np.ndarray, first_row: int) -> None:
    steps = np.diff(seconds)
    if (steps <= 0).any():
        row = int(np.argmax(steps <= 0)) + 1
        raise DataError(
            f"{path}: row {row + first_row}: duplicate or non-monotonic timestamp; "
            "sort the table and drop duplicate rows"
        )


def _check_finite(path: Path, values: np.ndarray, name: str, row0: int) -> None:
    inf = np.isinf(values)
    if inf.any():
        row = int(np.argmax(inf))
        raise DataError(
            f"{path}: row {row + row0}, column {name!r}: infinite value; "
            "clean the export (blank cells are interpolated)"
        )


def _labels(path: Path, values: np.ndarray, name: str, first_row: int) -> np.ndarray:
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


def _numeric(path: Path, column: pd.Series, name: str, row0: int, decimal: str = ".") -> np.ndarray:
    """A column as float32 (NaN for blank cells); a non-numeric cell raises naming its row."""
    if not pd.api.types.is_numeric_dtype(column):
        text = column
        if decimal != "." and column.dtype == object:
            text = column.str.replace(decimal, ".", regex=False)
        values = pd.to_numeric(text, errors="coerce")
        bad = values.isna() & column.notna()
        if bad.any():
            row = int(np.argmax(bad.to_numpy()))
            raise DataError(
                f"{path}: row {row + row0}, column {name!r}: non-numeric value "
                f"{column.iloc[row]!r}; clean the export or drop the column"
            )
        column = values
    return column.to_numpy(dtype=np.float32, na_value=np.nan)
