"""Adding a score job's rows to a table written before (``score merge=true``, the default with
``since=``): a nightly job run twice on one day, or a run that finds no new file, must never
replace the rows already written for that day."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from anomaly_diffusion.errors import DataError

KEY = ("path", "start_s", "end_s")
"""One window of one file: a row of the new table replaces an old row with the same key."""


def read_previous(path: Path) -> pd.DataFrame | None:
    """The table at ``path`` (Parquet, or CSV by name), ``None`` when there is none.

    Raises:
        DataError: the file exists but cannot be read as a score table.
    """
    if not path.exists():
        return None
    try:
        frame = pd.read_csv(path) if path.suffix.lower() == ".csv" else pd.read_parquet(path)
    except Exception as exc:  # pyarrow/pandas raise many kinds for a damaged file
        raise DataError(
            f"{path}: cannot read the existing score table to add to it ({exc}); move it "
            "away, or pass merge=false to replace it"
        ) from exc
    missing = [k for k in KEY if k not in frame.columns]
    if missing:
        raise DataError(
            f"{path}: not a score table (no column {', '.join(missing)}); choose another "
            "output=, or pass merge=false to replace it"
        )
    return frame


def merge_rows(previous: pd.DataFrame, new: pd.DataFrame) -> tuple[pd.DataFrame, int, int]:
    """``previous`` plus ``new``; a new row replaces an old one of the same window (:data:`KEY`).

    Returns:
        ``(table, kept, replaced)``: the merged table (old rows first, in their order), how many
        old rows stayed and how many were replaced by a new score of the same window.
    """
    if new.empty:
        return previous, len(previous), 0
    keys = list(KEY)
    old_keys = pd.MultiIndex.from_frame(previous[keys].astype("string").fillna("<NA>"))
    new_keys = pd.MultiIndex.from_frame(new[keys].astype("string").fillna("<NA>"))
    stale = old_keys.isin(new_keys)
    kept = previous.loc[~stale]
    table = pd.concat([kept, new], ignore_index=True) if len(kept) else new.reset_index(drop=True)
    return table, len(kept), int(stale.sum())
