"""``score`` job: batch scoring to the score-output contract (Parquet/CSV + map PNGs)."""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from anomaly_diffusion.config import flatten, to_dict
from anomaly_diffusion.data.dataset import resolve_inputs, with_condition_table
from anomaly_diffusion.detector import load_detector
from anomaly_diffusion.errors import ConfigError
from anomaly_diffusion.inference import score_items, with_recorded_at
from anomaly_diffusion.jobs.common import (
    log_job_config,
    make_tracker,
    run_tags,
    seed_everything,
)
from anomaly_diffusion.jobs.configs import ScoreJobConfig
from anomaly_diffusion.jobs.maps import write_maps
from anomaly_diffusion.jobs.merge import merge_rows, read_previous
from anomaly_diffusion.jobs.onsets import write_partitioned_with_onsets, write_with_onsets
from anomaly_diffusion.scoring.closest_calls import RunningClosestCalls, margins
from anomaly_diffusion.scoring_config import describe_changes

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScoreSummary:
    """What a score job did; ``exit_code`` is 3 when any input failed, else 0."""

    output: Path
    scored: int
    anomalous: int
    failed: int
    seconds: float
    merged: tuple[int, int] | None = None  # (old rows kept, old rows replaced) when merged
    persistent: tuple[str, ...] = ()  # assets in persistent alarm at their latest recording

    @property
    def exit_code(self) -> int:
        return 3 if self.failed else 0

    def line(self) -> str:
        added = ""
        if self.merged is not None:
            kept, replaced = self.merged
            added = f" (added to the {kept + replaced} row(s) already there"
            added += f", {replaced} re-scored)" if replaced else ")"
        assets = ""
        if self.persistent:
            assets = f", {len(self.persistent)} asset(s) in persistent alarm"
        return (
            f"scored {self.scored} window(s), {self.anomalous} anomalous, {self.failed} failed "
            f"input(s){assets} in {self.seconds:.1f} s -> {self.output}{added}"
        )


def run_score(cfg: ScoreJobConfig) -> ScoreSummary:
    """Score every input; a failing input becomes a row with ``error`` set, never a crash."""
    from anomaly_diffusion.tracking.mlflow_tracker import fetch_model

    start = time.perf_counter()
    tracker = make_tracker(cfg.tracking)
    seed_everything(cfg.seed)
    detector = load_detector(fetch_model(cfg.model, tracking_uri=cfg.tracking.uri))
    detector.with_scoring(cfg.scoring.apply(detector.config.scoring))
    if changes := detector.stale_calibration():
        overrides = " ".join(f"scoring.{k}={new}" for k, (_, new) in changes.items())
        raise ConfigError(
            f"{describe_changes(changes)}: this model's threshold and map statistics hold for "
            "the settings it was calibrated with; recalibrate first, then score the new model: "
            f"anomaly-diffusion recalibrate model={cfg.model} {overrides} "
            "output=<folder>/model  (uses the held-out normals saved with the model; "
            "normal=<folder> for others)"
        )
    source_changes = {
        k: v
        for k, v in (("resample", cfg.resample), ("sample_rate", cfg.sample_rate))
        if v is not None
    }
    if source_changes:
        detector.config = replace(
            detector.config, source=replace(detector.config.source, **source_changes)
        )
    items = with_condition_table(resolve_inputs(cfg.input), cfg.condition_table)
    if cfg.asset:
        items = [replace(it, asset=cfg.asset) for it in items]
    items, watermark = _new_items(items, cfg)
    output = Path(cfg.output)
    tags = {**run_tags("score", cfg.seed), "input": cfg.input}
    with tracker.run(f"score-{detector.config.modality}", tags=tags):
        effective = flatten({"scoring": to_dict(detector.config.scoring)})
        log_job_config(tracker, cfg, n_inputs=len(items), **effective)
        if cfg.engine == "spark":
            frame = with_recorded_at(_score_on_spark(cfg, detector, items, output), items)
            persistent = write_partitioned_with_onsets(frame, output, k=cfg.onset_k)
        else:
            on_chunk = None if cfg.maps == "none" else _map_writer(cfg, output)
            frame = score_items(
                detector, items, seed=cfg.seed, on_chunk=on_chunk, clip_hop_s=cfg.long_hop_s
            )
            frame["model_uri"] = cfg.model
            frame = with_recorded_at(frame, items)
            merged, persistent = _write_rows(frame, output, merge=cfg.merges, k=cfg.onset_k)
        scored = frame["error"].isna()
        summary = ScoreSummary(
            output=output,
            scored=int(scored.sum()),
            anomalous=int(frame.loc[scored, "is_anomaly"].sum()),
            failed=int((~scored).sum()),
            seconds=time.perf_counter() - start,
            merged=merged if cfg.engine == "local" else None,
            persistent=persistent,
        )
        tracker.log_metrics(
            {
                "scored": summary.scored,
                "anomalous": summary.anomalous,
                "failed": summary.failed,
                "seconds": summary.seconds,
                "watermark": watermark,
            }
        )
        tracker.log_artifact(output)
    return summary


def _write_rows(
    frame, output: Path, *, merge: bool, k: int
) -> tuple[tuple[int, int] | None, tuple[str, ...]]:
    """Write the job's rows, with each asset's onset over the whole table (see
    :func:`write_with_onsets`); with ``merge``, into the table already at ``output``.

    Returns:
        ``(merged, persistent)``: the old rows kept and replaced (``None`` when there was no
        table to merge into) and the assets in persistent alarm.
    """
    previous = read_previous(output) if merge else None
    if previous is None:
        return None, write_with_onsets(frame, output, k=k)
    if frame.empty:
        logger.info("no new rows: %s left as it was (%d row(s))", output, len(previous))
        return (len(previous), 0), ()
    table, kept, replaced = merge_rows(previous, frame)
    persistent = write_with_onsets(table, output, k=k)
    logger.info(
        "%d new row(s) added to %s (%d kept, %d replaced)", len(frame), output, kept, replaced
    )
    return (kept, replaced), persistent


def _score_on_spark(cfg: ScoreJobConfig, detector, items: list, output: Path) -> pd.DataFrame:
    """Signals and images: one Spark row per planned window, scored by the pyfunc as a Spark
    UDF; tables and videos: one row per file, every window scored on the executors."""
    from anomaly_diffusion.data.plan import plan_windows, unplannable
    from anomaly_diffusion.tracking.mlflow_tracker import is_model_uri
    from anomaly_diffusion.tracking.spark import score_on_spark

    if cfg.maps != "none":
        logger.warning("engine=spark writes no map PNGs; score alarms again locally for maps")
    if cfg.seed != 0:
        logger.warning("engine=spark scores with the pyfunc's seed 0 (seed=%d ignored)", cfg.seed)
    source, features = detector.config.source, detector.config.features
    whole = set(unplannable(items))
    planned = [
        w
        for it in items
        if it.path not in whole
        for w in plan_windows(it, source=source, features=features)
    ]
    rows, files = _spark_rows(planned), _spark_rows([it for it in items if it.path in whole])
    model_uri = cfg.model if is_model_uri(cfg.model) else str(Path(cfg.model).resolve())
    return score_on_spark(
        model_uri, rows, output, master=cfg.spark_master, model_label=cfg.model, files=files
    )


def _spark_rows(items: list) -> pd.DataFrame:
    rows = pd.DataFrame(
        [
            {
                "path": it.path,
                "start_s": it.start_s,
                "end_s": it.end_s,
                "asset": it.asset,
                **dict(it.conditions),
            }
            for it in items
        ],
        columns=None if items else ["path", "start_s", "end_s", "asset"],
    )
    for col in ("start_s", "end_s"):
        rows[col] = rows[col].astype(float)
    return rows


def _new_items(items: list, cfg: ScoreJobConfig) -> tuple[list, float | None]:
    """Inputs modified after ``cfg.since`` and the new watermark (the newest modification time
    among all inputs, in Unix seconds; ``None`` when no input file exists)."""
    times = {it.path: _mtime(it.path) for it in items}
    known = [t for t in times.values() if t is not None]
    if cfg.since is None:
        return items, max(known, default=None)
    if cfg.since == "last":
        from anomaly_diffusion.tracking.watermark import last_watermark

        since = last_watermark(
            cfg.input, tracking_uri=cfg.tracking.uri, experiment=cfg.tracking.experiment
        )
    else:
        since = datetime.fromisoformat(cfg.since).timestamp()
    if since is None:
        logger.info(
            "since=last: no earlier finished run on input=%s, scoring everything", cfg.input
        )
        return items, max(known, default=None)
    fresh = [it for it in items if times[it.path] is None or times[it.path] > since]
    logger.info(
        "since=%s: %d of %d input(s) modified after %s",
        cfg.since,
        len(fresh),
        len(items),
        datetime.fromtimestamp(since).isoformat(timespec="seconds"),
    )
    return fresh, max([since, *known])


def _mtime(path: str) -> float | None:
    try:
        return Path(path).stat().st_mtime
    except OSError:
        return None  # missing files are reported by the readers


def _map_writer(cfg: ScoreJobConfig, output: Path):
    """Chunk hook writing PNGs for the chosen windows (``maps``), and with ``maps=anomalous``
    for the ``closest_calls`` non-alarm windows nearest to their threshold so far (a PNG of a
    window pushed out of that set by a closer one later is removed again); ``map_path`` is
    relative to the output's folder."""
    folder = Path(cfg.maps_dir) if cfg.maps_dir else output.parent / f"{output.stem}_maps"
    base = output.parent.resolve()
    closest = RunningClosestCalls(cfg.closest_calls if cfg.maps == "anomalous" else 0)
    written: dict[int, tuple[pd.DataFrame, int, Path]] = {}  # closest-call key -> its map
    keys = itertools.count()

    def write(windows, result, rows: pd.DataFrame) -> pd.DataFrame:
        alarm = result.is_anomaly
        chosen = [i for i in range(len(windows)) if cfg.maps == "all" or alarm[i]]
        calls: dict[int, int] = {}  # key -> window index in this chunk
        if closest.n:
            thresholds = np.broadcast_to(
                np.nan if result.threshold is None else result.threshold, result.scores.shape
            )
            for i, margin in enumerate(margins(result.scores, thresholds)):
                if alarm[i]:
                    continue
                key = next(keys)
                kept, evicted = closest.offer(key, margin)
                if kept:
                    calls[key] = i
                for old in evicted:
                    if calls.pop(old, None) is None:
                        _forget_map(*written.pop(old))
        paths = write_maps(windows, result, chosen + sorted(calls.values()), folder)
        index_of = {i: key for key, i in calls.items()}
        for i, path in paths.items():
            resolved = path.resolve()
            rows.loc[i, "map_path"] = str(
                resolved.relative_to(base) if resolved.is_relative_to(base) else resolved
            )
            if i in index_of:
                written[index_of[i]] = (rows, i, path)
        return rows

    return write


def _forget_map(rows: pd.DataFrame, i: int, path: Path) -> None:
    """Remove the PNG of a window that is no longer a closest call, and its ``map_path``."""
    path.unlink(missing_ok=True)
    rows.loc[i, "map_path"] = None
