"""The Hydra tree composes for every command and every group option, into typed configs."""

from __future__ import annotations

import pytest

from anomaly_diffusion.cli.compose import build, compose_config, config_dir, to_plain, with_preset
from anomaly_diffusion.config import MODALITIES, from_dict
from anomaly_diffusion.detector import DetectorConfig
from anomaly_diffusion.errors import ConfigError
from anomaly_diffusion.jobs.configs import (
    EvaluateJobConfig,
    ReportJobConfig,
    ScoreJobConfig,
    TrainJobConfig,
)

TRAIN_GROUPS = (
    "source",
    "features",
    "network",
    "scheduler",
    "training",
    "scoring",
    "threshold",
    "tracking",
    "preset",
)


def _options(group: str) -> list[str]:
    return sorted(p.stem for p in (config_dir() / group).glob("*.yaml"))


@pytest.mark.parametrize("group", TRAIN_GROUPS)
def test_every_train_group_option_composes_and_instantiates(group):
    options = _options(group)
    assert options, f"config group {group} has no options"
    for option in options:
        plain = to_plain(compose_config("train", [f"{group}={option}", "data.root=/x"]))
        cfg = build(TrainJobConfig, plain)
        assert isinstance(cfg.detector, DetectorConfig)
        assert cfg.data.root == "/x"


@pytest.mark.parametrize("modality", MODALITIES)
def test_presets_set_modality_and_feature_kind(modality):
    cfg = build(TrainJobConfig, to_plain(compose_config("train", [f"preset={modality}"])))
    expected = {
        "vibration": "stft",
        "acoustic": "log_mel",
        "camera": "frame",
        "process": "sensor_window",
    }[modality]
    assert cfg.detector.modality == modality
    assert cfg.detector.features.kind == expected
    assert cfg.tracking.registered_model_name == f"anomaly_diffusion_{modality}"


def test_preset_is_detected_from_file_types(plant):
    for modality, root in plant.items():
        overrides = with_preset("train", [f"data.root={root}"])
        assert overrides[-1] == f"preset={modality}"
    given = with_preset("train", ["data.root=/x", "preset=camera"])
    assert given == ["data.root=/x", "preset=camera"]


def test_overrides_reach_typed_config():
    plain = to_plain(
        compose_config(
            "train",
            [
                "scoring.t_start=50",
                "scoring.n_steps=5",
                "scoring.n_repeats=2",
                "training.max_minutes=0.5",
                "seed=7",
            ],
        )
    )
    cfg = build(TrainJobConfig, plain)
    assert (cfg.detector.scoring.t_start, cfg.detector.scoring.n_steps) == (50, 5)
    assert cfg.detector.scoring.n_repeats == 2
    assert cfg.detector.training.max_minutes == 0.5
    assert cfg.seed == 7


@pytest.mark.parametrize(
    "command,cls,required",
    [
        ("score", ScoreJobConfig, ["model=m", "input=i"]),
        ("evaluate", EvaluateJobConfig, ["model=m"]),
        ("report", ReportJobConfig, ["input=s.parquet"]),
    ],
)
def test_other_commands_compose(command, cls, required):
    cfg = build(cls, to_plain(compose_config(command, required)))
    assert cfg.tracking.enabled is True


def test_score_scoring_overrides_keep_model_values_unless_given():
    cfg = build(
        ScoreJobConfig,
        to_plain(compose_config("score", ["model=m", "input=i", "scoring.t_start=30"])),
    )
    base = DetectorConfig().scoring
    applied = cfg.scoring.apply(base)
    assert applied.t_start == 30
    assert applied.n_repeats == base.n_repeats


@pytest.mark.parametrize(
    "overrides,match",
    [
        (["preset=nope"], "preset=nope is not a known option"),
        (["scoring.t_start=0"], "scoring.t_start=0"),
        (["scoring.aggregation=median"], "scoring.aggregation"),
        (["training.max_minutes=-1"], "training.max_minutes"),
        (["features.image_size=[4,4]"], "features.image_size"),
        (["no_such_key=1"], "no_such_key"),
        (["network.groups=5"], "network.groups"),
    ],
)
def test_invalid_values_are_config_errors(overrides, match):
    with pytest.raises(ConfigError, match=match):
        build(TrainJobConfig, to_plain(compose_config("train", ["data.root=/x", *overrides])))


def test_from_dict_rejects_unknown_nested_key():
    with pytest.raises(ConfigError, match=r"scoring\.bogus"):
        from_dict(DetectorConfig, {"scoring": {"bogus": 1}})
    with pytest.raises(ConfigError, match="must be a number"):
        from_dict(DetectorConfig, {"scoring": {"t_start": "abc"}})
