"""Onset of a persistent alarm per asset: when did it start, and how has the score moved.

A single window over threshold is what a 1 % false-alarm rate lets through about once in a
hundred; wear shows as alarms that *stay*. Per asset, units (recordings, or windows of a single
recording: :mod:`anomaly_diffusion.trend.timeline`) are put in time order; a unit alarms when
its median window score exceeds its threshold (most of its windows alarm), and the **onset** is
the first unit of the first run of ``k`` consecutive alarming units.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from anomaly_diffusion.errors import ConfigError
from anomaly_diffusion.trend.timeline import elapsed_days, unit_keys, unit_times

DEFAULT_K = 3
"""Consecutive alarming units that make an alarm persistent."""

TREND_POINTS = 512
"""Most points the Theil-Sen trend is fitted to: it takes the median of all pairwise slopes
(n^2 / 2 of them: 48 million, 2 GB, for the 9,765 windows of a 10-million-row table), so
longer series are first reduced to this many medians of consecutive units."""


def trend_slope(scores: np.ndarray, days: np.ndarray) -> float:
    """Theil-Sen slope of ``scores`` over ``days`` (``(n,)`` each, in time order; score units
    per day), ``nan`` for fewer than 3 points or no time spread. Above :data:`TREND_POINTS`
    points, fitted to the medians (score and time) of that many equal-count runs of
    consecutive points: memory and time stay bounded, a spike still moves nothing."""
    scores, days = np.asarray(scores, dtype=np.float64), np.asarray(days, dtype=np.float64)
    if scores.size < 3 or np.ptp(days) <= 0:
        return float("nan")
    if scores.size > TREND_POINTS:
        runs = np.array_split(np.arange(scores.size), TREND_POINTS)
        scores = np.array([np.median(scores[r]) for r in runs])
        days = np.array([np.median(days[r]) for r in runs])
    return float(stats.theilslopes(scores, days)[0])


def check_k(k: int, *, name: str = "onset_k") -> int:
    """``k`` as an int >= 1, or a :class:`ConfigError` naming ``name``."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ConfigError(f"{name}={k!r}: use a whole number >= 1 (consecutive alarms), e.g. 3")
    return k


def alarm_runs(alarms: Sequence[bool]) -> np.ndarray:
    """``(N,)`` int: the length of the run of alarms ending at each position (0 where none).

    ``[0, 1, 1, 0, 1] -> [0, 1, 2, 0, 1]``.
    """
    runs = np.zeros(len(alarms), dtype=int)
    count = 0
    for i, alarm in enumerate(alarms):
        count = count + 1 if alarm else 0
        runs[i] = count
    return runs


def first_persistent(alarms: Sequence[bool], *, k: int) -> int | None:
    """Index of the first element of the first run of ``k`` consecutive alarms, else ``None``.

    ``first_persistent([0, 1, 0, 1, 1, 1], k=3) -> 3``.
    """
    hits = np.flatnonzero(alarm_runs(alarms) >= check_k(k, name="k"))
    return None if hits.size == 0 else int(hits[0]) - k + 1


def unit_table(rows: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Scored rows (the score-output contract) -> one row per unit in time order per asset.

    Returns:
        ``(units, time_source)``: columns ``asset, unit, time, score, threshold, severity,
        alarm, n_windows`` (score/threshold/severity: medians over the unit's windows; ``alarm``:
        median score > median threshold), sorted by asset then time; ``time_source`` says where
        the times came from (see :func:`~anomaly_diffusion.trend.timeline.unit_times`).
    """
    ok = rows["error"].isna() if "error" in rows.columns else pd.Series(True, index=rows.index)
    scored = rows.loc[ok & pd.to_numeric(rows["score"], errors="coerce").notna()].copy()
    if scored.empty:
        return _empty_units(), "none"
    scored["asset"] = scored["asset"].fillna("").astype(str)
    scored["unit"] = unit_keys(scored)
    scored["time"], source = unit_times(scored, scored["unit"])
    for col in ("score", "threshold", "severity"):
        values = scored[col] if col in scored.columns else np.nan
        scored[col] = pd.to_numeric(values, errors="coerce")
    units = (
        scored.groupby(["asset", "unit"], sort=False)
        .agg(
            time=("time", "min"),
            score=("score", "median"),
            threshold=("threshold", "median"),
            severity=("severity", "median"),
            n_windows=("score", "size"),
        )
        .reset_index()
        .sort_values(["asset", "time", "unit"], kind="stable", ignore_index=True)
    )
    units["alarm"] = (units["score"] > units["threshold"]).to_numpy(dtype=bool)
    return units, source


def _empty_units() -> pd.DataFrame:
    columns = ["asset", "unit", "time", "score", "threshold", "severity", "n_windows", "alarm"]
    return pd.DataFrame(columns=columns)


def with_runs(units: pd.DataFrame, *, k: int = DEFAULT_K) -> pd.DataFrame:
    """``units`` plus ``alarm_run`` (consecutive alarming units up to this one) and ``onset``
    (True on the unit where the asset's first persistent alarm starts)."""
    check_k(k)
    out = units.copy()
    out["alarm_run"] = 0
    out["onset"] = False
    for _, group in out.groupby("asset", sort=False):
        out.loc[group.index, "alarm_run"] = alarm_runs(group["alarm"].to_numpy(bool))
        first = first_persistent(group["alarm"].to_numpy(bool), k=k)
        if first is not None:
            out.loc[group.index[first], "onset"] = True
    return out


def asset_onsets(units: pd.DataFrame, *, k: int = DEFAULT_K) -> pd.DataFrame:
    """One row per asset from :func:`with_runs` units.

    Columns: ``asset, n_units, first_unit_time, last_unit_time, first_alarm_time,
    onset_time, onset_unit, alarm_run_now, last_score, threshold, trend_per_day, status``.
    ``trend_per_day`` is the Theil-Sen slope of the unit scores per day (per unit when no
    time is known; robust to single spikes); ``status`` is ``persistent alarm``, ``alarm``
    (alarming, not yet ``k`` in a row) or ``normal``.
    """
    rows = []
    for asset, group in units.groupby("asset", sort=True):
        alarms = group["alarm"].to_numpy(bool)
        onset = group.loc[group["onset"].to_numpy(bool)] if "onset" in group else group.iloc[:0]
        first_alarm = group.loc[alarms, "time"]
        run_now = int(group["alarm_run"].iloc[-1]) if "alarm_run" in group else 0
        slope = trend_slope(group["score"].to_numpy(float), elapsed_days(group["time"]))
        rows.append(
            {
                "asset": asset,
                "n_units": len(group),
                "first_unit_time": group["time"].iloc[0],
                "last_unit_time": group["time"].iloc[-1],
                "first_alarm_time": first_alarm.iloc[0] if len(first_alarm) else None,
                "onset_time": onset["time"].iloc[0] if len(onset) else None,
                "onset_unit": onset["unit"].iloc[0] if len(onset) else None,
                "alarm_run_now": run_now,
                "last_score": float(group["score"].iloc[-1]),
                "threshold": float(group["threshold"].iloc[-1]),
                "trend_per_day": slope,
                "status": _status(run_now, k=k, ever=len(onset) > 0, alarming=bool(alarms[-1])),
            }
        )
    return pd.DataFrame(rows, columns=_ASSET_COLUMNS)


_ASSET_COLUMNS = [
    "asset",
    "n_units",
    "first_unit_time",
    "last_unit_time",
    "first_alarm_time",
    "onset_time",
    "onset_unit",
    "alarm_run_now",
    "last_score",
    "threshold",
    "trend_per_day",
    "status",
]


def _status(run_now: int, *, k: int, ever: bool, alarming: bool) -> str:
    if run_now >= k:
        return "persistent alarm"
    if alarming:
        return "alarm"
    return "normal (was persistent)" if ever else "normal"


def rows_with_runs(rows: pd.DataFrame, units: pd.DataFrame) -> pd.DataFrame:
    """The score rows plus their unit's ``unit_time``, ``alarm_run`` and ``onset`` (every
    window of the onset unit is marked); rows that failed get none."""
    out = rows.copy()
    ok = out["error"].isna() if "error" in out.columns else pd.Series(True, index=out.index)
    keys = pd.Series(None, index=out.index, dtype=object)
    keys.loc[ok] = unit_keys(out.loc[ok].assign(asset=out.loc[ok, "asset"].fillna("")))
    lookup = units.set_index(["asset", "unit"])
    index = pd.MultiIndex.from_arrays([out["asset"].fillna("").astype(str), keys])
    found = index.isin(lookup.index)
    matched = lookup.reindex(index[found])
    out["unit_time"] = None
    out["alarm_run"] = np.nan
    out["onset"] = False
    out.loc[found, "unit_time"] = [_time_text(v) for v in matched["time"]]
    out.loc[found, "alarm_run"] = matched["alarm_run"].to_numpy(dtype=float)
    out.loc[found, "onset"] = matched["onset"].to_numpy(dtype=bool)
    return out


def _time_text(value: object) -> str:
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return f"#{int(value)}"  # unit number (no time known)


def asset_trend(rows: pd.DataFrame, *, k: int = DEFAULT_K):
    """Score rows -> ``(units with runs, per-asset onsets, time source)``."""
    units, source = unit_table(rows)
    units = with_runs(units, k=k)
    return units, asset_onsets(units, k=k), source


def onsets_of_rows(rows: pd.DataFrame, *, k: int = DEFAULT_K):
    """Score rows -> ``(rows with runs, units with runs, per-asset onsets, time source)``."""
    units, onsets, source = asset_trend(rows, k=k)
    return rows_with_runs(rows, units), units, onsets, source
