"""Evaluation figures: real PNGs with the right content."""

from __future__ import annotations

import numpy as np
from PIL import Image

from anomaly_diffusion.data.dataset import Item
from anomaly_diffusion.data.windows import Window
from anomaly_diffusion.reports.evaluation_plots import plot_roc, save_evaluation_plots
from anomaly_diffusion.scoring.result import ScoreResult


def _windows_and_result(n: int = 10):
    rng = np.random.default_rng(0)
    windows, maps = [], []
    for i in range(n):
        label = int(i >= n // 2)
        windows.append(
            Window(rng.random((1, 16, 16)).astype(np.float32), Item(f"{i}.png"), label=label)
        )
        amap = rng.random((16, 16)) * 0.1
        amap[4, 4] += label
        maps.append(amap)
    scores = np.array([m.max() for m in maps])
    return windows, ScoreResult(scores, maps, threshold=0.5, network_evals_per_item=1)


def test_perfect_scorer_roc_says_auroc_1_and_marks_the_operating_point():
    labels = np.array([0, 0, 0, 1, 1, 1])
    fig = plot_roc(labels, np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9]), threshold=0.5)
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "diffusion (AUROC 1.000)" in texts
    assert any(t.startswith("threshold (FPR 0.00, TPR 1.00)") for t in texts)


def test_save_evaluation_plots_writes_non_blank_pngs(tmp_path):
    windows, result = _windows_and_result()
    written = save_evaluation_plots(windows, result, tmp_path)
    assert sorted(p.name for p in written) == ["roc.png", "score_histogram.png", "top_items.png"]
    for path in written:
        pixels = np.asarray(Image.open(path).convert("L"), dtype=float)
        assert pixels.shape[0] > 100 and pixels.std() > 5  # something was drawn


def test_unlabelled_items_get_only_the_grid(tmp_path):
    windows, result = _windows_and_result()
    unlabelled = [Window(w.features, w.item) for w in windows]
    assert [p.name for p in save_evaluation_plots(unlabelled, result, tmp_path)] == [
        "top_items.png"
    ]
