"""Process-sensor tables: CSV/Parquet with a timestamp column and numeric sensor columns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from anomaly_diffusion.errors import DataError
from anomaly_diffusion.ingest.checks import check_file, check_finite
from anomaly_diffusion.ingest.recording import Recording

TABLE_SUFFIXES = (".csv", ".parquet")
_TIME_NAMES = ("timestamp", "time", "datetime", "date", "ts")


def read_table(
    path: str | Path,
    *,
    timestamp_column: str | None = None,
    label_column: str | None = None,
    asset: str = "",
) -> Recording:
    """Read a sensor table as float32 ``(S, N)`` (S sensors, N rows) sampled at its median rate.

    Raises:
        DataError: unreadable table, missing timestamp, non-numeric sensor values, duplicate or
            non-monotonic timestamps.
    """
    path = Path(path)
    check_file(path)
    try:
        frame = (
            pd.read_parquet(path)
            if path.suffix.lower() == ".parquet"
            else pd.read_csv(path, sep=None, engine="python")
        )
    except Exception as exc:  # pandas raises many types for a bad table
        raise DataError(f"{path}: cannot read table ({exc}); export it as CSV or Parquet") from exc
    time_col = timestamp_column or next(
        (c for c in frame.columns if str(c).lower() in _TIME_NAMES), None
    )
    if time_col is None or time_col not in frame.columns:
        raise DataError(
            f"{path}: no timestamp column (looked for {timestamp_column or _TIME_NAMES}); "
            "set source.timestamp_column=<name>"
        )
    seconds = _seconds(path, frame[time_col])
    labels = None
    if label_column is not None:
        if label_column not in frame.columns:
            raise DataError(
                f"{path}: label column {label_column!r} not found; fix data.label_column"
            )
        labels = frame.pop(label_column).to_numpy(dtype=np.int64)
    sensors = frame.drop(columns=[time_col])
    for col in sensors.columns:
        values = pd.to_numeric(sensors[col], errors="coerce")
        bad = values.isna() & sensors[col].notna()
        if bad.any():
            row = int(np.argmax(bad.to_numpy()))
            raise DataError(
                f"{path}: row {row + 2}, column {col!r}: non-numeric value "
                f"{sensors[col].iloc[row]!r}; clean the export or drop the column"
            )
        sensors[col] = values
    data = sensors.to_numpy(dtype=np.float32).T
    check_finite(path, data)
    rate = 1.0 / float(np.median(np.diff(seconds))) if seconds.size > 1 else 1.0
    return Recording(
        data=np.ascontiguousarray(data),
        rate=rate,
        channels=tuple(str(c) for c in sensors.columns),
        path=str(path),
        asset=asset,
        kind="table",
        labels=labels,
    )


def _seconds(path: Path, column: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(column):
        seconds = column.to_numpy(dtype=np.float64)
    else:
        stamps = pd.to_datetime(column, errors="coerce")
        if stamps.isna().any():
            row = int(np.argmax(stamps.isna().to_numpy()))
            raise DataError(f"{path}: row {row + 2}: unparseable timestamp {column.iloc[row]!r}")
        seconds = (stamps - stamps.iloc[0]).dt.total_seconds().to_numpy()
    steps = np.diff(seconds)
    if (steps <= 0).any():
        row = int(np.argmax(steps <= 0)) + 1
        raise DataError(
            f"{path}: row {row + 2}: duplicate or non-monotonic timestamp; "
            "sort the table and drop duplicate rows"
        )
    return seconds
