"""The model card: what a registered model was trained on, how, and how well (Markdown)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from anomaly_diffusion.jobs.configs import TrainJobConfig

_SHOWN = (
    ("auroc", "AUROC"),
    ("pauc", "pAUC (FPR <= 0.1)"),
    ("pixel_auroc", "pixel AUROC"),
    ("aupro", "AUPRO"),
    ("pixel_metrics_images", "test images in the pixel metrics (defect-free: all-zero masks)"),
    ("f1", "F1 at the threshold"),
    ("false_alarm_rate", "false-alarm rate on normal test data"),
    ("threshold", "alarm threshold"),
    ("network_evals_per_item", "network evaluations per item"),
    ("train_seconds", "training time (s)"),
)


def model_card(
    cfg: TrainJobConfig,
    metrics: dict[str, Any],
    *,
    commit: str | None,
    counts: dict[str, int],
    resolution: dict | None = None,
) -> str:
    """Markdown card for the registry: data, configuration, metrics, commit.

    Args:
        counts: ``{"train files": n, "validation files": n, "test files": n}``.
        resolution: What the held-out set can back
            (:func:`~anomaly_diffusion.calibration.held_out_resolution`).
    """
    det = cfg.detector
    data = cfg.data.manifest or cfg.data.root
    lines = [
        f"# anomaly_diffusion {det.modality} model",
        "",
        f"Trained {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC from commit `{commit or 'unknown'}`"
        f", seed {cfg.seed}.",
        "",
        "## Data",
        "",
        f"- source: `{data}`",
        *(f"- {k}: {v}" for k, v in counts.items()),
        f"- operating conditions: {', '.join(cfg.data.conditions) or 'none (unconditional)'}",
        "",
        "## Configuration",
        "",
        f"- features: {det.features.kind}, window {det.features.window_seconds} s, "
        f"image size {list(det.features.image_size)}",
        f"- network: UNet, base {det.network.base_channels} channels, "
        f"mults {list(det.network.channel_mults)}",
        f"- noise: {det.scheduler.noise}, {det.scheduler.beta_schedule} schedule",
        f"- training: up to {det.training.max_steps} steps / {det.training.max_minutes} min",
        f"- scoring: t_start {det.scoring.t_start}, {det.scoring.n_steps} step(s), "
        f"{det.scoring.n_repeats} draw(s), {det.scoring.map_type} maps, "
        f"{det.scoring.map_normalization} normalization, {det.scoring.aggregation}",
        f"- threshold: {100 * det.threshold.false_alarm_rate:g} % false alarms on held-out "
        f"normal data ({det.threshold.method}"
        + (f", per {det.threshold.per}" if det.threshold.per else "")
        + ")",
        *_resolution_lines(resolution),
        "",
        "## Test metrics",
        "",
        "| metric | value |",
        "|---|---|",
    ]
    for key, label in _SHOWN:
        value = metrics.get(key)
        if key == "false_alarm_rate" and value is not None and metrics.get("n_test_normal"):
            lines.append(f"| {label} | {_false_alarms(metrics)} |")
        elif value is not None:
            lines.append(
                f"| {label} | {value:.4g} |"
                if isinstance(value, float)
                else f"| {label} | {value} |"
            )
    return "\n".join(lines) + "\n"


def _resolution_lines(res: dict | None) -> list[str]:
    if not res:
        return []
    head = (
        f"- calibration: {res['windows']} held-out normal window(s) from {res['units']} "
        f"file(s)/segment(s); the target needs >= {res['units_needed']}"
    )
    if res["resolved"]:
        return [head + ": resolved"]
    return [head + f": **not resolved**: {res['note']}"]


def _false_alarms(m: dict[str, Any]) -> str:
    """``'2.0 % (1 of 50; 95 % interval 0.1-10.6 %)'``: the rate and how precisely it is known."""
    n = m["n_test_normal"]
    text = f"{100 * m['false_alarm_rate']:.1f} % ({round(m['false_alarm_rate'] * n)} of {n}"
    if m.get("false_alarm_rate_high") is not None:
        text += (
            f"; 95 % interval {100 * m['false_alarm_rate_low']:.1f}-"
            f"{100 * m['false_alarm_rate_high']:.1f} %"
        )
    return text + ")"
