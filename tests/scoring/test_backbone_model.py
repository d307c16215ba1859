"""The feature-space model (``features.backbone=mobilenet_v2``) after real (short) training:
a pasted texture patch scores above the clean frame and the map peaks on it; the saved model
carries its backbone, so features and scores are unchanged after save/load."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from anomaly_diffusion.config import FeatureConfig, ScoringConfig, TrainingConfig
from anomaly_diffusion.data.dataset import Item
from anomaly_diffusion.data.windows import Window
from anomaly_diffusion.detector import DetectorConfig, DiffusionAnomalyDetector
from anomaly_diffusion.diffusion.position_denoiser import DenoiserConfig
from anomaly_diffusion.errors import ConfigError
from anomaly_diffusion.precision import resolved_precision

SIZE = 96


def _surface(rng: np.random.Generator) -> np.ndarray:
    """Smooth brushed-metal-like gray surface ``(1, SIZE, SIZE)`` in [0, 1]."""
    yy = np.mgrid[0:SIZE, 0:SIZE][0] / SIZE
    base = 0.5 + 0.08 * np.sin(2 * np.pi * (3 * yy + rng.uniform()))
    return (base + rng.normal(0, 0.02, base.shape)).clip(0, 1)[None].astype(np.float32)


def _paste_checkerboard(frame: np.ndarray, top: int, left: int, side: int = 24) -> np.ndarray:
    out = frame.copy()
    yy, xx = np.mgrid[0:side, 0:side]
    out[0, top : top + side, left : left + side] = 0.15 + 0.7 * (((yy // 4) + (xx // 4)) % 2)
    return out


def _window(frame: np.ndarray, name: str) -> Window:
    return Window(features=frame, item=Item(path=name), source_size=(SIZE, SIZE))


@pytest.fixture(scope="module")
def fitted(imagenet_weights):
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    train = [_window(_surface(rng), f"train_{i}.png") for i in range(24)]
    held = [_window(_surface(rng), f"held_{i}.png") for i in range(12)]
    cfg = DetectorConfig(
        "camera",
        features=FeatureConfig(
            kind="frame",
            image_size=(SIZE, SIZE),
            backbone="mobilenet_v2",
            backbone_precision="auto",  # as the presets ship it: resolved at fit
        ),
        denoiser=DenoiserConfig(width=64, depth=2),
        training=TrainingConfig(max_steps=600, batch_size=8, warmup_steps=10),
        scoring=ScoringConfig(
            t_start=100,
            n_repeats=2,
            smoothing_sigma=2.0,
            aggregation="max",
            map_normalization="pixel",
        ),
    )
    return DiffusionAnomalyDetector(cfg).fit(train, seed=0).calibrate(held)


def test_pasted_patch_scores_above_clean_and_the_peak_is_on_it(fitted):
    for seed in range(100, 104):
        clean = _surface(np.random.default_rng(seed))
        top, left = np.random.default_rng(seed).integers(8, SIZE - 32, size=2)
        bad = _paste_checkerboard(clean, top, left)
        result = fitted.score([_window(clean, f"p{seed}.png"), _window(bad, f"p{seed}.png")])
        assert result.maps[1].shape == (SIZE, SIZE)
        assert result.scores[1] > 2 * result.scores[0], seed
        assert result.scores[1] > fitted.threshold_ > result.scores[0], seed
        row, col = np.unravel_index(np.argmax(result.maps[1]), result.maps[1].shape)
        assert top - 4 <= row < top + 28 and left - 4 <= col < left + 28, (seed, row, col)


def test_saved_model_carries_backbone_features_and_scores(fitted, tmp_path, monkeypatch):
    frames = [_surface(np.random.default_rng(7)), _surface(np.random.default_rng(8))]
    windows = [_window(f, f"s{i}.png") for i, f in enumerate(frames)]
    before = fitted.score(windows)
    fitted.save(tmp_path / "model")
    # no weight file is looked up at load time: the saved model has its own backbone
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "none"))
    monkeypatch.setenv("ANOMALY_DIFFUSION_CACHE", str(tmp_path / "none"))
    loaded = DiffusionAnomalyDetector.load(tmp_path / "model")
    np.testing.assert_array_equal(
        loaded.inputs_.encode(frames).numpy(), fitted.inputs_.encode(frames).numpy()
    )
    after = loaded.score(windows)
    np.testing.assert_allclose(after.scores, before.scores, rtol=1e-5)
    assert loaded.threshold_ == fitted.threshold_
    assert loaded.input_channels == 1  # frames in, feature maps inside
    # auto was resolved for this CPU when fitting; the saved model keeps that arithmetic
    precision = fitted.config.features.backbone_precision
    assert precision == resolved_precision("auto", field="features.backbone_precision")
    assert loaded.config.features.backbone_precision == precision
    assert loaded.inputs_.extractor.precision == precision


def test_backbone_rejects_pixel_only_settings():
    features = FeatureConfig(kind="frame", backbone="mobilenet_v2")
    with pytest.raises(ConfigError, match=r"scoring.map_type=combined needs the pixel UNet"):
        DetectorConfig(features=features, scoring=ScoringConfig(map_type="combined"))
    with pytest.raises(ConfigError, match=r"features.backbone=mobilenet_v2 works on images"):
        FeatureConfig(kind="stft", backbone="mobilenet_v2")
    with pytest.raises(ConfigError, match="backbone_layers"):
        FeatureConfig(kind="frame", backbone="mobilenet_v2", backbone_layers=(13, 6))


def test_label_free_tuning_searches_residual_maps_only(fitted):
    from anomaly_diffusion.config import TuneConfig
    from anomaly_diffusion.scoring.chooser import choose_scoring

    rng = np.random.default_rng(5)
    normal = [_window(_surface(rng), f"tune_{i}.png") for i in range(8)]
    cfg = TuneConfig(
        t_starts=(50, 100),
        map_types=("residual", "combined"),
        normalizations=("pixel",),
        smoothing_sigmas=(2.0,),
        aggregations=("max",),
        per_kind=2,
    )
    result = choose_scoring(fitted, normal, cfg)
    assert {row["map_type"] for row in result.table} == {"residual"}
    assert len(result.table) == 2 and result.scoring.map_type == "residual"
    assert result.scoring.t_start in (50, 100)
