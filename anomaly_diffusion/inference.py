"""Files -> score table with a fitted detector: the path shared by the CLI, the pyfunc model and
(later) the Spark engine, so all of them score identically."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from anomaly_diffusion.data.dataset import Item, extra_conditions
from anomaly_diffusion.data.windows import Window, load_windows
from anomaly_diffusion.detector import DiffusionAnomalyDetector
from anomaly_diffusion.diagnosis.windows import diagnose_windows
from anomaly_diffusion.errors import DataError
from anomaly_diffusion.scoring.result import ScoreResult, failure_rows, result_frame


def items_from_frame(frame: pd.DataFrame) -> list[Item]:
    """Items from a DataFrame with ``path`` and optional ``start_s``, ``end_s``, ``asset``; other
    columns are operating conditions (e.g. ``speed``, ``load``)."""
    if "path" not in frame.columns:
        raise DataError(
            f"model input has no 'path' column (columns: {list(frame.columns)}); "
            "pass a DataFrame with one file path per row"
        )
    items = []
    for row in frame.to_dict("records"):
        start, end = row.get("start_s"), row.get("end_s")
        items.append(
            Item(
                path=str(row["path"]),
                asset=str(row.get("asset") or Path(str(row["path"])).parent.name),
                start_s=None if start is None or pd.isna(start) else float(start),
                end_s=None if end is None or pd.isna(end) else float(end),
                conditions=extra_conditions(row),
            )
        )
    return items


def read_windows(
    detector: DiffusionAnomalyDetector, items: Sequence[Item], *, desc: str = "reading inputs"
) -> tuple[list[Window], list[tuple[Item, str]]]:
    """Windows of ``items`` read as the detector was trained (source, features, sample rate)."""
    cfg = detector.config
    return load_windows(
        items,
        source=cfg.source,
        features=cfg.features,
        expected_rate=detector.sample_rate_,
        desc=desc,
    )


def score_items(
    detector: DiffusionAnomalyDetector, items: Sequence[Item], *, seed: int = 0
) -> tuple[pd.DataFrame, list[Window], ScoreResult | None]:
    """Read, featurize and score items; unreadable items become rows with ``error`` set.

    Returns:
        ``(frame, windows, result)``: the contract table (scored rows first, then failures),
        the windows scored and their :class:`ScoreResult` (``None`` when nothing could be read).
    """
    windows, failures = read_windows(detector, items)
    result = detector.score(windows, seed=seed) if windows else None
    parts = []
    if result is not None:
        scored = result_frame(windows, result)
        scored["diagnosis"] = diagnose_windows(
            windows,
            list(scored["is_anomaly"]),
            detector.config.diagnosis,
            source=detector.config.source,
        )
        parts.append(scored)
    if failures:
        parts.append(failure_rows(failures))
    frame = pd.concat(parts, ignore_index=True) if parts else failure_rows([])
    return frame, windows, result
