"""``evaluate`` job: metrics of a saved model on a labelled dataset's test split."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from anomaly_diffusion.config import flatten, to_dict
from anomaly_diffusion.data.dataset import load_items
from anomaly_diffusion.detector import load_detector
from anomaly_diffusion.errors import DataError
from anomaly_diffusion.inference import read_windows
from anomaly_diffusion.jobs.common import (
    feature_cache,
    log_job_config,
    make_tracker,
    run_tags,
    seed_everything,
    write_json,
)
from anomaly_diffusion.jobs.configs import EvaluateJobConfig
from anomaly_diffusion.jobs.evaluation import evaluate_windows
from anomaly_diffusion.jobs.recalibrate import recalibrate
from anomaly_diffusion.reports.evaluation_plots import save_evaluation_plots

logger = logging.getLogger(__name__)


def run_evaluate(cfg: EvaluateJobConfig) -> dict[str, Any]:
    """Run the evaluate job; returns the metrics written to ``run_dir/metrics.json``."""
    from anomaly_diffusion.tracking.mlflow_tracker import fetch_model

    tracker = make_tracker(cfg.tracking)
    seed_everything(cfg.seed)
    detector = load_detector(fetch_model(cfg.model, tracking_uri=cfg.tracking.uri))
    detector.with_scoring(cfg.scoring.apply(detector.config.scoring))
    # changed calibrated settings: threshold and map statistics fit again, never stale
    recalibrated = (
        recalibrate(detector, cfg.normal, seed=cfg.seed) if (detector.stale_calibration()) else 0
    )
    test_items = [
        it
        for it in load_items(
            root=cfg.data.root,
            manifest=cfg.data.manifest,
            condition_table=cfg.data.condition_table,
            require_train=False,  # a saved model needs no training files
        )
        if it.split == "test"
    ]
    if not test_items:
        raise DataError(
            f"data.root={cfg.data.root or cfg.data.manifest}: no test items; expected "
            "test/good/ and test/<defect>/ folders or manifest rows with split=test"
        )
    det_cfg = detector.config
    windows, failed = read_windows(
        detector, test_items, desc="reading test data", cache=feature_cache(cfg.data)
    )
    if not windows:
        raise DataError(
            f"none of the {len(test_items)} test files could be read; first error: {failed[0][1]}"
        )
    with tracker.run(f"evaluate-{det_cfg.modality}", tags=run_tags("evaluate", cfg.seed)):
        effective = flatten({"scoring": to_dict(det_cfg.scoring)})
        log_job_config(tracker, cfg, **effective)
        metrics, result = evaluate_windows(detector, windows, seed=cfg.seed)
        metrics["n_failed"] = len(failed)
        metrics["recalibrated_windows"] = recalibrated
        path = write_json(Path(cfg.run_dir) / "metrics.json", metrics)
        figures = Path(cfg.run_dir) / "figures"
        save_evaluation_plots(windows, result, figures)
        tracker.log_metrics({k: v for k, v in metrics.items() if k != "auroc_by_defect"})
        tracker.log_artifact(path)
        tracker.log_artifact(figures, folder="figures")
    return metrics
