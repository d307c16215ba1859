"""PatchCore and PaDiM behind the detector interface, on ImageNet MobileNetV2 feature maps."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from anomaly_diffusion.baselines.detector import BaselineDetector, make_baseline
from anomaly_diffusion.baselines.pretrained import PretrainedBaseline
from anomaly_diffusion.config import FeatureConfig
from anomaly_diffusion.data.dataset import Item
from anomaly_diffusion.data.windows import Window
from anomaly_diffusion.detector import DetectorConfig
from anomaly_diffusion.errors import ConfigError, DataError, NotFittedError

SIZE = 64
BOX = (slice(32, 52), slice(12, 32))  # rows, columns of the pasted checkerboard


def _frames(n: int, seed: int, *, pasted: bool = False) -> list[Window]:
    """Smooth noisy gray frames; ``pasted``: a bright checkerboard square inside :data:`BOX`."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        x = 0.5 + gaussian_filter(rng.normal(size=(SIZE, SIZE)), 3) * 0.3
        x += 0.01 * rng.normal(size=(SIZE, SIZE))
        if pasted:
            yy, xx = np.mgrid[BOX]
            x[BOX] = np.where((yy // 4 + xx // 4) % 2 == 0, 1.0, 0.6)
        frame = np.clip(x, 0, 1).astype(np.float32)[None]
        out.append(Window(features=frame, item=Item(f"{seed}_{i}.png"), label=int(pasted)))
    return out


def _config(kind: str = "frame") -> DetectorConfig:
    return DetectorConfig("camera", features=FeatureConfig(kind=kind, image_size=(SIZE, SIZE)))


@pytest.mark.parametrize("name", ["patchcore", "padim"])
def test_a_pasted_texture_peaks_in_its_box_and_scores_above_clean_frames(
    name, imagenet_weights, one_torch_thread
):
    det = make_baseline(name, _config())
    assert isinstance(det, PretrainedBaseline) and det.input_channels is None
    with pytest.raises(NotFittedError):
        det.score(_frames(1, 0))
    det.fit(_frames(6, 1), seed=0)
    det.calibrate(_frames(12, 2))  # a 1 % threshold from 4 frames is (rightly) far out
    assert det.input_channels == 1 and det.sample_rate_ is None and det.threshold_ is not None
    clean, pasted = det.score(_frames(3, 3)), det.score(_frames(2, 4, pasted=True))
    assert pasted.scores.min() > clean.scores.max()
    assert det.score([]).scores.shape == (0,)
    assert pasted.is_anomaly.all() and pasted.network_evals_per_item == 0
    assert pasted.severity is not None and (pasted.severity > clean.severity.max()).all()
    for amap in pasted.maps:
        assert amap.shape == (SIZE, SIZE)
        row, col = np.unravel_index(np.argmax(amap), amap.shape)
        assert BOX[0].start <= row < BOX[0].stop and BOX[1].start <= col < BOX[1].stop


def test_only_frames_of_the_training_shape():
    with pytest.raises(ConfigError, match=r"model=patchcore works on images \(features.kind="):
        PretrainedBaseline("patchcore", _config("stft"))
    with pytest.raises(ConfigError, match="make_baseline"):
        BaselineDetector("padim", _config())
    with pytest.raises(ConfigError, match=r"coreset_ratio=1\.5"):
        PretrainedBaseline("patchcore", _config(), coreset_ratio=1.5)
    det = PretrainedBaseline("padim", _config())
    mixed = _frames(2, 0)
    mixed.append(Window(features=np.zeros((1, 8, 8), np.float32), item=Item("small.png")))
    with pytest.raises(DataError, match=r"features\.image_size"):
        det.fit(mixed)
    with pytest.raises(DataError, match="no training windows"):
        det.fit([])


def test_train_config_accepts_the_new_models():
    from anomaly_diffusion.jobs.configs import TrainJobConfig

    assert TrainJobConfig(model="padim").model == "padim"
    assert TrainJobConfig(model="pca_q").model == "pca_q"
    with pytest.raises(ConfigError, match="dense_ae, pca_t2, pca_q, patchcore, padim"):
        TrainJobConfig(model="knn")
