"""One function per command: compose -> typed config -> job -> exit code."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from anomaly_diffusion.cli.compose import build, compose_config, to_plain, with_preset
from anomaly_diffusion.config import TrackingConfig, from_dict
from anomaly_diffusion.errors import ConfigError

logger = logging.getLogger("anomaly_diffusion")


def _say(line: str) -> None:
    print(line, flush=True)


def train_config(overrides: list[str]):
    """Composed, typed train config (preset auto-detected from the data when not given)."""
    from anomaly_diffusion.jobs.configs import TrainJobConfig

    plain = to_plain(compose_config("train", with_preset("train", overrides)))
    if not plain["data"]["root"] and not plain["data"]["manifest"]:
        raise ConfigError("data.root=<folder> or data.manifest=<file> is required")
    return build(TrainJobConfig, plain)


def cmd_train(overrides: list[str]) -> int:
    from anomaly_diffusion.jobs.train import run_train

    cfg = train_config(overrides)
    metrics = run_train(cfg)
    if cfg.model == "diffusion":
        _say(f"trained {cfg.detector.modality} model -> {Path(cfg.run_dir) / 'model'}")
    else:
        _say(f"{cfg.model} baseline on {cfg.detector.modality} data (not saved as a model)")
    _say(_metrics_line(metrics))
    _say(f"metrics: {Path(cfg.run_dir) / 'metrics.json'}")
    return 0


def cmd_evaluate(overrides: list[str]) -> int:
    from anomaly_diffusion.jobs.configs import EvaluateJobConfig
    from anomaly_diffusion.jobs.evaluate import run_evaluate

    cfg = build(EvaluateJobConfig, to_plain(compose_config("evaluate", overrides)))
    metrics = run_evaluate(cfg)
    _say(_metrics_line(metrics))
    _say(f"metrics: {Path(cfg.run_dir) / 'metrics.json'}")
    return 0


def cmd_score(overrides: list[str]) -> int:
    from anomaly_diffusion.jobs.configs import ScoreJobConfig
    from anomaly_diffusion.jobs.score import run_score

    summary = run_score(build(ScoreJobConfig, to_plain(compose_config("score", overrides))))
    _say(summary.line())
    if summary.failed:
        print(
            f"{summary.failed} input(s) failed: see the 'error' column of {summary.output}",
            file=sys.stderr,
        )
    return summary.exit_code


def cmd_report(overrides: list[str]) -> int:
    from anomaly_diffusion.jobs.configs import ReportJobConfig
    from anomaly_diffusion.jobs.report import run_report

    path = run_report(build(ReportJobConfig, to_plain(compose_config("report", overrides))))
    _say(f"report: {path}")
    return 0


def cmd_recalibrate(overrides: list[str]) -> int:
    from anomaly_diffusion.jobs.configs import RecalibrateJobConfig
    from anomaly_diffusion.jobs.recalibrate import run_recalibrate

    cfg = build(RecalibrateJobConfig, to_plain(compose_config("recalibrate", overrides)))
    summary = run_recalibrate(cfg)
    _say(summary.line())
    _say(f"score with: model={summary.output}")
    return 0


def cmd_promote(overrides: list[str]) -> int:
    from anomaly_diffusion.jobs.configs import PromoteJobConfig
    from anomaly_diffusion.jobs.promote import run_promote

    done = run_promote(build(PromoteJobConfig, to_plain(compose_config("promote", overrides))))
    _say(done.table())
    before = f" (was v{done.old.version})" if done.old else " (new alias)"
    _say(f"{done.name}@{done.alias} -> v{done.new.version}{before}")
    _say(f"score with: model=models:/{done.name}@{done.alias}")
    return 0


def cmd_demo(overrides: list[str]) -> int:
    from anomaly_diffusion.jobs.demo import plant_root, run_demo

    plain = to_plain(compose_config("demo", overrides))
    tracking = from_dict(TrackingConfig, plain["tracking"])
    out = Path(plain["out_dir"])
    trains = []
    for modality in plain["modalities"]:
        train_overrides = [
            f"preset={modality}",
            f"data.root={plant_root(out) / modality}",
            f"run_dir={out / 'runs' / modality}",
            f"seed={plain['seed']}",
            *(f"training.{k}={v}" for k, v in plain["training"].items()),
            *(plain.get("overrides") or {}).get(modality, []),
            *(
                f"tracking.{k}={_hydra_value(v)}"
                for k, v in plain["tracking"].items()
                if k != "registered_model_name"
            ),
        ]
        trains.append(train_config(train_overrides))
    result = run_demo(trains, out_dir=out, seed=plain["seed"], tracking=tracking)
    _say("")
    for modality, metrics in result.metrics.items():
        _say(f"{modality:<10} {_metrics_line(metrics)}")
    _say(f"\nreport:  {result.report.resolve()}")
    _say(f"scores:  {result.scores.resolve()}")
    if tracking.enabled:
        _say("MLflow:  run 'make ui' and open http://127.0.0.1:5000")
    return 0


def _hydra_value(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _metrics_line(m: dict) -> str:
    """``auroc=0.950  ...  false_alarm_rate=0.000 (0 of 8, 95 % <= 0.369)  ...``: the false-alarm
    rate with its count and the upper end of its exact 95 % interval."""

    def fmt(key: str) -> str:
        value = m.get(key)
        text = f"{key}={value:.3f}" if isinstance(value, float) else f"{key}={value}"
        n, high = m.get("n_test_normal"), m.get("false_alarm_rate_high")
        if key == "false_alarm_rate" and n and high is not None:
            text += f" ({round(value * n)} of {n}, 95 % <= {high:.3f})"
        return text

    keys = ("auroc", "pauc", "f1", "false_alarm_rate", "pixel_auroc", "threshold")
    return "  ".join(fmt(k) for k in keys if m.get(k) is not None) or "no test metrics"
