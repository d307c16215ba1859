"""Scoring-settings sweep on one trained model per dataset: t_start x map normalization x
smoothing x aggregation, scored on the test split (AUROC, pixel AUROC at top-1 %).

Usage: ``python bench/sweep_scoring.py mt|toycar MINUTES T1,T2,...`` (JSON lines on stdout).
The preset defaults in ``configs/preset/`` come from ``bench/results/scoring_sweep_*.jsonl``.
Settings picked on a test split are optimistic; choosing them from synthetic anomalies on normal
data only is issue #3, item 5.
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

from anomaly_diffusion.config import FeatureConfig, ScoringConfig, TrainingConfig
from anomaly_diffusion.data.dataset import discover, split_validation
from anomaly_diffusion.data.windows import load_windows
from anomaly_diffusion.detector import DetectorConfig, DiffusionAnomalyDetector
from anomaly_diffusion.diffusion.unet import UNetConfig
from anomaly_diffusion.metrics import pixel_auroc
from anomaly_diffusion.scoring.aggregate import aggregate_map
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
if name == "mt":
    root, feats = D / "magnetic_tile", FeatureConfig(kind="frame", image_size=(64, 64))
else:
    root, feats = D / "dcase2023_toycar", FeatureConfig(kind="log_mel", n_mels=128)
cfg = DetectorConfig("x", features=feats, network=small, training=train)
items = discover(root)
normal = [i for i in items if i.split == "train"]
test = [i for i in items if i.split == "test"]
fit_i, val_i = split_validation(normal, fraction=0.2, rng=np.random.default_rng(0))
fw, _ = load_windows(fit_i, source=cfg.source, features=feats)
det = DiffusionAnomalyDetector(cfg).fit(fw, seed=0)
vw, _ = load_windows(val_i, source=cfg.source, features=feats)
tw, _ = load_windows(test, source=cfg.source, features=feats)
y = np.array([w.label for w in tw])


def raw(ws, t, reps):
    det.config = replace(det.config, scoring=ScoringConfig(t_start=t, n_repeats=reps))
    return det.raw_maps(ws, seed=0)


half = len(vw) // 2
for t in ts:
    t0 = time.time()
    vr = raw(vw, t, 4)
    tr = raw(tw, t, 4)
    el = time.time() - t0
    for mode, sigma, agg in itertools.product(
        ["none", "row", "pixel"], [1.0, 2.0, 4.0], ["topk0.01", "topk0.05", "mean", "max"]
    ):
        stats = fit_map_stats(vr[:half], mode=mode)

        maps = [smooth_map(apply_map_stats(m, stats), sigma=sigma) for m in tr]
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
