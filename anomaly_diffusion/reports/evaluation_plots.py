"""Evaluation figures for a labelled test set: ROC curve, score histograms of normal vs
anomalous with the threshold, and a grid of the highest-scoring items with their maps. Written next
to ``metrics.json`` and logged to MLflow by ``train`` and ``evaluate``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from sklearn.metrics import roc_auc_score, roc_curve

from anomaly_diffusion.reports.figures import new_figure, save_figure

_THR = {"color": "black", "linestyle": "--", "linewidth": 1}


def plot_roc(labels: np.ndarray, scores: np.ndarray, *, threshold: float | None) -> Figure:
    """ROC curve with its AUROC, the chance diagonal and the calibrated operating point."""
    fig = new_figure(4.2, 4.0)
    ax = fig.subplots()
    fpr, tpr, _ = roc_curve(labels, scores)
    ax.plot(
        fpr, tpr, color="tab:red", label=f"diffusion (AUROC {roc_auc_score(labels, scores):.3f})"
    )
    ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8, label="chance")
    if threshold is not None:
        flagged = scores > threshold
        point = (flagged[labels == 0].mean(), flagged[labels == 1].mean())
        ax.plot(*point, "ko", label=f"threshold (FPR {point[0]:.2f}, TPR {point[1]:.2f})")
    ax.set_xlabel("false-alarm rate (normal items flagged)")
    ax.set_ylabel("detection rate (anomalous items flagged)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.legend(fontsize="x-small", loc="lower right")
    ax.grid(alpha=0.3)
    return fig


def plot_label_histogram(
    labels: np.ndarray, scores: np.ndarray, *, threshold: float | None, bins: int = 30
) -> Figure:
    """Score histograms of the truly normal and truly anomalous items, with the threshold."""
    fig = new_figure(6.0, 3.2)
    ax = fig.subplots()
    edges = np.histogram_bin_edges(scores, bins=bins)
    for value, color, name in ((0, "tab:blue", "normal"), (1, "tab:red", "anomalous")):
        part = scores[labels == value]
        ax.hist(part, bins=edges, color=color, alpha=0.6, label=f"{name} ({part.size})")
    if threshold is not None:
        ax.axvline(threshold, label="threshold", **_THR)
    ax.set_xlabel("anomaly score")
    ax.set_ylabel("items")
    ax.legend(fontsize="x-small")
    return fig


def plot_top_grid(windows: Sequence, scores: np.ndarray, maps: Sequence, *, n: int = 12) -> Figure:
    """The ``n`` highest-scoring items: input (grey) with the map overlaid (hot), titled with
    the score and the true label."""
    top = np.argsort(-scores)[:n]
    cols = min(4, len(top)) or 1
    rows = int(np.ceil(len(top) / cols)) or 1
    fig = new_figure(2.4 * cols, 2.2 * rows)
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for ax in axes:
        ax.axis("off")
    for ax, i in zip(axes, top, strict=False):
        feat, amap = windows[i].features[0], maps[i]
        ax.imshow(feat, cmap="gray", origin="lower" if windows[i].frame_s else "upper")
        lo, hi = np.percentile(amap, [50, 99.5])
        alpha = np.clip((amap - lo) / max(hi - lo, 1e-12), 0, 1) * 0.7
        ax.imshow(amap, cmap="hot", alpha=alpha, origin="lower" if windows[i].frame_s else "upper")
        label = {0: "normal", 1: "anomalous"}.get(windows[i].label, "?")
        ax.set_title(f"{scores[i]:.3g} ({label})", fontsize=7)
    return fig


def save_evaluation_plots(windows: Sequence, result, folder: str | Path) -> list[Path]:
    """Write ``roc.png``, ``score_histogram.png`` (when both labels occur) and
    ``top_items.png`` into ``folder``; returns the paths written."""
    folder = Path(folder)
    labels = np.array([w.label if w.label is not None else -1 for w in windows])
    known = labels >= 0
    written = [
        save_figure(plot_top_grid(windows, result.scores, result.maps), folder / "top_items.png")
    ]
    if known.any() and len(set(labels[known])) == 2:
        y, s = labels[known], result.scores[known]
        threshold = result.threshold if np.ndim(result.threshold) == 0 else None
        written.append(save_figure(plot_roc(y, s, threshold=threshold), folder / "roc.png"))
        written.append(
            save_figure(
                plot_label_histogram(y, s, threshold=threshold),
                folder / "score_histogram.png",
            )
        )
    return written
