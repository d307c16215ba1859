"""Scoring-settings sweep on one trained model per dataset: t_start x map type x map
normalization x smoothing x aggregation, scored on the test split (AUROC, pixel AUROC at top-1 %),
plus what the label-free chooser (synthetic anomalies on held-out normals) picks.

Usage: ``python bench/sweep_scoring.py mt|toycar MINUTES T1,T2,... [MODEL_DIR]`` (JSON lines on
stdout); MODEL_DIR caches the trained detector between runs. Test-split figures here are for
understanding only: shipped presets use the chooser, never the test split.
"""

import itertools
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from anomaly_diffusion.config import (
    FeatureConfig,
    SchedulerConfig,
    ScoringConfig,
    TrainingConfig,
    TuneConfig,
    to_dict,
)
from anomaly_diffusion.data.dataset import discover, split_validation
from anomaly_diffusion.data.stream import load_windows
from anomaly_diffusion.detector import DetectorConfig, DiffusionAnomalyDetector
from anomaly_diffusion.diffusion.unet import UNetConfig
from anomaly_diffusion.metrics import pixel_auroc
from anomaly_diffusion.scoring.aggregate import aggregate_map
from anomaly_diffusion.scoring.chooser import COMPONENTS, choose_scoring
from anomaly_diffusion.scoring.map_stats import apply_map_stats, fit_map_stats
from anomaly_diffusion.scoring.maps import smooth_map

torch.set_num_threads(2)
name, minutes, ts = sys.argv[1], float(sys.argv[2]), [int(t) for t in sys.argv[3].split(",")]
D = Path(
    os.environ.get(
        "ANOMALY_DIFFUSION_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"
    )
)
small = UNetConfig(base_channels=16, channel_mults=(1, 2, 2))
train = TrainingConfig(max_steps=100000, max_minutes=minutes, batch_size=8, crop=(32, 32))
size = int(os.environ.get("SWEEP_SIZE", "64"))  # image side for Magnetic-Tile
noise = os.environ.get("SWEEP_NOISE", "gaussian")  # scheduler.noise
if name == "mt":
    root, feats = D / "magnetic_tile", FeatureConfig(kind="frame", image_size=(size, size))
else:
    root, feats = D / "dcase2023_toycar", FeatureConfig(kind="log_mel", n_mels=128)
cfg = DetectorConfig(
    "x", features=feats, network=small, training=train, scheduler=SchedulerConfig(noise=noise)
)
items = discover(root)
normal = [i for i in items if i.split == "train"]
test = [i for i in items if i.split == "test"]
fit_i, val_i = split_validation(normal, fraction=0.2, rng=np.random.default_rng(0))
fw, _ = load_windows(fit_i, source=cfg.source, features=feats)
cache = Path(sys.argv[4]) if len(sys.argv) > 4 else None
if cache is not None and (cache / "detector.json").is_file():
    det = DiffusionAnomalyDetector.load(cache)
else:
    det = DiffusionAnomalyDetector(cfg).fit(fw, seed=0)
    if cache is not None:
        det.save(cache)
vw, _ = load_windows(val_i, source=cfg.source, features=feats)
tune = choose_scoring(det, vw, TuneConfig(t_starts=tuple(ts), n_repeats=4), seed=0)
print(json.dumps({"ds": name, "chooser": to_dict(tune.scoring)}), flush=True)
tw, _ = load_windows(test, source=cfg.source, features=feats)
y = np.array([w.label for w in tw])


def raw(ws, t, reps):
    scoring = ScoringConfig(t_start=t, n_repeats=reps, map_type="combined")
    det.config = replace(det.config, scoring=scoring)
    return det.raw_maps(ws, seed=0)


half = len(vw) // 2
for t in ts:
    t0 = time.time()
    vr = raw(vw, t, 4)
    tr = raw(tw, t, 4)
    el = time.time() - t0
    for kind, mode, sigma, agg in itertools.product(
        ["residual", "feature", "combined"],
        ["none", "row", "pixel"],
        [1.0, 2.0, 4.0],
        ["topk0.01", "topk0.05", "mean", "max"],
    ):
        part = COMPONENTS[kind]
        stats = fit_map_stats([m[part] for m in vr[:half]], mode=mode)
        maps = [smooth_map(apply_map_stats(m[part], stats).mean(axis=0), sigma=sigma) for m in tr]
        method, frac = ("topk", float(agg[4:])) if agg.startswith("topk") else (agg, 0.01)
        s = np.array([aggregate_map(m, method=method, topk_fraction=frac) for m in maps])
        auc = roc_auc_score(y, s)
        pix = None
        masked = [i for i, w in enumerate(tw) if w.label == 1 and w.mask is not None]
        if masked and agg == "topk0.01":
            pix = pixel_auroc(
                np.stack([tw[i].mask for i in masked]), np.stack([maps[i] for i in masked])
            )
        print(
            json.dumps(
                {
                    "ds": name,
                    "t": t,
                    "map": kind,
                    "mode": mode,
                    "sigma": sigma,
                    "agg": agg,
                    "auroc": round(auc, 4),
                    "pix": None if pix is None else round(pix, 4),
                    "sec": round(el, 1),
                }
            ),
            flush=True,
        )
