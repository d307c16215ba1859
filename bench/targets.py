"""The issue targets (#3, #5, #13), checked against this run's figures (never typed in)."""

from __future__ import annotations

import numpy as np
from scipy.stats import binomtest
from sklearn.metrics import roc_auc_score

from anomaly_diffusion.metrics.thresholds import false_alarm_threshold

MAX_TRAIN_S = 600.0
MAX_EVALS = 8


def per_file_auroc(windows, scores) -> dict[str, float]:
    """Window AUROC of each anomalous file against all normal test windows."""
    labels = np.array([w.label for w in windows])
    files = sorted({w.item.path for w in windows if w.label == 1})
    out = {}
    for path in files:
        sel = (labels == 0) | np.array([w.item.path == path for w in windows])
        out[path.rsplit("/", 1)[-1]] = float(roc_auc_score(labels[sel], scores[sel]))
    return out


def _check(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _against(value: float | None, ci: tuple[float, float] | None, goal: float) -> str:
    """Verdict of ``value >= goal``: with a 95 % interval, met only when the whole interval
    lies at or above the goal, missed when it lies below, else unresolved; without one, from
    the point estimate (said so)."""
    if value is None:
        return "**not measured**"
    if ci is None:
        return f"{_check(value >= goal)} (point estimate)"
    low, high = ci
    if low >= goal:
        return "met"
    if high < goal:
        return "**missed**"
    return "**unresolved** (95 % interval spans the goal)"


def _ci_text(row: dict) -> str:
    return f" (95 % CI {row['ci'][0]:.3f}-{row['ci'][1]:.3f})" if row.get("ci") else ""


def _rows(res: dict) -> tuple[dict, dict, dict | None, dict | None]:
    rows = res["rows"]
    preset = rows[0]
    tuned = next((r for r in rows if r["method"].startswith("diffusion, label-free")), preset)
    ref = next((r for r in rows if r["method"].startswith("AnoDDPM")), None)
    same = next((r for r in rows if r["method"].startswith("diffusion preset on the same")), None)
    return preset, tuned, ref, same


def resampled_far(
    calibration: np.ndarray, test_normal: np.ndarray, *, target: float = 0.01, reps: int = 2000
) -> float:
    """Mean realised false-alarm rate of the threshold rule over random re-splits of all normal
    items the model never trained on.

    Each split calibrates on as many items as the real held-out set (``false_alarm_threshold``,
    the product's rule) and counts alarms on the rest. It assumes the held-out and test normals
    are exchangeable: it checks the rule at this sample size with far less split noise than one
    split, not a shift between the held-out and the test normals.

    Args:
        calibration: Held-out normal scores that set the real threshold, shape (n,).
        test_normal: Normal test scores, shape (m,).
        target: Target false-alarm rate.
        reps: Number of random splits.

    Returns:
        The mean false-alarm rate over the splits, in [0, 1].
    """
    pool = np.r_[calibration, test_normal].astype(np.float64)
    n = len(calibration)
    rng = np.random.default_rng(0)
    rates = np.empty(reps)
    for i in range(reps):
        perm = rng.permutation(pool.size)
        threshold = false_alarm_threshold(pool[perm[:n]], target_far=target)
        rates[i] = np.mean(pool[perm[n:]] > threshold)
    return float(rates.mean())


def _far_status(k: int, n: int, low: float, high: float) -> str:
    """met when the rate is within 2x of 1 %; unresolved when only the binomial interval
    overlaps 0.5-2 % (n too small to tell); missed when the interval excludes that band."""
    if 0.005 <= k / n <= 0.02:
        return "met"
    if low <= 0.02 and high >= 0.005:
        return f"**unresolved** (n = {n} cannot tell)"
    return "**missed**"


def alarm_targets(results: list[dict], peer_words: tuple[str, ...]) -> list[str]:
    """Issue #5 rows: realised false-alarm rate within 2x of the 1 % target, and the preset
    ahead of every peer by more than the bootstrap interval."""
    lines = []
    for res in results:
        if not res["case"].public:
            continue
        preset = res["rows"][0]
        far, n = preset["far"], preset.get("n_normal")
        measured, status = f"{100 * far:.1f} %", _check(0.005 <= far <= 0.02)
        if n:  # how precisely this many normal test windows can measure a rate
            k = round(far * n)
            low, high = binomtest(k, n).proportion_ci(confidence_level=0.95)
            measured += (
                f" ({k} of {n} normal test items; 95 % interval {100 * low:.1f}-{100 * high:.1f} %)"
            )
            status = _far_status(k, n, low, high)
        if preset.get("far_resampled") is not None:
            measured += (
                f"; re-split check {100 * preset['far_resampled']:.2f} % over "
                f"{preset['n_pooled']} normal items never trained on"
            )
        lines.append(
            f"| {res['case'].name}: realised false-alarm rate within 2x of 1 % | "
            f"{measured} | {status} |"
        )
        peers = [r for r in res["rows"] if r["method"].startswith(peer_words)]
        best = max(peers, key=lambda r: r["auroc"])
        low = preset["ci"][0] if preset["ci"] else preset["auroc"]
        high = best["ci"][1] if best["ci"] else best["auroc"]
        lines.append(
            f"| {res['case'].name}: preset AUROC ahead of every peer beyond the 95 % intervals | "
            f"preset {preset['auroc']:.3f} (CI low {low:.3f}) vs best peer "
            f"{best['method'].split(' (')[0]} {best['auroc']:.3f} (CI high {high:.3f}) | "
            f"{_check(low > high)} |"
        )
    return lines


CAMERA = {"auroc": 0.97, "pixel_auroc": 0.97, "aupro": 0.90, "recall": 0.70, "far": 0.02}
CAMERA_SPEED, CAMERA_RSS_MB, CAMERA_MODEL_MB = 100.0, 1500.0, 50.0


def _ahead(a: dict, b: dict) -> str:
    """``a`` ahead of ``b`` in AUROC: met when ``a``'s interval lies above ``b``'s estimate,
    missed when it lies below, else unresolved."""
    if a.get("ci") is None:
        return f"{_check(a['auroc'] > b['auroc'])} (point estimates)"
    low, high = a["ci"]
    if low > b["auroc"]:
        return "met"
    if high < b["auroc"]:
        return "**missed**"
    return "**unresolved** (95 % interval spans the peer's AUROC)"


def camera_targets(res: dict) -> list[str]:
    """Issue #13 rows for the camera preset as shipped (the case's first row) against the
    PatchCore row of the same run; size and memory from what the case measured."""
    rows = res["rows"]
    p = rows[0]
    core = next((r for r in rows if r["method"].startswith("PatchCore")), None)
    lines = []
    for key, label in (
        ("auroc", "image AUROC"),
        ("pixel_auroc", "pixel AUROC"),
        ("aupro", "AUPRO"),
        ("recall", "recall of defective tiles at the calibrated 1 % threshold"),
    ):
        got = p.get(key)
        ci = p.get("ci") if key == "auroc" else None
        text = "not measured" if got is None else f"{got:.3f}{_ci_text(p) if ci else ''}"
        if core is not None and core.get(key) is not None:
            text += f" (PatchCore {core[key]:.3f})"
        verdict = _against(got, ci, CAMERA[key])
        lines.append(f"| Magnetic-Tile {label} >= {CAMERA[key]} | {text} | {verdict} |")
    if core is not None:
        lines.append(
            f"| Magnetic-Tile image AUROC ahead of model=patchcore (same backbone, same run) | "
            f"{p['auroc']:.3f}{_ci_text(p)} vs {core['auroc']:.3f}{_ci_text(core)} | "
            f"{_ahead(p, core)} |"
        )
    far = p["far"]
    lines.append(
        f"| Magnetic-Tile realised false-alarm rate on test/good <= 2 % | {100 * far:.1f} % | "
        f"{_check(far <= CAMERA['far'])} |"
    )
    lines.append(
        f"| camera preset trains in <= 10 min | {p['train_s'] / 60:.1f} min | "
        f"{_check(p['train_s'] <= MAX_TRAIN_S + 5)} |"
    )
    speed = 1000.0 / p["ms_per_item"]
    lines.append(
        f"| camera scoring >= {CAMERA_SPEED:.0f} images/s | {speed:.0f} images/s | "
        f"{_check(speed >= CAMERA_SPEED)} |"
    )
    if res.get("model_mb") is not None:
        lines.append(
            f"| saved camera model <= {CAMERA_MODEL_MB:.0f} MB | {res['model_mb']:.1f} MB | "
            f"{_check(res['model_mb'] <= CAMERA_MODEL_MB)} |"
        )
    if res.get("score_rss_mb") is not None:
        lines.append(
            f"| peak RSS of `anomaly-diffusion score` on the {res['n'][2]} test images "
            f"<= {CAMERA_RSS_MB / 1000:.1f} GB | {res['score_rss_mb']:,.0f} MB | "
            f"{_check(res['score_rss_mb'] <= CAMERA_RSS_MB)} |"
        )
    if res.get("train_rss_mb") is not None:
        lines.append(
            f"| peak RSS of `anomaly-diffusion train` (camera preset; training.max_minutes="
            f"{res['train_minutes']:g}, the peak comes after training) <= "
            f"{CAMERA_RSS_MB / 1000:.1f} GB | {res['train_rss_mb']:,.0f} MB | "
            f"{_check(res['train_rss_mb'] <= CAMERA_RSS_MB)} |"
        )
    return lines


def targets_section(
    results: list[dict], speed: dict | None, peer_words: tuple[str, ...] = ()
) -> list[str]:
    """Markdown table: target, measured (preset / label-free tuned), met or missed."""
    lines = [
        "## Targets of issues #3, #5 and #13, as measured in this run",
        "",
        "| target | measured | status |",
        "|---|---|---|",
    ]
    by_name = {r["case"].name: r for r in results}
    mt = by_name.get("Magnetic-Tile")
    loc = by_name.get("Magnetic-Tile, localization settings")
    # one configuration per target row, the shipped preset; other rows are shown, not judged
    if mt:
        p, t, _, _ = _rows(mt)
        for key, label, goal in (
            ("auroc", "image AUROC", 0.92),
            ("pixel_auroc", "pixel AUROC", 0.90),
            ("aupro", "AUPRO", 0.70),
        ):
            others = f"; label-free tuned {t[key]:.3f}" if t is not p else ""
            others += f"; localization settings {loc['rows'][0][key]:.3f}" if loc else ""
            ci = p.get("ci") if key == "auroc" else None
            lines.append(
                f"| Magnetic-Tile {label} >= {goal} (preset) | {p[key]:.3f}"
                f"{_ci_text(p) if ci else ''}{others} | {_against(p[key], ci, goal)} |"
            )
    toy = by_name.get("DCASE 2023 ToyCar")
    if toy:
        p, t, _, _ = _rows(toy)
        for key, label, goal in (("auroc", "AUROC", 0.80), ("pauc", "pAUC", 0.65)):
            others = f"; label-free tuned {t[key]:.3f}" if t is not p else ""
            ci = p.get("ci") if key == "auroc" else None
            lines.append(
                f"| ToyCar {label} >= {goal} (preset) | {p[key]:.3f}"
                f"{_ci_text(p) if ci else ''}{others} | {_against(p[key], ci, goal)} |"
            )
    cwru = by_name.get("CWRU bearing")
    if cwru and cwru.get("per_file"):
        worst = min(cwru["per_file"].values())
        files = ", ".join(f"{k} {v:.4f}" for k, v in cwru["per_file"].items())
        lines.append(
            f"| CWRU window AUROC >= 0.999 for every fault file | {files} | "
            f"{_check(worst >= 0.999)} |"
        )
    public = [r for r in results if r["case"].public and r["case"].variants]
    if public:
        longest = max(r["rows"][0]["train_s"] for r in public)
        lines.append(
            f"| each preset trains in <= 10 min | longest {longest / 60:.1f} min | "
            f"{_check(longest <= MAX_TRAIN_S + 5)} |"
        )
        evals = max(r["rows"][0]["evals"] for r in public)
        lines.append(
            f"| default <= {MAX_EVALS} network evaluations per item | {evals} | "
            f"{_check(evals <= MAX_EVALS)} |"
        )
        for res in public:
            p, _, ref, same = _rows(res)
            if ref is None:
                continue
            lines.append(
                f"| {res['case'].name}: default AUROC >= AnoDDPM reference (same subset) | "
                f"default {same['auroc']:.3f}{_ci_text(same)} vs reference "
                f"{ref['auroc']:.3f}{_ci_text(ref)}, "
                f"{ref['evals'] / p['evals']:.0f}x fewer evaluations | "
                f"{_against(same['auroc'], same.get('ci'), ref['auroc'])} |"
            )
    if speed is not None:
        rt = speed["realtime"]["realtime_factor"]
        share = speed["unet_gflops"] / speed["matmul_gflops"]
        fast = "".join(
            f"; {' '.join(f'{k}={v}' for k, v in f['settings'].items())}: "
            f"{f['realtime_factor']:.0f}x"
            for f in speed.get("realtime_fast", [])
        )
        lines.append(
            f"| acoustic scoring >= 300x real time (preset) | preset {rt:.0f}x{fast} "
            f"(their ToyCar AUROC: see its table) | {_check(rt >= 300)} |"
        )
        lines.append(
            f"| UNet forward >= 40 % of matmul GFLOP/s | {100 * share:.0f} % | "
            f"{_check(share >= 0.40)} |"
        )
    lines += alarm_targets(results, peer_words)
    if mt and mt["case"].detector.features.backbone != "none":
        lines += camera_targets(mt)
    return [*lines, "", *reading_notes(results), ""]


def reading_notes(results: list[dict]) -> list[str]:
    """How to read the verdicts, with this run's sample sizes (no figure typed in; the probes
    behind the misses are dated in ``bench/results/README.md``)."""
    notes = [
        "How to read the verdicts: 'met' and 'missed' need the 95 % interval (bootstrap for "
        "AUROC, exact binomial for false-alarm rates) on one side of the goal; 'unresolved' "
        "means this run's test set cannot tell; rows without an interval say 'point "
        "estimate'. Each target is judged on the shipped preset only.",
    ]
    for res in results:
        n = res["rows"][0].get("n_normal")
        if res["case"].public and n:
            notes.append(
                f"- {res['case'].name}: {n} normal test items, so one false alarm is "
                f"{100 / n:.1f} % of them."
            )
    notes.append(
        "- Why targets are missed, with the probes and sweeps behind it: `bench/results/README.md`."
    )
    return notes
