"""Helpers shared by the jobs: tracker choice, seeding, provenance, atomic tables and JSON."""

from __future__ import annotations

import json
import logging
import random
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import yaml

from anomaly_diffusion.atomic import atomic_path, write_text_atomic
from anomaly_diffusion.config import DataConfig, TrackingConfig, flatten, to_dict
from anomaly_diffusion.data.cache import FeatureCache
from anomaly_diffusion.tracking.tracker import NullTracker, Tracker

logger = logging.getLogger(__name__)


def make_tracker(cfg: TrackingConfig) -> Tracker:
    """MLflow tracker (reachability checked now, before any work) or a NullTracker."""
    if not cfg.enabled:
        return NullTracker()
    from anomaly_diffusion.tracking.mlflow_tracker import MlflowTracker

    return MlflowTracker(cfg.uri, experiment=cfg.experiment)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch once per job (the seed is logged as a param)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def git_commit() -> str | None:
    """Commit of the source tree this package runs from, when it is a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def run_tags(job: str, seed: int) -> dict[str, str]:
    """Tags every run carries: job name, seed and git commit."""
    tags = {"job": job, "seed": str(seed)}
    commit = git_commit()
    if commit:
        tags["mlflow.source.git.commit"] = commit
    return tags


def log_job_config(tracker: Tracker, cfg: Any, **extra: Any) -> dict[str, Any]:
    """Log a job's typed config: flattened params named like the CLI overrides
    (``features.kind``, ``scoring.t_start``, ...) plus ``extra``, and the resolved YAML."""
    plain = to_dict(cfg)
    params = {k.removeprefix("detector."): v for k, v in flatten(plain).items()}
    tracker.log_params({**params, **extra})
    tracker.log_config(plain)
    return plain


def write_json(path: str | Path, payload: dict[str, Any]) -> Path:
    """Pretty JSON, written atomically."""
    return write_text_atomic(path, json.dumps(payload, indent=2, default=_json_default) + "\n")


def write_yaml(path: str | Path, payload: dict[str, Any]) -> Path:
    """YAML (e.g. the resolved config), written atomically."""
    return write_text_atomic(path, yaml.safe_dump(payload, sort_keys=False))


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Parquet, or CSV when the name ends in ``.csv``; written atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        if path.suffix.lower() == ".csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)
    return path


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def feature_cache(data: DataConfig) -> FeatureCache | None:
    """The feature cache of ``data.cache_dir`` (``None`` when off)."""
    return FeatureCache(data.cache_dir) if data.cache_dir else None
