"""Files -> score table with a fitted detector: the path shared by the CLI, the pyfunc model and
(later) the Spark engine, so all of them score identically."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import pandas as pd

from anomaly_diffusion.config import FeatureConfig
from anomaly_diffusion.data.cache import FeatureCache
from anomaly_diffusion.data.dataset import Item, extra_conditions
from anomaly_diffusion.data.stream import chunked, iter_windows, load_windows
from anomaly_diffusion.data.windows import Window
from anomaly_diffusion.detector import DiffusionAnomalyDetector
from anomaly_diffusion.diagnosis.windows import diagnose_windows
from anomaly_diffusion.errors import DataError
from anomaly_diffusion.scoring.result import ScoreResult, failure_rows, result_frame

logger = logging.getLogger(__name__)


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
                recorded_at=str(row["recorded_at"]) if pd.notna(row.get("recorded_at")) else None,
            )
        )
    return items


def read_windows(
    detector: DiffusionAnomalyDetector,
    items: Sequence[Item],
    *,
    desc: str = "reading inputs",
    cache: FeatureCache | None = None,
    features: FeatureConfig | None = None,
) -> tuple[list[Window], list[tuple[Item, str]]]:
    """Windows of ``items`` read as the detector was trained (source, features, sample rate,
    channel count), all in memory (evaluation); scoring streams with :func:`score_items`.
    ``features`` replaces the detector's (another hop, see :func:`read_held_out`)."""
    cfg = detector.config
    windows, failures = load_windows(
        items,
        source=cfg.source,
        features=features or cfg.features,
        expected_rate=detector.sample_rate_,
        expected_channels=detector.input_channels,
        cache=cache,
        desc=desc,
        clip_s=getattr(detector, "clip_seconds_", None),  # baselines have none
    )
    return admitted(detector, windows, failures), failures


def with_recorded_at(frame: pd.DataFrame, items: Sequence[Item]) -> pd.DataFrame:
    """``frame`` (score rows) plus each row's item's ``recorded_at`` when any item has one
    (the time axis of :mod:`anomaly_diffusion.trend`); otherwise ``frame`` unchanged."""
    recorded = {it.path: it.recorded_at for it in items if it.recorded_at}
    if not recorded:
        return frame
    return frame.assign(recorded_at=frame["path"].map(recorded))


MIN_HELD_OUT_WINDOWS = 16
"""Held-out normal windows below which :func:`read_held_out` cuts them at a denser hop."""

DENSEST_HOP_FRACTION = 1 / 8
"""Densest held-out hop, as a fraction of the window (7/8 overlap)."""


def held_out_hops(features: FeatureConfig) -> list[float]:
    """Hops (s) to cut held-out windows at, the scoring hop first, then halving down to
    :data:`DENSEST_HOP_FRACTION` of the window; only the scoring hop for features without
    time windows (frames, whole clips)."""
    window = features.window_seconds
    hop = features.hop_seconds or window
    if window is None or hop is None:
        return [hop]
    hops = [hop]
    while hops[-1] / 2 >= window * DENSEST_HOP_FRACTION - 1e-12:
        hops.append(hops[-1] / 2)
    return hops


def read_held_out(
    detector,
    items: Sequence[Item],
    *,
    desc: str = "reading held-out normals",
    cache: FeatureCache | None = None,
) -> tuple[list[Window], list[tuple[Item, str]]]:
    """Held-out normal windows for calibration and tuning, read as :func:`read_windows` does,
    but cut at a denser hop (:func:`held_out_hops`) while they number fewer than
    :data:`MIN_HELD_OUT_WINDOWS`.

    Why: the threshold is a quantile (or tail) of the held-out window scores. The tail of a
    short recording, windowed at the scoring hop, gives a handful of windows (CWRU's 0.6 s of
    held-out signal: 2 windows of 0.32 s), whose spread says nothing about the score's
    spread; windows at more offsets in the same held-out time sample that distribution far
    better. They overlap, so they are not independent: the model card's resolution still
    counts files and segments, not windows.
    """
    features = detector.config.features
    windows, failures = read_windows(detector, items, desc=desc, cache=cache)
    n_scoring_hop, used = len(windows), None
    for hop in held_out_hops(features)[1:]:
        if len(windows) >= MIN_HELD_OUT_WINDOWS:
            break
        windows, failures = read_windows(
            detector, items, desc=desc, cache=cache, features=replace(features, hop_seconds=hop)
        )
        used = hop
    if used is not None:
        logger.info(
            "held-out normal data: %d window(s) at the scoring hop are too few to estimate the "
            "threshold; cut at hop %.4g s instead (1/%d of the %.4g-s window): %d window(s)",
            n_scoring_hop,
            used,
            round(features.window_seconds / used),
            features.window_seconds,
            len(windows),
        )
    return windows, failures


def admitted(
    detector: DiffusionAnomalyDetector, windows: Sequence[Window], failures: list
) -> list[Window]:
    """The windows the detector can score; every file with a window too short for it
    (:meth:`~DiffusionAnomalyDetector.too_short`) goes to ``failures`` once, all its windows
    left out (a file is scored whole or reported, never half)."""
    too_short = getattr(detector, "too_short", None)  # baselines do not check
    if too_short is None:
        return list(windows)
    bad: dict[str, str] = {}
    for window in windows:
        if window.item.path not in bad and (problem := too_short(window)):
            bad[window.item.path] = problem
    if not bad:
        return list(windows)
    seen = set()
    for window in windows:
        if window.item.path in bad and window.item.path not in seen:
            seen.add(window.item.path)
            failures.append((window.item, bad[window.item.path]))
    return [w for w in windows if w.item.path not in bad]


#: Windows scored together; bounds scoring memory whatever the input size.
CHUNK_WINDOWS = 256

ChunkHook = Callable[[list[Window], ScoreResult, pd.DataFrame], pd.DataFrame]


def score_items(
    detector: DiffusionAnomalyDetector,
    items: Sequence[Item],
    *,
    seed: int = 0,
    on_chunk: ChunkHook | None = None,
    chunk_windows: int = CHUNK_WINDOWS,
    clip_hop_s: float | None = None,
) -> pd.DataFrame:
    """Read, featurize and score items in chunks of windows, so memory stays bounded for
    multi-GB inputs; unreadable items become rows with ``error`` set.

    Args:
        on_chunk: Called with each chunk's windows, result and contract rows (e.g. to write
            map PNGs); returns the rows to keep (possibly with ``map_path`` filled in).
        clip_hop_s: Hop (s) between the clip windows of a recording too long for a clip
            model (:mod:`anomaly_diffusion.data.long_recordings`); ``None``: the clip length.

    Returns:
        The contract table: scored rows in input order, then one row per failed input.
    """
    cfg = detector.config
    failures: list[tuple[Item, str]] = []
    windows = iter_windows(
        items,
        source=cfg.source,
        features=cfg.features,
        failures=failures,
        expected_rate=detector.sample_rate_,
        expected_channels=detector.input_channels,
        desc="scoring",
        clip_s=getattr(detector, "clip_seconds_", None),
        clip_hop_s=clip_hop_s,
    )
    parts = []
    for chunk in chunked(windows, chunk_windows):
        for window in chunk:
            if warning := detector.unexpected_size(window):
                logger.warning("%s", warning)
        chunk = admitted(detector, chunk, failures)
        if not chunk:
            continue
        result = detector.score(chunk, seed=seed)
        scored = result_frame(chunk, result)
        scored["diagnosis"] = diagnose_windows(
            chunk, list(scored["is_anomaly"]), cfg.diagnosis, source=cfg.source
        )
        parts.append(scored if on_chunk is None else on_chunk(chunk, result, scored))
    if failures:
        parts.append(failure_rows(failures))
    return pd.concat(parts, ignore_index=True) if parts else failure_rows([])
