"""Other scoring settings on the same trained model, for BENCHMARKS.md rows: the preset with the
label-free chooser (``tune.enabled=true``), the preset under bfloat16 autocast (also with one
noise draw), and the AnoDDPM-style reference (``t_start=250``, ``n_steps=250``, one draw)."""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import replace

import numpy as np
from sklearn.metrics import roc_auc_score

from anomaly_diffusion.config import TuneConfig
from anomaly_diffusion.jobs.evaluation import evaluate_windows
from anomaly_diffusion.metrics import bootstrap_auroc_ci
from anomaly_diffusion.scoring.chooser import tune_then_calibrate

logger = logging.getLogger("bench")
REFERENCE = {"t_start": 250, "n_steps": 250, "n_repeats": 1}


def _figures(metrics: dict, scores: np.ndarray, labels: np.ndarray, seed: int) -> dict:
    """The row fields every re-scored variant shares: detection figures, speed, alarms."""
    return {
        "auroc": metrics["auroc"],
        "pauc": metrics["pauc"],
        "pixel_auroc": metrics["pixel_auroc"],
        "aupro": metrics.get("aupro"),
        "ci": bootstrap_auroc_ci(labels, scores, n_boot=500, rng=np.random.default_rng(seed)),
        "ms_per_item": 1000 * metrics["score_seconds_per_item"],
        "by_defect": metrics["auroc_by_defect"],
        "far": metrics["false_alarm_rate"],
        "recall": metrics["recall"],
    }


def tuned_row(det, val_w, test_w, labels, seed: int, base_row: dict) -> dict:
    """The preset with scoring settings chosen from held-out normals + synthetic anomalies
    (search with one noise draw; the chosen settings score with the preset's draws)."""
    tuned = copy.deepcopy(det)
    start = time.perf_counter()
    # as `train`: half the held-out files tune, the other half calibrate
    result, _ = tune_then_calibrate(tuned, val_w, TuneConfig(n_repeats=1), seed=seed)
    tune_s = time.perf_counter() - start
    metrics, scored = evaluate_windows(tuned, test_w, seed=seed)
    if result is None:  # as `train`: too few held-out windows to split, nothing tuned
        method = "diffusion, label-free tuning (too few held-out windows: preset settings)"
        note = (
            f"{len(val_w)} held-out window(s) cannot be split into a tuning and a calibration share"
        )
    else:
        s = result.scoring
        method = (
            f"diffusion, label-free tuning (chose t={s.t_start}, {s.map_type}, "
            f"{s.map_normalization} norm., sigma {s.smoothing_sigma:g}, {s.aggregation})"
        )
        note = f"tuning took {tune_s:.0f} s ({len(result.table)} candidates)"
    return {
        **base_row,
        "method": method,
        **_figures(metrics, scored.scores, labels, seed),
        "train_s": base_row["train_s"] + tune_s,
        "evals": tuned.network_evals_per_item(),
        "note": note,
    }


FAST_SCORING = {"precision": "bfloat16"}, {"precision": "bfloat16", "n_repeats": 1}
"""Cheaper scoring settings measured beside the preset: bfloat16, and bfloat16 with one draw."""


def scoring_rows(det, val_w, test_w, labels, seed: int, base_row: dict) -> list[dict]:
    """The preset with each of :data:`FAST_SCORING`, recalibrated on the same held-out windows:
    AUROC, false alarms and speed beside the float32 preset."""
    rows = []
    for changes in FAST_SCORING:
        fast = copy.deepcopy(det)
        fast.with_scoring(replace(fast.config.scoring, **changes))
        fast.calibrate(val_w, seed=seed)
        metrics, scored = evaluate_windows(fast, test_w, seed=seed)
        settings = " ".join(f"scoring.{k}={v}" for k, v in changes.items())
        rows.append(
            {
                **base_row,
                "method": f"diffusion preset, {settings}",
                **_figures(metrics, scored.scores, labels, seed),
                "evals": fast.network_evals_per_item(),
                "note": None,
            }
        )
    return rows


MIN_PER_CLASS = 5


def reference_rows(det, test_w, labels, default_scores, seed: int, budget_s: float) -> list[dict]:
    """AnoDDPM-style reference on a stratified test subset sized to ``budget_s``, and the default
    on the same subset (so the ratio compares like with like). No map normalization (the
    reference has none); the threshold is not needed for AUROC."""
    ref = copy.deepcopy(det)
    ref.config = replace(
        ref.config, scoring=replace(ref.config.scoring, **REFERENCE, map_normalization="none")
    )
    # Score class-balanced pairs until the budget is spent (at least MIN_PER_CLASS of each),
    # so that the slow reference never overruns its budget by more than one pair.
    rng = np.random.default_rng(seed)
    normal, anomalous = (rng.permutation(np.flatnonzero(labels == c)) for c in (0, 1))
    pairs = list(zip(normal, anomalous, strict=False))  # random pairs, one of each class
    done: list[int] = []
    parts = []
    start = time.perf_counter()
    for pair in pairs:
        # scores only (no threshold: AUROC needs none, and it was calibrated for the preset)
        parts.append(ref.score_maps(ref.raw_maps([test_w[i] for i in pair], seed=seed)).scores)
        done.extend(int(i) for i in pair)
        if len(done) >= 2 * MIN_PER_CLASS and time.perf_counter() - start >= budget_s:
            break
    seconds = time.perf_counter() - start
    idx, scores = np.array(done), np.concatenate(parts)
    sub = labels[idx]
    logger.info("reference: %d items in %.0f s", len(idx), seconds)
    common = {
        "pixel_auroc": None,
        "aupro": None,
        "ci": bootstrap_auroc_ci(sub, scores, n_boot=500, rng=np.random.default_rng(seed)),
        "train_s": 0.0,
        "by_defect": None,
        "far": None,
        "recall": None,
        "steps": None,
    }
    note = f"on a stratified subset of {len(idx)} test items ({int(sub.sum())} anomalous)"
    return [
        {
            **common,
            "method": "AnoDDPM-style reference (t_start 250, 250 DDIM steps, 1 draw), same model",
            "auroc": roc_auc_score(sub, scores),
            "pauc": roc_auc_score(sub, scores, max_fpr=0.1),
            "ms_per_item": 1000 * seconds / len(idx),
            "evals": ref.network_evals_per_item(),
            "note": note,
        },
        {
            **common,
            "method": "diffusion preset on the same subset",
            "auroc": roc_auc_score(sub, default_scores[idx]),
            "pauc": roc_auc_score(sub, default_scores[idx], max_fpr=0.1),
            "ci": bootstrap_auroc_ci(
                sub, default_scores[idx], n_boot=500, rng=np.random.default_rng(seed)
            ),
            "ms_per_item": None,
            "evals": det.network_evals_per_item(),
            "note": note,
        },
    ]
