"""``train`` job: fit on normal data, calibrate the threshold on held-out normal files, evaluate on
the test split, save the model and log everything."""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from anomaly_diffusion.atomic import atomic_path
from anomaly_diffusion.data.dataset import load_items, split_validation
from anomaly_diffusion.data.stream import item_end_s, load_windows
from anomaly_diffusion.data.windows import training_features
from anomaly_diffusion.detector import DiffusionAnomalyDetector
from anomaly_diffusion.errors import DataError
from anomaly_diffusion.heap import release_free_memory
from anomaly_diffusion.inference import read_held_out, read_windows
from anomaly_diffusion.jobs.common import (
    feature_cache,
    git_commit,
    log_job_config,
    make_tracker,
    run_tags,
    seed_everything,
    write_json,
    write_table,
    write_text_atomic,
    write_yaml,
)
from anomaly_diffusion.jobs.configs import TrainJobConfig
from anomaly_diffusion.jobs.evaluation import empty_metrics, evaluate_windows
from anomaly_diffusion.jobs.maps import write_maps
from anomaly_diffusion.jobs.model_card import model_card
from anomaly_diffusion.reports.evaluation_plots import save_evaluation_plots
from anomaly_diffusion.scoring.chooser import tune_then_calibrate
from anomaly_diffusion.training.loop import CheckpointPlan

logger = logging.getLogger(__name__)

#: Manifest ``split`` values naming validation rows (threshold calibration, ``method=f1``).
VALIDATION_SPLITS = ("val", "validation")


def run_train(cfg: TrainJobConfig) -> dict[str, Any]:
    """Run the train job; returns the metrics written to ``run_dir/metrics.json``."""
    items = load_items(
        root=cfg.data.root, manifest=cfg.data.manifest, condition_table=cfg.data.condition_table
    )
    tracker = make_tracker(cfg.tracking)  # unreachable store fails here, before any work
    seed_everything(cfg.seed)
    train_items = [it for it in items if it.split == "train" and it.label in (0, None)]
    test_items = [it for it in items if it.split == "test"]
    if not train_items:
        raise DataError(
            "no normal training items: put files in train/good/ or give manifest rows "
            "with split=train and label=0"
        )
    given_val = [it for it in items if it.split in VALIDATION_SPLITS]
    val_anomalous = [it for it in given_val if it.label == 1]
    if given_val:  # the manifest names the validation rows: use them as they are
        fit_items, val_items = train_items, [it for it in given_val if it.label != 1]
    else:
        fit_items, val_items = split_validation(
            train_items,
            fraction=cfg.data.val_fraction,
            rng=np.random.default_rng(cfg.seed),
            end_of=lambda item: item_end_s(item, cfg.detector.source),
        )
    run_dir = Path(cfg.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    data_name = Path(cfg.data.root or cfg.data.manifest).name
    if cfg.model != "diffusion":
        return _run_baseline(
            cfg, fit_items, val_items, test_items, tracker, data_name, val_anomalous
        )
    name = f"train-{cfg.detector.modality}-{data_name}"
    with tracker.run(name, tags={**run_tags("train", cfg.seed), "model": "diffusion"}):
        write_yaml(run_dir / "config.yaml", log_job_config(tracker, cfg))
        detector, metrics = _fit(cfg, fit_items, val_items, tracker, val_anomalous)
        if test_items:
            found = _evaluate(cfg, detector, test_items, run_dir)
            metrics.update({k: v for k, v in found.items() if v is not None})
        metrics["n_train"] = len(fit_items)
        _save_model(detector, run_dir / "model")
        write_json(run_dir / "metrics.json", metrics)
        tracker.log_metrics({k: v for k, v in metrics.items() if k != "auroc_by_defect"})
        tracker.log_metrics(
            {f"auroc_{k}": v for k, v in (metrics["auroc_by_defect"] or {}).items()}
        )
        card = model_card(
            cfg,
            metrics,
            commit=git_commit(),
            resolution=detector.calibration_resolution_,
            counts={
                "train files": len({it.path for it in fit_items}),
                "validation files": len({it.path for it in val_items}),
                "test files": len({it.path for it in test_items}),
            },
        )
        write_text_atomic(run_dir / "model_card.md", card)
        tracker.log_artifact(run_dir / "metrics.json")
        tracker.log_artifact(run_dir / "model_card.md")
        tracker.log_artifact(run_dir / "figures", folder="figures")
        registered = cfg.tracking.registered_model_name if cfg.tracking.enabled else None
        if registered:
            _parity_gate(detector, run_dir / "model", test_items or val_items)
        model_uri = tracker.log_model(
            _detector_dir(run_dir / "model"), registered_name=registered, card=card
        )
    logger.info(
        "model saved to %s%s", run_dir / "model", f" and logged as {model_uri}" if model_uri else ""
    )
    return metrics


def _run_baseline(
    cfg: TrainJobConfig, fit_items, val_items, test_items, tracker, data_name: str, val_anomalous
) -> dict[str, Any]:
    """``train model=isolation_forest|pca|dense_ae|patchcore|padim``: the same reading, splits,
    threshold rule, metrics, figures and MLflow logging as the diffusion model, for side-by-side
    comparison (run name ``train-<model>-<data>``, tag ``model``). No model is saved: baselines
    are for comparison, not for scoring."""
    from anomaly_diffusion.baselines.detector import make_baseline

    run_dir = Path(cfg.run_dir)
    baseline = make_baseline(cfg.model, cfg.detector, max_minutes=cfg.detector.training.max_minutes)
    name = f"train-{cfg.model}-{data_name}"
    with tracker.run(name, tags={**run_tags("train", cfg.seed), "model": cfg.model}):
        write_yaml(run_dir / "config.yaml", log_job_config(tracker, cfg))
        cache = feature_cache(cfg.data)
        det_cfg = cfg.detector
        fit_windows, _ = load_windows(
            fit_items,
            source=det_cfg.source,
            features=training_features(det_cfg.features),
            cache=cache,
            desc="reading training data",
        )
        start = time.perf_counter()
        baseline.fit(fit_windows, seed=cfg.seed)
        train_seconds = time.perf_counter() - start
        val_windows, _ = read_held_out(
            baseline, val_items, desc="reading validation data", cache=cache
        )
        if not val_windows:
            raise DataError(
                "no held-out normal windows to calibrate the threshold; add training files "
                "or raise data.val_fraction"
            )
        anomalous_windows, _ = read_windows(
            baseline, val_anomalous, desc="reading validation anomalies", cache=cache
        )
        baseline.calibrate(val_windows, seed=cfg.seed, anomalous=anomalous_windows)
        metrics = empty_metrics()
        metrics.update(
            threshold=baseline.threshold_, train_seconds=train_seconds, network_evals_per_item=0
        )
        if test_items:
            found = _evaluate(cfg, baseline, test_items, run_dir)
            metrics.update({k: v for k, v in found.items() if v is not None})
        metrics["n_train"] = len(fit_items)
        write_json(run_dir / "metrics.json", metrics)
        tracker.log_metrics({k: v for k, v in metrics.items() if k != "auroc_by_defect"})
        tracker.log_artifact(run_dir / "metrics.json")
        tracker.log_artifact(run_dir / "figures", folder="figures")
    logger.info(
        "%s baseline: AUROC %s, metrics in %s (baselines are not saved as models)",
        cfg.model,
        metrics.get("auroc"),
        run_dir / "metrics.json",
    )
    return metrics


def _fit(
    cfg: TrainJobConfig, fit_items, val_items, tracker, val_anomalous=()
) -> tuple[DiffusionAnomalyDetector, dict]:
    det_cfg = cfg.detector
    cache = feature_cache(cfg.data)
    fit_windows, fit_failed = load_windows(
        fit_items,
        source=det_cfg.source,
        features=training_features(det_cfg.features),
        cache=cache,
        desc="reading training data",
    )
    if fit_failed:
        logger.warning("%d training file(s) skipped (see warnings above)", len(fit_failed))
    plan = CheckpointPlan(
        path=Path(cfg.run_dir) / "checkpoints" / "last.safetensors",
        every=det_cfg.training.checkpoint_every,
        resume=cfg.resume,
    )
    detector = DiffusionAnomalyDetector(det_cfg).fit(
        fit_windows,
        seed=cfg.seed,
        on_log=lambda s, m: tracker.log_metrics(m, step=s),
        checkpoint=plan,
        conditions=cfg.data.conditions,
    )
    n_fit = len(fit_windows)
    del fit_windows  # the training frames are not needed again: free them before calibration
    release_free_memory()  # and the encoded training maps, freed with the fit
    val_windows, _ = read_held_out(detector, val_items, desc="reading validation data", cache=cache)
    if not val_windows:
        raise DataError(
            "no held-out normal windows to calibrate the threshold; add training files "
            "or raise data.val_fraction"
        )
    anomalous_windows, _ = read_windows(
        detector, val_anomalous, desc="reading validation anomalies", cache=cache
    )
    tuned, _ = tune_then_calibrate(
        detector,
        val_windows,
        cfg.tune if cfg.tune.enabled else None,
        seed=cfg.seed,
        anomalous=anomalous_windows,
    )
    if tuned is not None:
        _log_tuning(cfg, detector, tuned, tracker)
    metrics = empty_metrics()
    metrics.update(
        threshold=detector.threshold_,
        train_seconds=detector.train_result_.seconds,
        network_evals_per_item=detector.network_evals_per_item(),
    )
    tracker.log_metrics(
        {
            "train_steps": detector.train_result_.steps,
            "n_train_windows": n_fit,
            "n_val_windows": len(val_windows),
        }
    )
    return detector, metrics


def _log_tuning(cfg: TrainJobConfig, detector, result, tracker) -> None:
    """Log the label-free choice (params ``tune.chosen.*``, metric ``tune_synthetic_auroc``,
    artifact ``tune.csv``)."""
    best = max(r["auroc"] for r in result.table)
    chosen = ("t_start", "map_type", "map_normalization", "smoothing_sigma", "aggregation")
    chosen += ("n_repeats",) if cfg.tune.draws else ()
    tracker.log_params({f"tune.chosen.{k}": getattr(result.scoring, k) for k in chosen})
    tracker.log_metrics(
        {
            "tune_synthetic_auroc": best,
            "tune_n_candidates": len(result.table),
            "tune_n_synthetic": result.n_synthetic,
        }
    )
    path = Path(cfg.run_dir) / "tune.csv"
    write_table(pd.DataFrame(result.table).sort_values("auroc", ascending=False), path)
    tracker.log_artifact(path)


def _evaluate(cfg: TrainJobConfig, detector, test_items, run_dir: Path) -> dict[str, Any]:
    windows, failed = read_windows(
        detector, test_items, desc="reading test data", cache=feature_cache(cfg.data)
    )
    if not windows:
        logger.warning("no readable test windows: metrics left empty")
        return {}
    metrics, result = evaluate_windows(detector, windows, seed=cfg.seed)
    top = np.argsort(-result.scores)[: cfg.max_maps].tolist()
    write_maps(windows, result, top, run_dir / "figures")
    save_evaluation_plots(windows, result, run_dir / "figures")
    if failed:
        logger.warning("%d test file(s) could not be scored", len(failed))
    return metrics


def _parity_gate(detector, model_dir: Path, items, *, n: int = 3) -> None:
    """Refuse to register a model whose pyfunc does not score golden inputs (the first ``n``
    readable items) exactly as the in-process detector (tolerance 1e-5)."""
    from anomaly_diffusion.inference import score_items
    from anomaly_diffusion.tracking.parity import parity_check

    golden = list(items)[:n]
    if not golden:
        return
    expected = score_items(detector, golden, seed=0)
    inputs = pd.DataFrame(
        [
            {
                "path": it.path,
                "start_s": it.start_s,
                "end_s": it.end_s,
                "asset": it.asset,
                **dict(it.conditions),
            }
            for it in golden
        ]
    ).dropna(axis=1, how="all")
    diff = parity_check(model_dir, expected, inputs)
    logger.info("parity gate passed on %d golden input(s): max |diff| %.2g", len(golden), diff)


def _save_model(detector: DiffusionAnomalyDetector, target: Path) -> None:
    """Save the detector inside an MLflow pyfunc model folder, atomically."""
    from anomaly_diffusion.tracking.pyfunc import save_pyfunc

    with atomic_path(target) as tmp, tempfile.TemporaryDirectory() as det_tmp:
        save_pyfunc(detector.save(Path(det_tmp) / "detector"), tmp)


def _detector_dir(model_dir: Path) -> Path:
    from anomaly_diffusion.tracking.pyfunc import detector_dir_of

    return detector_dir_of(model_dir)
