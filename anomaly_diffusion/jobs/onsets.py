"""The score job's per-asset onsets: the rows get ``unit_time, alarm_run, onset`` and an
``<output stem>_assets.csv`` beside them says, per asset, since when it is in persistent alarm
(:mod:`anomaly_diffusion.trend.onset`)."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from anomaly_diffusion.atomic import atomic_path
from anomaly_diffusion.jobs.common import write_table
from anomaly_diffusion.trend.onset import onsets_of_rows
from anomaly_diffusion.trend.timeline import time_label

logger = logging.getLogger(__name__)

RUN_COLUMNS = ("unit_time", "alarm_run", "onset")
"""Columns the onset adds to the score rows (recomputed over the whole table on every write)."""


def assets_path(output: str | Path) -> Path:
    """``<output stem>_assets.csv`` beside the score table."""
    output = Path(output)
    return output.parent / f"{output.stem}_assets.csv"


def write_with_onsets(table: pd.DataFrame, output: Path, *, k: int) -> tuple[str, ...]:
    """Write ``table`` with its onset columns to ``output`` and the per-asset summary to
    :func:`assets_path` (both atomically), log one line per asset in alarm; return the assets
    in persistent alarm at their latest unit."""
    rows, assets, source = _onsets(table, k=k)
    write_table(rows, output)
    return write_assets(assets, output, source=source)


def write_partitioned_with_onsets(table: pd.DataFrame, output: Path, *, k: int) -> tuple[str, ...]:
    """As :func:`write_with_onsets` for a Spark job's output: the rows, with their onset
    columns, rewritten atomically as a folder of Parquet partitioned by ``asset`` (the layout
    the executors wrote); returns the assets in persistent alarm."""
    rows, assets, source = _onsets(table, k=k)
    with atomic_path(output) as tmp:
        rows.to_parquet(tmp, partition_cols=["asset"], index=False)
    return write_assets(assets, output, source=source)


def _onsets(table: pd.DataFrame, *, k: int) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    rows, _, assets, source = onsets_of_rows(
        table.drop(columns=[c for c in RUN_COLUMNS if c in table.columns]), k=k
    )
    return rows, assets, source


def write_assets(assets: pd.DataFrame, output: Path, *, source: str) -> tuple[str, ...]:
    """Write :func:`assets_path` and log one line per asset in alarm; return the assets in
    persistent alarm at their latest unit."""
    write_table(assets, assets_path(output))
    if source == "order" and len(assets):
        logger.warning(
            "onset: no recording time found (no recorded_at column, table time stamps or "
            "date-time in the file names): recordings are taken in file-name order"
        )
    for asset in assets.itertuples():
        if asset.status == "normal":
            continue
        since = "" if pd.isna(asset.onset_time) else f", onset {_when(asset.onset_time)}"
        logger.warning(
            "asset %s: %s (%d alarming in a row now%s; score %.4g, threshold %.4g)",
            asset.asset or "(unnamed)",
            asset.status,
            asset.alarm_run_now,
            since,
            asset.last_score,
            asset.threshold,
        )
    persistent = assets.loc[assets["status"] == "persistent alarm", "asset"]
    return tuple(str(a) for a in persistent)


def _when(value: object) -> str:
    label = time_label(value)
    return label if isinstance(value, pd.Timestamp) else f"at recording {label}"
