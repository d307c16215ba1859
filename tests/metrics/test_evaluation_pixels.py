"""Pixel AUROC / AUPRO in ``evaluate_windows`` are measured like MVTec AD / anomalib: every test
image counts, defect-free ones with an all-zero mask; anomalous images without a mask stay out.
Maps are given (a stub detector), so the answers are exact."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from anomaly_diffusion.data.dataset import Item
from anomaly_diffusion.data.windows import Window
from anomaly_diffusion.jobs.evaluation import METRIC_KEYS, evaluate_windows, pixel_ground_truth
from anomaly_diffusion.metrics import aupro
from anomaly_diffusion.scoring.result import ScoreResult

MASK = np.zeros((4, 4), dtype=bool)
MASK[:2, :2] = True  # a 2 x 2 defect in the top-left corner
# the defect is hotter (0.8) than the background (0.2), except one background pixel at 0.9
DEFECT_MAP = np.where(MASK, 0.8, 0.2)
DEFECT_MAP[3, 3] = 0.9


class StubDetector:
    """Returns the given maps; scores are each map's maximum."""

    threshold_ = 0.5

    def __init__(self, maps: list[np.ndarray]) -> None:
        self.maps = maps

    def score(self, windows, *, seed=0) -> ScoreResult:
        scores = np.array([m.max() for m in self.maps], dtype=float)
        return ScoreResult(scores, self.maps, self.threshold_, 1)


def _image(label: int, mask: np.ndarray | None = None) -> Window:
    return Window(
        features=np.zeros((1, 4, 4), dtype=np.float32),
        item=Item("img.png", "test", label, "good" if label == 0 else "spot"),
        label=label,
        mask=mask,
    )


def _spectrogram(label: int) -> Window:
    return Window(
        features=np.zeros((1, 4, 4), dtype=np.float32),
        item=Item("pump.wav", "test", label),
        start_s=0.0,
        end_s=1.0,
        label=label,
        freqs_hz=np.arange(4.0),
        frame_s=0.25,
        sample_rate=16.0,
    )


def _pixels(windows: list[Window], maps: list[np.ndarray]) -> dict:
    metrics, _ = evaluate_windows(StubDetector(maps), windows)
    return metrics


def test_defect_free_images_count_with_all_zero_masks():
    anomalous_only = _pixels([_image(1, MASK)] * 2, [DEFECT_MAP] * 2)
    # 8 defect pixels all above 22 of the 24 background pixels, tied with none, below 2 (0.9)
    assert anomalous_only["pixel_auroc"] == pytest.approx(22 / 24)
    assert anomalous_only["pixel_metrics_images"] == 2

    hot, cold = np.full((4, 4), 0.85), np.zeros((4, 4))
    with_hot = _pixels([_image(1, MASK)] * 2 + [_image(0)] * 2, [DEFECT_MAP] * 2 + [hot] * 2)
    with_cold = _pixels([_image(1, MASK)] * 2 + [_image(0)] * 2, [DEFECT_MAP] * 2 + [cold] * 2)
    # hot normals: 32 more background pixels above every defect pixel -> (22 + 0) / 56
    assert with_hot["pixel_auroc"] == pytest.approx(22 / 56)
    assert with_hot["pixel_auroc"] < anomalous_only["pixel_auroc"]
    # cold normals: 32 more background pixels below every defect pixel -> (22 + 32) / 56
    assert with_cold["pixel_auroc"] == pytest.approx(54 / 56)
    assert with_cold["pixel_auroc"] > anomalous_only["pixel_auroc"]
    assert with_hot["pixel_metrics_images"] == with_cold["pixel_metrics_images"] == 4
    # independently: sklearn on the stack with zero masks for the normal images
    masks = np.stack([MASK, MASK, np.zeros_like(MASK), np.zeros_like(MASK)])
    maps = np.stack([DEFECT_MAP, DEFECT_MAP, hot, hot])
    assert with_hot["pixel_auroc"] == pytest.approx(roc_auc_score(masks.ravel(), maps.ravel()))
    assert with_hot["aupro"] == pytest.approx(aupro(masks, maps))
    assert with_hot["aupro"] < anomalous_only["aupro"] <= with_cold["aupro"]


def test_anomalous_images_without_masks_are_left_out():
    base = _pixels([_image(1, MASK), _image(0)], [DEFECT_MAP, np.zeros((4, 4))])
    unknown = np.full((4, 4), 5.0)  # would be a flood of hot "normal" pixels if counted
    metrics = _pixels(
        [_image(1, MASK), _image(0), _image(1)], [DEFECT_MAP, np.zeros((4, 4)), unknown]
    )
    assert metrics["pixel_metrics_images"] == base["pixel_metrics_images"] == 2
    assert metrics["pixel_auroc"] == base["pixel_auroc"]
    assert metrics["aupro"] == base["aupro"]


def test_pixel_ground_truth_stack():
    windows = [_image(1, MASK), _image(0), _image(1), _spectrogram(0), _image(0)]
    maps = [DEFECT_MAP, np.ones((4, 4)), np.ones((4, 4)), np.ones((4, 4)), np.ones((2, 8))]
    masks, stacked = pixel_ground_truth(windows, maps)
    # kept: the masked image and the first defect-free image; not the unmasked anomalous image,
    # the spectrogram, or the defect-free image whose map has another shape
    assert masks.shape == stacked.shape == (2, 4, 4)
    assert masks.dtype == bool
    np.testing.assert_array_equal(masks[0], MASK)
    assert not masks[1].any()
    np.testing.assert_array_equal(stacked[0], DEFECT_MAP)
    np.testing.assert_array_equal(stacked[1], np.ones((4, 4)))


def test_no_masks_no_pixel_metrics():
    windows = [_image(1), _image(0), _spectrogram(0), _spectrogram(1)]
    maps = [np.ones((4, 4))] * 4
    assert pixel_ground_truth(windows, maps) is None
    metrics = _pixels(windows, maps)
    assert "pixel_metrics_images" in METRIC_KEYS
    assert metrics["pixel_auroc"] is metrics["aupro"] is metrics["pixel_metrics_images"] is None
