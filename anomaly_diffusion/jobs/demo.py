"""``demo`` job: synthetic plant -> one model per modality -> scores -> one HTML report."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from anomaly_diffusion.config import TrackingConfig
from anomaly_diffusion.data.synthetic import make_plant
from anomaly_diffusion.jobs.common import write_table
from anomaly_diffusion.jobs.configs import ReportJobConfig, ScoreJobConfig, TrainJobConfig
from anomaly_diffusion.jobs.report import run_report
from anomaly_diffusion.jobs.score import run_score
from anomaly_diffusion.jobs.train import run_train

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoResult:
    """Where the demo wrote things, and each model's test metrics."""

    report: Path
    scores: Path
    metrics: dict[str, dict]
    run_dirs: dict[str, Path] = field(default_factory=dict)


def plant_root(out_dir: str | Path) -> Path:
    """Folder the synthetic plant is written to."""
    return Path(out_dir) / "plant"


def run_demo(
    trains: Sequence[TrainJobConfig], *, out_dir: str | Path, seed: int, tracking: TrackingConfig
) -> DemoResult:
    """Train, score and report each modality of ``trains`` (data.root must point into the plant)."""
    out_dir = Path(out_dir)
    make_plant(plant_root(out_dir), seed=seed, modalities=[t.detector.modality for t in trains])
    metrics, run_dirs, tables = {}, {}, []
    for cfg in trains:
        modality = cfg.detector.modality
        logger.info("== %s: training on %s", modality, cfg.data.root)
        metrics[modality] = run_train(cfg)
        run_dirs[modality] = Path(cfg.run_dir)
        score_cfg = ScoreJobConfig(
            model=str(Path(cfg.run_dir) / "model"),
            input=str(Path(cfg.data.root) / "test"),
            output=str(out_dir / f"scores_{modality}.parquet"),
            asset=f"{modality} machine",
            tracking=tracking,
            seed=seed,
        )
        summary = run_score(score_cfg)
        logger.info("== %s: %s", modality, summary.line())
        tables.append(pd.read_parquet(summary.output))
    scores = write_table(pd.concat(tables, ignore_index=True), out_dir / "scores.parquet")
    report = run_report(
        ReportJobConfig(
            input=str(scores),
            output=str(out_dir / "report.html"),
            title="anomaly_diffusion demo: synthetic plant",
            tracking=tracking,
        )
    )
    return DemoResult(report=report, scores=scores, metrics=metrics, run_dirs=run_dirs)
