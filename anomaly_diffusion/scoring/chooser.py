"""Choosing the scoring settings without labelled faults.

Real users rarely have labelled anomalies. This routine takes held-out *normal* windows, injects
synthetic anomalies made for the modality (impulses, tones, band-limited noise bursts and dropouts
for signals; scratches, spots, cut-paste patches and Perlin blobs for frames, see
:mod:`anomaly_diffusion.data.anomalies`) into half of them, and picks the ``t_start``, map type,
map normalization, smoothing and aggregation whose scores separate the injected windows from the
untouched normal ones best (AUROC; ties go to fewer network evaluations). With ``tune.draws``
the number of noise draws is chosen too, by the one-standard-error rule: the fewest draws whose
best AUROC is within one standard error (Hanley-McNeil) of the overall best. The other half of
the normal windows fits the maps' normal statistics, exactly as :meth:`calibrate` does.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, replace

import numpy as np
from sklearn.metrics import roc_auc_score

from anomaly_diffusion.calibration import split_held_out
from anomaly_diffusion.config import ScoringConfig, TuneConfig
from anomaly_diffusion.data.anomalies import inject, kinds_for
from anomaly_diffusion.data.windows import Window
from anomaly_diffusion.errors import DataError
from anomaly_diffusion.features.normalization import normalize
from anomaly_diffusion.progress import progress
from anomaly_diffusion.scoring.aggregate import aggregate_map
from anomaly_diffusion.scoring.map_stats import apply_map_stats, fit_map_stats
from anomaly_diffusion.scoring.maps import rows_are_neighbours, smooth_map

logger = logging.getLogger(__name__)
COMPONENTS = {"residual": slice(0, 1), "feature": slice(1, 2), "combined": slice(0, 2)}


@dataclass(frozen=True)
class TuneResult:
    """The chosen settings and every candidate's synthetic-anomaly AUROC.

    Attributes:
        scoring: The detector's scoring config with the chosen settings.
        table: One row per candidate: settings, ``auroc`` and per-kind ``auroc_<kind>``.
        n_normal, n_synthetic: Windows behind each AUROC.
    """

    scoring: ScoringConfig
    table: list[dict]
    n_normal: int
    n_synthetic: int


def synthetic_windows(detector, windows, cfg: TuneConfig, rng) -> list[Window]:
    """``cfg.per_kind`` synthetic anomalies of every kind for the modality, each injected into a
    random window of ``windows`` in normalized feature units (amplitude uniform in 25-100 % of
    ``cfg.strength``, so that settings differ on the subtle ones) and mapped back to raw features;
    ``item.defect`` = the kind, ``mask`` = the injected cells, ``label`` = 1."""
    out = []
    for kind in kinds_for(detector.config.features.kind):
        for j in range(cfg.per_kind):
            host = windows[int(rng.integers(len(windows)))]
            normed = normalize(host.features, detector.mean_, detector.std_)
            strength = float(rng.uniform(0.25, 1.0)) * cfg.strength  # subtle to obvious
            array, mask = inject(normed, kind, rng, strength=strength)
            raw = (array * detector.std_ + detector.mean_).astype(np.float32)
            item = replace(host.item, path=f"{host.item.path}#synthetic-{kind}-{j}", defect=kind)
            out.append(replace(host, features=raw, item=item, label=1, mask=mask))
    return out


def choose_scoring(detector, normal: list[Window], cfg: TuneConfig, *, seed: int = 0) -> TuneResult:
    """Pick scoring settings from normal windows and synthetic anomalies (see module doc).

    Args:
        detector: A fitted :class:`~anomaly_diffusion.detector.DiffusionAnomalyDetector`.
        normal: Held-out normal windows (>= 4): the first half fits map statistics, the second
            half are the negatives and the hosts of the synthetic anomalies.

    Raises:
        DataError: fewer than 4 normal windows.
    """
    if len(normal) < 4:
        raise DataError(
            f"tune: needs >= 4 held-out normal windows, got {len(normal)}; add normal training "
            "data, raise data.val_fraction, or set tune.enabled=false"
        )
    half = len(normal) // 2
    ref, neg = list(normal[:half]), list(normal[half:])
    anomalies = synthetic_windows(detector, neg, cfg, np.random.default_rng(seed))
    labels = np.r_[np.zeros(len(neg)), np.ones(len(anomalies))]
    kinds = np.array(["normal"] * len(neg) + [w.item.defect for w in anomalies])
    base = detector.config.scoring
    # a backbone model re-projects pretrained feature maps, an inpainting model fills masked
    # parts: their maps have the residual only
    residual_only = detector.config.features.backbone != "none" or detector.inpainting
    map_types = [m for m in cfg.map_types if m == "residual"] if residual_only else cfg.map_types
    across = rows_are_neighbours(detector.config.features.kind)
    probe = copy.copy(detector)
    rows = []
    draws = cfg.draws or (cfg.n_repeats or base.n_repeats,)
    grid = [(t, n) for n in draws for t in cfg.t_starts]
    for t_start, n_repeats in progress(grid, desc="tuning t_start", leave=False):
        if t_start >= detector.scheduler.num_train_timesteps:
            continue
        search = replace(
            base,
            t_start=t_start,
            n_steps=1,
            guidance=0.0,
            map_type="residual" if residual_only else "combined",
            n_repeats=n_repeats,
        )
        probe.config = replace(detector.config, scoring=search)
        raw_ref = probe.raw_maps(ref, seed=seed)
        raw_eval = probe.raw_maps(neg + anomalies, seed=seed)
        for map_type in map_types or ["residual"]:
            part = COMPONENTS[map_type]
            for norm in cfg.normalizations:
                stats = fit_map_stats([m[part] for m in raw_ref], mode=norm, across_rows=across)
                merged = [apply_map_stats(m[part], stats).mean(axis=0) for m in raw_eval]
                for sigma in cfg.smoothing_sigmas:
                    smoothed = [smooth_map(m, sigma=sigma, across_rows=across) for m in merged]
                    for agg in cfg.aggregations:
                        settings = {
                            "n_repeats": n_repeats,
                            "t_start": t_start,
                            "map_type": map_type,
                            "map_normalization": norm,
                            "smoothing_sigma": sigma,
                            "aggregation": agg,
                        }
                        scores = np.array(
                            [
                                aggregate_map(m, method=agg, topk_fraction=base.topk_fraction)
                                for m in smoothed
                            ]
                        )
                        rows.append({**settings, **_aurocs(labels, scores, kinds)})
    if not rows:
        raise DataError(f"tune.t_starts={list(cfg.t_starts)}: none below num_train_timesteps")
    best = _best(rows)
    if cfg.draws:
        # one-standard-error rule: the fewest draws whose best is not resolvably worse
        margin = auroc_standard_error(best["auroc"], n_pos=len(anomalies), n_neg=len(neg))
        for n in sorted(cfg.draws):
            best_n = _best([r for r in rows if r["n_repeats"] == n])
            if best_n["auroc"] >= best["auroc"] - margin:
                best = best_n
                break
    chosen = replace(
        base,
        **{k: best[k] for k in ("t_start", "map_type", "map_normalization")},
        smoothing_sigma=float(best["smoothing_sigma"]),
        aggregation=best["aggregation"],
        n_steps=1,
        guidance=0.0,
        n_repeats=best["n_repeats"] if cfg.draws else base.n_repeats,
    )
    logger.info(
        "tune: chose %s (synthetic-anomaly AUROC %.3f over %d candidates)",
        {
            k: getattr(chosen, k)
            for k in ("t_start", "map_type", "map_normalization", "aggregation", "n_repeats")
        },
        best["auroc"],
        len(rows),
    )
    return TuneResult(scoring=chosen, table=rows, n_normal=len(neg), n_synthetic=len(anomalies))


def tune_then_calibrate(
    detector, held_out: list[Window], tune: TuneConfig | None, *, seed: int = 0, anomalous=()
) -> tuple[TuneResult | None, list[Window]]:
    """What ``train`` does with the held-out normals: with ``tune``, one share of them
    (:func:`~anomaly_diffusion.calibration.split_held_out`) chooses the scoring settings and
    the rest calibrates the threshold; without (or with too few to split), all of them
    calibrate. Returns the tuning result (or ``None``) and the windows the threshold was fit
    on."""
    result, calibrate = None, list(held_out)
    if tune is not None:
        tune_windows, calibrate = split_held_out(held_out, share=tune.share, seed=seed)
        if tune_windows:
            result = choose_scoring(detector, tune_windows, tune, seed=seed)
            detector.config = replace(detector.config, scoring=result.scoring)
    detector.calibrate(calibrate, seed=seed, anomalous=anomalous)
    return result, calibrate


def _best(rows: list[dict]) -> dict:
    """Highest synthetic AUROC; ties: fewer network evaluations (feature maps add an encoder
    pass), then the lower ``t_start``."""
    return max(
        rows,
        key=lambda r: (round(r["auroc"], 4), r["map_type"] == "residual", -r["t_start"]),
    )


def auroc_standard_error(auroc: float, *, n_pos: int, n_neg: int) -> float:
    """Standard error of an AUROC from ``n_pos`` positives and ``n_neg`` negatives (Hanley &
    McNeil, Radiology 1982, eq. 2, exponential approximation of the two rank variances). The
    AUROC is capped at ``1 - 1 / (2 min(n_pos, n_neg))`` (half an item misranked): a perfect
    sample does not prove a spread of zero."""
    a = float(np.clip(auroc, 1e-6, 1 - 0.5 / max(1, min(n_pos, n_neg))))
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    var = (a * (1 - a) + (n_pos - 1) * (q1 - a * a) + (n_neg - 1) * (q2 - a * a)) / (n_pos * n_neg)
    return float(np.sqrt(max(var, 0.0)))


def _aurocs(labels: np.ndarray, scores: np.ndarray, kinds: np.ndarray) -> dict[str, float]:
    out = {"auroc": float(roc_auc_score(labels, scores))}
    normal = kinds == "normal"
    for kind in sorted(set(kinds[~normal])):
        sel = normal | (kinds == kind)
        out[f"auroc_{kind}"] = float(roc_auc_score(labels[sel], scores[sel]))
    return out
