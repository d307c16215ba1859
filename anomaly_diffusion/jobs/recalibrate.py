"""``recalibrate`` job: a saved model with other scoring settings, its threshold, map statistics
and severity tail fit again on held-out normal data, so that no job ever scores against a
threshold fit for other settings.

The held-out normals are, by default, the very items the model was calibrated on (saved with
the model: paths, segments, assets, conditions), or any folder / manifest of normal data the
model was not trained on (``normal=``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from anomaly_diffusion.config import flatten, to_dict
from anomaly_diffusion.data.dataset import Item, resolve_inputs
from anomaly_diffusion.detector import load_detector
from anomaly_diffusion.errors import ConfigError, DataError
from anomaly_diffusion.inference import read_held_out
from anomaly_diffusion.jobs.common import log_job_config, make_tracker, run_tags, seed_everything
from anomaly_diffusion.jobs.configs import RecalibrateJobConfig
from anomaly_diffusion.scoring_config import describe_changes

logger = logging.getLogger(__name__)


def held_out_items(detector, normal: str | None) -> list[Item]:
    """Normal items to calibrate on: ``normal`` (a file, folder, glob or manifest of normal
    data), else the held-out items saved with the model that still exist.

    Raises:
        ConfigError: no ``normal`` and the saved items are missing or none exists here.
    """
    if normal:
        return [it for it in resolve_inputs(normal) if it.label in (None, 0)]
    saved = detector.calibration_items_
    if not saved:
        raise ConfigError(
            "this model keeps no list of its held-out normals (saved before they were "
            "recorded); give normal=<folder or manifest of normal data it was not trained on>"
        )
    found = [d for d in saved if Path(d["path"]).exists()]
    if not found:
        raise ConfigError(
            f"none of the {len(saved)} held-out normal file(s) this model was calibrated on "
            f"exists here (first: {saved[0]['path']}); give normal=<folder or manifest of "
            "normal data it was not trained on>"
        )
    if len(found) < len(saved):
        logger.warning(
            "%d of %d held-out normal file(s) are missing; calibrating on the other %d",
            len(saved) - len(found),
            len(saved),
            len(found),
        )
    return [
        Item(
            path=d["path"],
            split="train",
            label=0,
            asset=d.get("asset") or "",
            start_s=d.get("start_s"),
            end_s=d.get("end_s"),
            conditions=tuple(tuple(c) for c in d.get("conditions") or ()),
        )
        for d in found
    ]


def recalibrate(detector, normal: str | None, *, seed: int = 0) -> int:
    """Fit ``detector``'s calibration again for its current scoring settings on
    :func:`held_out_items`; returns the number of windows it was fit on.

    Raises:
        DataError: none of the held-out files could be read.
    """
    items = held_out_items(detector, normal)
    changes = detector.stale_calibration()
    windows, failed = read_held_out(detector, items, desc="reading held-out normals")
    if failed:
        logger.warning(
            "%d held-out normal file(s) could not be read: %s", len(failed), failed[0][1]
        )
    if not windows:
        raise DataError(
            f"none of the {len(items)} held-out normal file(s) could be read; first error: "
            f"{failed[0][1] if failed else 'no windows'}"
        )
    detector.calibrate(windows, seed=seed)
    logger.info(
        "recalibrated on %d held-out normal window(s) of %d file(s)%s: threshold %.4g",
        len(windows),
        len(items),
        f" for {describe_changes(changes)}" if changes else "",
        detector.threshold_,
    )
    return len(windows)


@dataclass(frozen=True)
class RecalibrateSummary:
    """What the job did: the new model folder, its threshold and the windows behind it."""

    output: Path
    threshold: float
    n_windows: int
    model_uri: str | None

    def line(self) -> str:
        where = f" (logged as {self.model_uri})" if self.model_uri else ""
        return (
            f"recalibrated on {self.n_windows} held-out normal window(s): threshold "
            f"{self.threshold:.4g} -> {self.output}{where}"
        )


def run_recalibrate(cfg: RecalibrateJobConfig) -> RecalibrateSummary:
    """Load ``cfg.model``, apply the scoring overrides, recalibrate, save to ``cfg.output``
    and (with tracking) log it as a pyfunc model, registered as a new version when
    ``cfg.registered_model_name`` is given (aliases are not moved: promote it)."""
    from anomaly_diffusion.tracking.mlflow_tracker import fetch_model

    tracker = make_tracker(cfg.tracking)
    seed_everything(cfg.seed)
    detector = load_detector(fetch_model(cfg.model, tracking_uri=cfg.tracking.uri))
    detector.with_scoring(cfg.scoring.apply(detector.config.scoring))
    with tracker.run(f"recalibrate-{detector.config.modality}", tags=run_tags("recalibrate", 0)):
        log_job_config(tracker, cfg, **flatten({"scoring": to_dict(detector.config.scoring)}))
        n = recalibrate(detector, cfg.normal, seed=cfg.seed)
        output = detector.save(cfg.output)
        tracker.log_metrics({"threshold": float(detector.threshold_), "n_windows": n})
        uri = tracker.log_model(output, registered_name=cfg.registered_model_name)
    return RecalibrateSummary(output, float(detector.threshold_), n, uri)
