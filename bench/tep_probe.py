"""Probe: the process preset on Tennessee Eastman with the protocol of ``bench/tep.py``, beside
PCA T² and Q calibrated on the same held-out rows. ``TRAIN_HOP=<s>`` overrides the training
hop (the shipped rule is :func:`~anomaly_diffusion.data.windows.training_features`); extra
arguments are Hydra overrides of the preset; ``SEED=<n>`` the training and noise seed (the
split stays seed 0). Figures in bench/results/tep_2026-12-02.md.

    .venv/bin/python bench/tep_probe.py [override ...]
"""

from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import preset_job, shared_root
from tep import evaluate, tep_items

from anomaly_diffusion.baselines.detector import make_baseline
from anomaly_diffusion.data.stream import load_windows
from anomaly_diffusion.data.windows import training_features
from anomaly_diffusion.detector import DiffusionAnomalyDetector
from anomaly_diffusion.inference import read_held_out


def show(name: str, res: dict) -> None:
    print(
        f"{name}: FAR d00_te {res['far_d00te']:.3f}  mean AUROC {res['mean_auroc']:.3f}  "
        f"FDR {res['mean_fdr']:.3f}  FDR@1% {res['mean_fdr_at_1pct']:.3f}"
    )
    print("   ", " ".join(f"{k}:{v['auroc']:.2f}/{v['fdr']:.2f}" for k, v in res["faults"].items()))


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    cfg = preset_job("process", *sys.argv[1:]).detector
    fit_items, val_items, test = tep_items(shared_root() / "tennessee_eastman", cfg.source)
    seed = int(os.environ.get("SEED", "0"))
    hop = float(os.environ.get("TRAIN_HOP", "0"))
    train_features = (
        replace(cfg.features, hop_seconds=hop) if hop else training_features(cfg.features)
    )
    fit_w, _ = load_windows(fit_items, source=cfg.source, features=train_features)
    start = time.time()
    det = DiffusionAnomalyDetector(cfg).fit(fit_w, seed=seed)
    print(
        f"train {time.time() - start:.0f} s, {det.train_result_.steps} steps, {len(fit_w)} windows"
    )
    val_w, _ = read_held_out(det, val_items)
    det.calibrate(val_w, seed=seed)
    test_w, _ = load_windows(
        test, source=cfg.source, features=cfg.features, expected_rate=det.sample_rate_
    )

    def scorer(model):
        def score(windows):
            result = model.score(windows, seed=seed)
            return result.scores, result.threshold

        return score

    show("diffusion", evaluate(scorer(det), test_w))
    for name in ("pca_t2", "pca_q"):
        baseline = make_baseline(name, cfg).fit(fit_w, seed=0)
        baseline.calibrate(val_w, seed=0)
        show(name, evaluate(scorer(baseline), test_w))


if __name__ == "__main__":
    main()
