"""``score`` job: batch scoring to the score-output contract (Parquet/CSV + map PNGs)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from anomaly_diffusion.config import flatten, to_dict
from anomaly_diffusion.data.dataset import resolve_inputs, with_condition_table
from anomaly_diffusion.detector import load_detector
from anomaly_diffusion.inference import score_items
from anomaly_diffusion.jobs.common import (
    log_job_config,
    make_tracker,
    run_tags,
    seed_everything,
    write_table,
)
from anomaly_diffusion.jobs.configs import ScoreJobConfig
from anomaly_diffusion.jobs.maps import write_maps

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScoreSummary:
    """What a score job did; ``exit_code`` is 3 when any input failed, else 0."""

    output: Path
    scored: int
    anomalous: int
    failed: int
    seconds: float

    @property
    def exit_code(self) -> int:
        return 3 if self.failed else 0

    def line(self) -> str:
        return (
            f"scored {self.scored} window(s), {self.anomalous} anomalous, {self.failed} failed "
            f"input(s) in {self.seconds:.1f} s -> {self.output}"
        )


def run_score(cfg: ScoreJobConfig) -> ScoreSummary:
    """Score every input; a failing input becomes a row with ``error`` set, never a crash."""
    from anomaly_diffusion.tracking.mlflow_tracker import fetch_model

    start = time.perf_counter()
    tracker = make_tracker(cfg.tracking)
    seed_everything(cfg.seed)
    detector = load_detector(fetch_model(cfg.model, tracking_uri=cfg.tracking.uri))
    detector.with_scoring(cfg.scoring.apply(detector.config.scoring))
    if cfg.resample is not None:
        detector.config = replace(
            detector.config, source=replace(detector.config.source, resample=cfg.resample)
        )
    items = with_condition_table(resolve_inputs(cfg.input), cfg.condition_table)
    if cfg.asset:
        items = [replace(it, asset=cfg.asset) for it in items]
    output = Path(cfg.output)
    with tracker.run(f"score-{detector.config.modality}", tags=run_tags("score", cfg.seed)):
        effective = flatten({"scoring": to_dict(detector.config.scoring)})
        log_job_config(tracker, cfg, n_inputs=len(items), **effective)
        on_chunk = None if cfg.maps == "none" else _map_writer(cfg, output)
        frame = score_items(detector, items, seed=cfg.seed, on_chunk=on_chunk)
        frame["model_uri"] = cfg.model
        write_table(frame, output)
        scored = frame["error"].isna()
        summary = ScoreSummary(
            output=output,
            scored=int(scored.sum()),
            anomalous=int(frame.loc[scored, "is_anomaly"].sum()),
            failed=int((~scored).sum()),
            seconds=time.perf_counter() - start,
        )
        tracker.log_metrics(
            {
                "scored": summary.scored,
                "anomalous": summary.anomalous,
                "failed": summary.failed,
                "seconds": summary.seconds,
            }
        )
        tracker.log_artifact(output)
    return summary


def _map_writer(cfg: ScoreJobConfig, output: Path):
    """Chunk hook writing PNGs for the chosen windows; ``map_path`` is relative to the output's
    folder."""
    folder = Path(cfg.maps_dir) if cfg.maps_dir else output.parent / f"{output.stem}_maps"
    base = output.parent.resolve()

    def write(windows, result, rows: pd.DataFrame) -> pd.DataFrame:
        chosen = [i for i in range(len(windows)) if cfg.maps == "all" or result.is_anomaly[i]]
        for i, path in write_maps(windows, result, chosen, folder).items():
            resolved = path.resolve()
            rows.loc[i, "map_path"] = str(
                resolved.relative_to(base) if resolved.is_relative_to(base) else resolved
            )
        return rows

    return write
