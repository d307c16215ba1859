"""Hydra composition: ``configs/<command>.yaml`` + overrides -> typed job configs.

This package is the only one that imports hydra/omegaconf.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.errors import HydraException, MissingConfigException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from anomaly_diffusion.config import MODALITIES, DataConfig, TrackingConfig, from_dict
from anomaly_diffusion.errors import ConfigError

DETECTOR_KEYS = (
    "modality",
    "source",
    "features",
    "network",
    "denoiser",
    "scheduler",
    "training",
    "scoring",
    "threshold",
    "diagnosis",
)


def config_dir() -> Path:
    """``$ANOMALY_DIFFUSION_CONFIGS`` or the repository's ``configs/`` folder."""
    env = os.environ.get("ANOMALY_DIFFUSION_CONFIGS")
    path = Path(env) if env else Path(__file__).resolve().parents[2] / "configs"
    if not (path / "train.yaml").is_file():
        raise ConfigError(
            f"config folder {path} not found or incomplete; set "
            "ANOMALY_DIFFUSION_CONFIGS=<repo>/configs"
        )
    return path


def compose_config(command: str, overrides: list[str]) -> DictConfig:
    """Compose ``configs/<command>.yaml`` with Hydra overrides.

    Raises:
        ConfigError: unknown option, bad override syntax or an unknown group choice.
    """
    try:
        with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
            return compose(config_name=command, overrides=overrides)
    except MissingConfigException as exc:
        raise ConfigError(_missing_message(exc)) from exc
    except (HydraException, OmegaConfBaseException) as exc:
        raise ConfigError(
            f"{str(exc).splitlines()[0]}; run 'anomaly-diffusion {command} --help' "
            "to see the valid keys"
        ) from exc


def _missing_message(exc: MissingConfigException) -> str:
    options = getattr(exc, "options", None) or []
    first = str(exc).splitlines()[0]
    found = re.search(r"Could not find '([^/']+)/([^']*)'", first)
    if found:
        first = f"{found.group(1)}={found.group(2)} is not a known option"
    group = found.group(1) if found else "option"
    return f"{first.rstrip('.')}; choose {group}=" + (
        "|".join(sorted(options)) if options else "<valid option>"
    )


def to_plain(cfg: DictConfig) -> dict[str, Any]:
    """Resolved plain dict of a composed config."""
    try:
        return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
    except OmegaConfBaseException as exc:
        raise ConfigError(str(exc).splitlines()[0]) from exc


def detect_modality(*, root: str | None, manifest: str | None) -> str | None:
    """Most common modality among the training files' types (``None`` when undecidable)."""
    from anomaly_diffusion.ingest import modality_of

    if manifest and Path(manifest).is_file():
        import pandas as pd

        table = (
            pd.read_parquet(manifest) if manifest.endswith(".parquet") else pd.read_csv(manifest)
        )
        paths = [Path(p) for p in table.get("path", [])]
    elif root and Path(root).is_dir():
        base = Path(root) / "train" if (Path(root) / "train").is_dir() else Path(root)
        paths = [p for p in base.rglob("*") if p.is_file()]
    else:
        return None
    counts = Counter(m for m in map(modality_of, paths) if m is not None)
    return counts.most_common(1)[0][0] if counts else None


def with_preset(command: str, overrides: list[str]) -> list[str]:
    """Add ``preset=<modality>`` detected from ``data.root``/``data.manifest`` unless given."""
    if any(o.split("=")[0].lstrip("+~") == "preset" for o in overrides):
        return overrides
    values = dict(o.split("=", 1) for o in overrides if "=" in o)
    modality = detect_modality(root=values.get("data.root"), manifest=values.get("data.manifest"))
    if modality is None:
        return overrides
    return [*overrides, f"preset={modality}"]


def detector_section(plain: dict[str, Any]) -> dict[str, Any]:
    """The detector part of a composed train config (``modality``, ``features``, ...)."""
    if plain.get("modality") not in MODALITIES:
        raise ConfigError(f"modality={plain.get('modality')!r}; use one of {MODALITIES}")
    return {k: plain[k] for k in DETECTOR_KEYS}


def build(cls: type, plain: dict[str, Any]) -> Any:
    """Typed config ``cls`` from a plain dict, nesting the detector keys for train jobs."""
    from anomaly_diffusion.jobs.configs import TrainJobConfig

    if cls is TrainJobConfig:
        rest = {k: v for k, v in plain.items() if k not in DETECTOR_KEYS}
        plain = {**rest, "detector": detector_section(plain)}
    return from_dict(cls, plain)


__all__ = ["DataConfig", "TrackingConfig", "build", "compose_config", "to_plain", "with_preset"]
