"""Peers of the diffusion model in ``make bench``: our baselines (IsolationForest, PCA
reconstruction, DCASE-style dense autoencoder) and PyOD detectors (KNN, IForest, LOF, ECOD,
COPOD; the ``bench`` extra), all on the same normalized features and the same splits: fit on the
training windows, threshold at the 1 % false-alarm quantile of the held-out normal windows,
scored on the test windows. On images also PatchCore and PaDiM (``train model=patchcore|padim``
as shipped) on the same ImageNet MobileNetV2 layers as the feature-space model. Pixel metrics
count every test image (defect-free ones with all-zero masks)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np
from sklearn.metrics import roc_auc_score

from anomaly_diffusion.baselines.dense_ae import dense_ae_scores, fit_dense_ae
from anomaly_diffusion.baselines.detector import make_baseline
from anomaly_diffusion.baselines.process_pca import fit_row_pca, row_pca_scores
from anomaly_diffusion.baselines.reference import fit_isolation_forest, fit_pca, pca_scores
from anomaly_diffusion.features.normalization import normalize
from anomaly_diffusion.jobs.evaluation import pixel_ground_truth
from anomaly_diffusion.metrics import aupro, bootstrap_auroc_ci, false_alarm_threshold, pixel_auroc

logger = logging.getLogger(__name__)

#: Prefixes of peer rows (the summary compares the diffusion model with the best of them).
PEER_WORDS = ("IsolationForest", "PCA", "dense AE", "PyOD", "PatchCore", "PaDiM")
DENSE_AE_MINUTES = 1.0


def _pyod_models(seed: int) -> list[tuple[str, Callable[[], object]]]:
    try:
        from pyod.models.copod import COPOD
        from pyod.models.ecod import ECOD
        from pyod.models.iforest import IForest
        from pyod.models.knn import KNN
        from pyod.models.lof import LOF
    except ImportError:
        logger.warning("pyod not installed (pip install -e '.[bench]'): PyOD peers skipped")
        return []
    return [
        ("PyOD KNN (k=5, largest distance)", lambda: KNN()),
        ("PyOD IForest (100 trees)", lambda: IForest(random_state=seed)),
        ("PyOD LOF (k=20)", lambda: LOF()),
        ("PyOD ECOD", lambda: ECOD()),
        ("PyOD COPOD", lambda: COPOD()),
    ]


def peer_rows(det, fit_w, val_w, test_w, labels: np.ndarray, seed: int) -> list[dict]:
    """One row per peer (same keys as the diffusion rows of ``bench/run.py``)."""
    norm = [
        [normalize(w.features, det.mean_, det.std_) for w in ws] for ws in (fit_w, val_w, test_w)
    ]
    tr, va, te = norm
    flat = [np.stack([a.reshape(-1) for a in x]) for x in norm]
    spectrogram = det.config.features.kind in ("stft", "log_mel")
    inputs = "5-frame vectors" if spectrogram else "whole frames"

    def isolation_forest():
        model = fit_isolation_forest(tr, seed=seed)
        return lambda x: (-model.score_samples(np.stack([a.reshape(-1) for a in x])), None)

    def pca():
        model = fit_pca(tr)
        return lambda x: pca_scores(model, x)

    def dense_ae():
        net = fit_dense_ae(tr, spectrogram=spectrogram, seed=seed, max_minutes=DENSE_AE_MINUTES)
        return lambda x: dense_ae_scores(net, x, spectrogram=spectrogram)

    peers: list[tuple[str, Callable]] = [
        ("IsolationForest (100 trees), same features", isolation_forest),
        ("PCA reconstruction (95 % var), top-1 % of smoothed map", pca),
        (f"dense AE (DCASE 2020 baseline shape, {inputs}, {DENSE_AE_MINUTES:g} min)", dense_ae),
    ]
    for name, make in _pyod_models(seed):

        def fitted(make=make):
            model = make().fit(flat[0])
            return lambda x: (model.decision_function(np.stack([a.reshape(-1) for a in x])), None)

        peers.append((name, fitted))
    if det.config.features.kind == "sensor_window":  # process monitoring's own statistics
        for label, statistic in (
            ("PCA T2 (90 % var) of each row, window max", "t2"),
            ("PCA Q (90 % var) of each row, window max", "q"),
        ):

            def row_pca(statistic=statistic):
                model = fit_row_pca(tr)
                return lambda x: row_pca_scores(model, x, statistic)

            peers.append((label, row_pca))
    if det.config.features.kind == "frame":
        for label, key in (
            ("PatchCore (1 % k-center coreset, NN distance), MobileNetV2 layers", "patchcore"),
            ("PaDiM (per-position Gaussian, Mahalanobis), MobileNetV2 layers", "padim"),
        ):

            def pretrained(key=key):
                model = make_baseline(key, det.config).fit(fit_w, seed=seed)
                windows = {id(a): w for a, w in zip(va + te, val_w + test_w, strict=True)}

                def score(x):
                    result = model.score([windows[id(a)] for a in x], seed=seed)
                    return result.scores, result.maps

                return score

            peers.append((label, pretrained))
    rows = []
    for name, fit in peers:
        start = time.perf_counter()
        score = fit()
        train_s = time.perf_counter() - start
        val_scores, _ = score(va)
        start = time.perf_counter()
        test_scores, maps = score(te)
        score_s = time.perf_counter() - start
        threshold = false_alarm_threshold(np.asarray(val_scores), target_far=0.01)
        test_scores = np.asarray(test_scores, dtype=np.float64)
        row = {
            "method": name,
            "auroc": roc_auc_score(labels, test_scores),
            "pauc": roc_auc_score(labels, test_scores, max_fpr=0.1),
            "pixel_auroc": None,
            "ci": bootstrap_auroc_ci(
                labels, test_scores, n_boot=500, rng=np.random.default_rng(seed)
            ),
            "train_s": train_s,
            "ms_per_item": 1000 * score_s / len(te),
            "by_defect": None,
            "far": float(np.mean(test_scores[labels == 0] > threshold)),
            "recall": float(np.mean(test_scores[labels == 1] > threshold)),
            "steps": None,
            "aupro": None,
            "evals": None,
            "note": None,
        }
        truth = None if maps is None else pixel_ground_truth(test_w, maps)
        if truth is not None:
            row["pixel_auroc"], row["aupro"] = pixel_auroc(*truth), aupro(*truth)
        logger.info("peer %s: AUROC %.3f in %.1f s", name.split(" (")[0], row["auroc"], train_s)
        rows.append(row)
    return rows
