"""The saved-model folder: ``weights.safetensors`` + ``detector.json`` (format version 1).

:func:`save_detector` writes a fitted detector, :func:`load_detector_files` reads one back;
:func:`for_inference` puts a trained UNet in the state it is kept in after fitting or loading.
Takes the detector class as an argument, so this module does not import
:mod:`anomaly_diffusion.detector` (which re-exports these names).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from anomaly_diffusion.calibration import AlarmRule
from anomaly_diffusion.config import from_dict, to_dict
from anomaly_diffusion.data.conditions import ConditionEncoder
from anomaly_diffusion.detector_config import DetectorConfig
from anomaly_diffusion.diffusion.position_denoiser import PositionDenoiser
from anomaly_diffusion.diffusion.unet import UNet
from anomaly_diffusion.errors import ConfigError, NotFittedError
from anomaly_diffusion.features.backbone import FeatureExtractor
from anomaly_diffusion.metrics.severity import NormalTail
from anomaly_diffusion.model_inputs import BackboneInputs
from anomaly_diffusion.scoring_config import describe_changes

if TYPE_CHECKING:
    from anomaly_diffusion.detector import DiffusionAnomalyDetector

WEIGHTS_FILE, CONFIG_FILE = "weights.safetensors", "detector.json"


def save_detector(detector: DiffusionAnomalyDetector, path: str | Path) -> Path:
    """Write ``weights.safetensors`` (EMA weights + normalization) and ``detector.json``.

    Args:
        detector: A fitted detector.
        path: Folder to write (created if missing).

    Returns:
        The folder, as a :class:`~pathlib.Path`.

    Raises:
        NotFittedError: the detector has no model yet.
    """
    if detector.model_ is None:
        raise NotFittedError("nothing to save: fit the detector first")
    if changes := detector.stale_calibration():
        raise ConfigError(
            f"{describe_changes(changes)}: calibrate the detector for these settings before "
            "saving it (a saved model's threshold holds for its saved scoring settings)"
        )
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tensors = {f"model.{k}": v.contiguous() for k, v in detector.model_.state_dict().items()}
    if detector.map_stats_ is not None:
        tensors["maps.mean"], tensors["maps.std"] = (
            torch.from_numpy(a) for a in detector.map_stats_
        )
    if detector.normal_tail_ is not None:
        tensors["calib.scores"] = torch.from_numpy(detector.normal_tail_.scores)
    if detector.inputs_ is not None:
        tensors.update(detector.inputs_.tensors())
    tensors["norm.mean"], tensors["norm.std"] = (
        torch.from_numpy(detector.mean_),
        torch.from_numpy(detector.std_),
    )
    if detector.sensor_whitening_ is not None:
        tensors["norm.sensor_whitening"] = torch.from_numpy(detector.sensor_whitening_)
    save_file(tensors, str(path / WEIGHTS_FILE))
    meta = {
        "config": to_dict(detector.config),
        "threshold": detector.threshold_,
        "sample_rate": detector.sample_rate_,
        "map_stats_type": detector.map_stats_type_,
        "tail_scale": detector.normal_tail_.scale if detector.normal_tail_ else None,
        "conditions": detector.conditions_.to_dict() if detector.conditions_ else None,
        "source_sizes": detector.source_sizes_,
        "input_lengths": detector.input_lengths_,
        "clip_seconds": detector.clip_seconds_,
        "group_thresholds": detector.group_thresholds_,
        "group_tails": {
            k: {"scores": t.scores.tolist(), "scale": t.scale}
            for k, t in detector.group_tails_.items()
        },
        "calibration_items": detector.calibration_items_,
        "calibration_resolution": detector.calibration_resolution_,
        "format_version": 1,
    }
    (path / CONFIG_FILE).write_text(json.dumps(meta, indent=2))
    return path


def load_detector_files(
    cls: type[DiffusionAnomalyDetector], path: str | Path
) -> DiffusionAnomalyDetector:
    """Load a folder written by :func:`save_detector`.

    Args:
        cls: The detector class to build (called with the saved :class:`DetectorConfig`).
        path: The saved folder.

    Returns:
        The fitted detector, its UNet ready for inference.

    Raises:
        ConfigError: ``path`` holds no ``detector.json``.
    """
    path = Path(path)
    if not (path / CONFIG_FILE).is_file():
        raise ConfigError(
            f"model={path}: no {CONFIG_FILE} there; point model= at a folder "
            "written by 'anomaly-diffusion train' (run_dir/model) or an MLflow URI"
        )
    meta = json.loads((path / CONFIG_FILE).read_text())
    threshold_cfg = meta["config"].get("threshold", {})
    if "target_far" in threshold_cfg:  # models saved before the rename
        threshold_cfg["false_alarm_rate"] = threshold_cfg.pop("target_far")
    detector = cls(from_dict(DetectorConfig, meta["config"]))
    tensors = load_file(str(path / WEIGHTS_FILE))
    model = make_network(detector.config)
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    detector.model_ = for_inference(model)
    detector.mean_, detector.std_ = tensors["norm.mean"].numpy(), tensors["norm.std"].numpy()
    if "norm.sensor_whitening" in tensors:
        detector.sensor_whitening_ = tensors["norm.sensor_whitening"].numpy()
    features = detector.config.features
    if features.backbone != "none":
        extractor = FeatureExtractor(
            features.backbone_layers,
            pool=features.backbone_pool,
            precision=features.backbone_precision,  # as fitted (never auto in a saved model)
        )
        detector.inputs_ = BackboneInputs.from_tensors(extractor, tensors)
    detector.sample_rate_ = meta["sample_rate"]
    detector.conditions_ = ConditionEncoder.from_dict(meta.get("conditions"))
    detector.alarm_rule_ = _alarm_rule(meta, tensors)
    # a saved model is calibrated for the scoring settings it was saved with
    calibrated = detector.alarm_rule_ is not None
    detector.calibrated_scoring_ = detector.config.scoring if calibrated else None
    detector.calibration_items_ = list(meta.get("calibration_items") or [])
    detector.calibration_resolution_ = meta.get("calibration_resolution")
    sizes = meta.get("source_sizes")
    detector.source_sizes_ = None if sizes is None else (tuple(sizes[0]), tuple(sizes[1]))
    lengths = meta.get("input_lengths")  # models saved before it: no check
    detector.input_lengths_ = None if lengths is None else (int(lengths[0]), int(lengths[1]))
    clips = meta.get("clip_seconds")
    detector.clip_seconds_ = None if clips is None else (float(clips[0]), float(clips[1]))
    if "maps.mean" in tensors:
        stats = (tensors["maps.mean"].numpy(), tensors["maps.std"].numpy())
        # models saved before map components existed hold (H, W) / (F, 1) statistics
        detector.map_stats_ = tuple(a[None] if a.ndim == 2 else a for a in stats)
        detector.map_stats_type_ = meta.get("map_stats_type") or "residual"
    return detector


def make_network(config: DetectorConfig) -> torch.nn.Module:
    """The denoiser a config asks for: the pixel UNet, or the feature-space
    :class:`PositionDenoiser` when ``features.backbone`` is set."""
    if config.features.backbone != "none":
        return PositionDenoiser(config.denoiser)
    return UNet(config.network)


def for_inference(model: torch.nn.Module) -> torch.nn.Module:
    """Eval mode, no gradients, channels-last weights: convolutions on CPU run ~20 % faster
    (measured: 0.23 -> 0.18 s per forward of 4 x 1 x 128 x 376 on 2 cores)."""
    return model.eval().requires_grad_(False).to(memory_format=torch.channels_last)


def _alarm_rule(meta: dict, tensors: dict[str, torch.Tensor]) -> AlarmRule | None:
    """The saved alarm rule (``None`` for an uncalibrated model). Models saved before
    severity tails have none; those saved before group tails use the global tail for all."""
    if meta["threshold"] is None:
        return None
    tail = None
    if "calib.scores" in tensors and meta.get("tail_scale") is not None:
        tail = NormalTail(scores=tensors["calib.scores"].numpy(), scale=float(meta["tail_scale"]))
    return AlarmRule(
        threshold=float(meta["threshold"]),
        tail=tail,
        group_thresholds=meta.get("group_thresholds") or {},
        group_tails={
            k: NormalTail(scores=np.asarray(t["scores"], dtype=np.float64), scale=float(t["scale"]))
            for k, t in (meta.get("group_tails") or {}).items()
        },
    )
