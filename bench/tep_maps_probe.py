"""Probe: how the process preset's anomaly maps become scores, on Tennessee Eastman.

Trains the process preset once (or loads ``MODEL=<dir>`` saved by an earlier run), computes the
raw residual maps (sensors x rows) of the held-out and test windows once per ``t_start``, and
compares map post-processing variants (per-sensor z-scores against the held-out normal maps,
smoothing across sensors or along time only, aggregation) with the protocol of ``bench/tep.py``
(row AUROC per fault against ``d00_te``; FDR@1 %). PCA Q on the same windows is the reference.
``VARIANTS="t_start,normalization,aggregation;..."`` calibrates each as the CLI does and
reports its operating point; ``WHITEN=<eps>`` whitens every window's sensor rows with the
training rows' covariance + eps I first (the probe behind ``features.sensor_whitening``);
arguments are Hydra overrides of the preset (e.g. ``source.baseline_s=14400``). Figures in
bench/results/tep_maps_2026-12-04.md.

    MODEL=/tmp/tep_model T_STARTS=100,250 .venv/bin/python bench/tep_maps_probe.py
"""

from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import preset_job, shared_root
from tep import evaluate, file_rows, protocol, tep_items

from anomaly_diffusion.baselines.detector import make_baseline
from anomaly_diffusion.data.stream import load_windows
from anomaly_diffusion.data.windows import training_features
from anomaly_diffusion.detector import DiffusionAnomalyDetector
from anomaly_diffusion.features.sensor_whitening import fit_sensor_whitening, whiten_sensors
from anomaly_diffusion.inference import read_held_out
from anomaly_diffusion.scoring.aggregate import aggregate_map
from anomaly_diffusion.scoring.map_stats import apply_map_stats, fit_map_stats


def line(name: str, res: dict) -> str:
    faults = " ".join(f"{k}:{v['auroc']:.3f}" for k, v in res["faults"].items())
    return (
        f"{name:<44} AUROC {res['mean_auroc']:.3f} FDR@1% {res['mean_fdr_at_1pct']:.3f} | {faults}"
    )


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    cfg = preset_job("process", *sys.argv[1:]).detector
    fit_items, val_items, test = tep_items(shared_root() / "tennessee_eastman", cfg.source)
    model_dir = Path(os.environ.get("MODEL", "/tmp/tep_model"))
    fit_w, _ = load_windows(fit_items, source=cfg.source, features=training_features(cfg.features))
    whiten = None
    if eps := float(os.environ.get("WHITEN", "0")):
        # ZCA whitening of each row's sensor vector with the training rows' covariance (of the
        # standardized sensors, + eps I): a probe of the representation, applied to every window
        # (the probe behind features.sensor_whitening, before it was shipped: squared
        # whitened residuals as maps, not the shipped contributions)
        rows = np.concatenate([w.features[0] for w in fit_w], axis=1)  # (sensors, rows)
        mu, sd = rows.mean(axis=1), rows.std(axis=1) + 1e-12
        zca = fit_sensor_whitening([(rows - mu[:, None]) / sd[:, None]], eps=eps)

        def white(x: np.ndarray) -> np.ndarray:
            return whiten_sensors((x - mu[:, None]) / sd[:, None], zca)

        def whiten(ws):
            return [replace(w, features=white(w.features)) for w in ws]

        fit_w = whiten(fit_w)
    if (model_dir / "detector.json").exists():
        det = DiffusionAnomalyDetector.load(model_dir)
    else:
        start = time.time()
        det = DiffusionAnomalyDetector(cfg).fit(fit_w, seed=0)
        print(f"train {time.time() - start:.0f} s, {det.train_result_.steps} steps", flush=True)
        val_w, _ = read_held_out(det, val_items)
        det.calibrate(val_w if whiten is None else whiten(val_w), seed=0)
        det.save(model_dir)
    val_w, _ = read_held_out(det, val_items)
    test_w, _ = load_windows(
        test, source=cfg.source, features=cfg.features, expected_rate=det.sample_rate_
    )
    if whiten is not None:
        val_w, test_w = whiten(val_w), whiten(test_w)
    print(f"{len(val_w)} held-out windows, {len(test_w)} test windows", flush=True)

    def report(name: str, scores: np.ndarray) -> None:
        res = protocol(file_rows(test_w, scores, np.inf))
        print(line(name, res), flush=True)

    for base in ("pca_q", "pca_t2"):
        b = make_baseline(base, cfg).fit(fit_w, seed=0)
        b.calibrate(val_w, seed=0)
        report(base, b.score(test_w, seed=0).scores)

    for spec in filter(None, os.environ.get("VARIANTS", "").split(";")):
        # "t_start,normalization,aggregation": calibrated as the CLI does (cross-fitted map
        # statistics, the predictive tail), scored at its own threshold
        t_start, norm, agg = spec.split(",")
        scoring = replace(
            det.config.scoring, t_start=int(t_start), map_normalization=norm, aggregation=agg
        )
        d = DiffusionAnomalyDetector.load(model_dir)
        d.config = replace(d.config, scoring=scoring)
        d.calibrate(val_w, seed=0)

        def score(windows, d=d):
            result = d.score(windows, seed=0)
            return result.scores, result.threshold

        res = evaluate(score, test_w)
        print(
            f"{spec:<24} FAR d00_te {res['far_d00te']:.3f} FDR {res['mean_fdr']:.3f} "
            + line("", res),
            flush=True,
        )

    for t_start in [int(t) for t in os.environ.get("T_STARTS", "").split(",") if t]:
        d = det.with_scoring(replace(det.config.scoring, t_start=t_start))
        start = time.time()
        val_raw = d.raw_maps(val_w, seed=0)
        test_raw = d.raw_maps(test_w, seed=0)
        print(f"t_start {t_start}: maps {time.time() - start:.0f} s, shape {test_raw[0].shape}")
        for norm in ("none", "row", "pixel"):
            stats = fit_map_stats(val_raw, mode=norm, sigma=2.0)
            normed = [apply_map_stats(m, stats).mean(axis=0) for m in test_raw]
            for sig_name, sigma in (("iso1", (1.0, 1.0)), ("time1", (0.0, 1.0)), ("raw", (0, 0))):
                sm = [gaussian_filter(m, sigma=sigma, mode="nearest") for m in normed]
                for agg in ("topk", "max", "mean"):
                    s = np.array([aggregate_map(m, method=agg, topk_fraction=0.01) for m in sm])
                    report(f"t{t_start} {norm} {sig_name} {agg}", s)
                # per-sensor mean over time, then max over sensors (a per-sensor statistic)
                s = np.array([m.mean(axis=1).max() for m in sm])
                report(f"t{t_start} {norm} {sig_name} sensor-mean-max", s)


if __name__ == "__main__":
    main()
