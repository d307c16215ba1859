"""When each scored unit was recorded: the time axis of an asset's condition trend.

Plants export snapshots as files whose names carry the acquisition time
(``pump7_2026-11-30T10-20-00.npz``, ``DE_20261130_102000.wav``); tables carry a time per row.
A unit is one recording (a file, or a manifest segment of one) when an asset has several, else
one window of its single recording (a historian table scored window by window).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

_NAME_TIME = re.compile(
    r"(?<!\d)(\d{4})-?(\d{2})-?(\d{2})[T_ -]?(\d{2})[-:_.h]?(\d{2})(?:[-:_.m]?(\d{2}))?(?!\d)"
)


def time_from_name(path: str) -> pd.Timestamp | None:
    """The date-time in a file name (``2026-11-30T10-20-00``, ``20261130_1020``, ...), else
    ``None``; only the last path component is read."""
    name = str(path).replace("\\", "/").rsplit("/", 1)[-1]
    for match in _NAME_TIME.finditer(name):
        year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups())
        try:
            return pd.Timestamp(year, month, day, hour, minute, second)
        except ValueError:  # 8 digits that are no date (a serial number)
            continue
    return None


def _window_times(rows: pd.DataFrame) -> pd.Series:
    """Each window's wall-clock start (``start_time`` of tables with date-time stamps)."""
    if "start_time" not in rows.columns:
        return pd.Series(pd.NaT, index=rows.index, dtype="datetime64[ns]")
    clock = pd.to_datetime(rows["start_time"], errors="coerce", utc=True, format="ISO8601")
    return clock.dt.tz_localize(None)


def unit_keys(rows: pd.DataFrame) -> pd.Series:
    """The unit of each row: its ``path``, or, for an asset with a single recording, the
    row's own window (``path#start_s``)."""
    path = rows["path"].astype(str)
    per_asset = path.groupby(rows["asset"].astype(str)).transform("nunique")
    window = path + "#" + rows["start_s"].astype(str)
    return path.where(per_asset > 1, window)


def unit_times(rows: pd.DataFrame, keys: pd.Series) -> tuple[pd.Series, str]:
    """Each row's unit time and where it came from (``recorded_at`` column, the rows' own
    time stamps, the file names, or ``order`` when nothing carries a time: then units are
    numbered in file-name order, ``0, 1, ...``).

    Returns:
        ``(times, source)``: one value per row (Timestamps, or float unit numbers for
        ``order``) and the source's name.
    """
    if "recorded_at" in rows.columns:
        given = pd.to_datetime(rows["recorded_at"], errors="coerce", utc=True, format="mixed")
        if given.notna().all():
            return given.dt.tz_localize(None), "recorded_at"
    windowed = keys.str.contains("#", regex=False)
    stamps = _window_times(rows)
    named = rows["path"].astype(str).map(time_from_name)
    first_stamp = stamps.groupby(keys).transform("min")
    times = first_stamp.where(~windowed, stamps)
    times = times.fillna(pd.to_datetime(named, errors="coerce"))
    if times.notna().all():
        return times, "time stamps" if stamps.notna().all() else "file names"
    start = pd.to_numeric(rows["start_s"], errors="coerce").where(windowed, 0.0).fillna(0.0)
    ordered = rows.assign(_path=rows["path"].astype(str), _start=start, _key=keys)
    ordered = ordered.sort_values(["_path", "_start"], kind="stable")
    number = {key: float(i) for i, key in enumerate(ordered["_key"].drop_duplicates())}
    return keys.map(number).astype(float), "order"


def time_label(value: object) -> str:
    """A unit time for people: ``2026-11-04 05:00``, ``#3`` for a unit number (no time known),
    an em dash for none."""
    if value is None or pd.isna(value):
        return "\u2014"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M")
    return f"#{int(value)}"


def elapsed_days(times: pd.Series) -> np.ndarray:
    """Days since the first unit (Timestamps), or the unit numbers themselves (``order``)."""
    if pd.api.types.is_datetime64_any_dtype(times):
        return ((times - times.min()) / pd.Timedelta(days=1)).to_numpy(dtype=float)
    return times.to_numpy(dtype=float)
