"""Report figures (map overlays, score trends, histograms) as small PNGs.

Each call draws on its own Agg-backed :class:`~matplotlib.figure.Figure` (no pyplot): thread-safe.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from anomaly_diffusion.atomic import write_bytes_atomic
from anomaly_diffusion.errors import ConfigError, DataError

logger = logging.getLogger(__name__)

DPI = 100
_PEAK_STYLE = {"marker": "x", "color": "cyan", "markersize": 10, "markeredgewidth": 2}
_THR_STYLE = {"color": "black", "linestyle": "--", "linewidth": 1}


def new_figure(width_in: float, height_in: float) -> Figure:
    """Return a fresh Agg-backed figure of ``width_in`` x ``height_in`` inches (no pyplot)."""
    fig = Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def figure_to_png_bytes(fig: Figure, *, dpi: int = DPI) -> bytes:
    """Render ``fig`` to PNG bytes, quantized to a 256-colour palette (~3x smaller)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    rgb = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    quantized = rgb.quantize(256, method=Image.Quantize.FASTOCTREE)
    out = io.BytesIO()
    quantized.save(out, format="PNG", optimize=True)
    return out.getvalue()


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Save ``fig`` atomically as a PNG at ``path`` (must end in ``.png``); return the path."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ConfigError(f"{path}: figures are written as PNG; use a path ending in '.png'")
    write_bytes_atomic(path, figure_to_png_bytes(fig))
    logger.debug("wrote figure %s", path)
    return path


def save_map_overlay(
    feature: np.ndarray,
    amap: np.ndarray,
    path: str | Path,
    *,
    kind: str,
    title: str = "",
    time_extent_s: Sequence[float] | None = None,
    freq_extent_hz: Sequence[float] | None = None,
    threshold_level: float | None = None,
) -> Path:
    """Save a PNG of an anomaly map over its feature, peak marked with x; return ``path``.

    Args:
        feature: (F, T) spectrogram, row 0 = lowest frequency, or (H, W) gray frame.
        amap: anomaly map with the same shape as ``feature`` (score units).
        path: output ``.png`` path, written atomically.
        kind: ``"spectrogram"`` (two stacked panels) or ``"frame"`` (side by side).
        title: figure title.
        time_extent_s: (start, end) in seconds of the T axis; None = frame indices.
        freq_extent_hz: (low, high) in Hz of the F axis; None = bin indices.
        threshold_level: map value outlined with a contour, in map units.
    """
    if kind not in ("spectrogram", "frame"):
        raise ConfigError(f"kind={kind!r} is not supported; use 'spectrogram' or 'frame'")
    feat, mp = _check_arrays(feature, amap, path)
    if kind == "spectrogram":
        x_lim = _extent(time_extent_s, mp.shape[1], "time_extent_s")
        y_lim = _extent(freq_extent_hz, mp.shape[0], "freq_extent_hz")
        x_name = "time (s)" if time_extent_s is not None else "time (frames)"
        y_name = "frequency (Hz)" if freq_extent_hz is not None else "frequency (bins)"
        fig = new_figure(6.4, 5.6)
        _draw_spectrogram(fig, feat, mp, (*x_lim, *y_lim), (x_name, y_name), threshold_level)
    else:
        fig = new_figure(8.0, 3.6)
        _draw_frame(fig, feat, mp, threshold_level)
    if title:
        fig.suptitle(title, fontsize="medium")
    return save_figure(fig, path)


def _check_arrays(feature: np.ndarray, amap: np.ndarray, path: str | Path) -> tuple:
    feat = np.asarray(feature, dtype=float)
    mp = np.asarray(amap, dtype=float)
    if feat.ndim != 2 or mp.ndim != 2 or feat.shape != mp.shape or feat.size == 0:
        raise DataError(
            f"{path}: feature {feat.shape} and anomaly map {mp.shape} must be non-empty 2-D "
            "arrays of the same shape; resize the map to the feature grid before plotting"
        )
    if not np.isfinite(mp).any():
        raise DataError(f"{path}: anomaly map has no finite values; check the scorer output")
    return feat, mp


def _extent(value: Sequence[float] | None, n: int, name: str) -> tuple[float, float]:
    if value is None:
        return -0.5, n - 0.5
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        lo = hi = float("nan")
    if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        raise ConfigError(f"{name}={value!r}: pass finite (start, end) numbers with end > start")
    return lo, hi


def _peak_xy(mp: np.ndarray, extent: tuple[float, float, float, float]) -> tuple[float, float]:
    """Centre of the map's maximum cell in data coordinates (x = column, y = row axis)."""
    row, col = np.unravel_index(int(np.nanargmax(mp)), mp.shape)
    x0, x1, y0, y1 = extent
    return x0 + (col + 0.5) * (x1 - x0) / mp.shape[1], y0 + (row + 0.5) * (y1 - y0) / mp.shape[0]


def _robust_limits(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    lo, hi = np.percentile(finite, [1.0, 99.0]) if finite.size else (0.0, 1.0)
    return float(lo), float(max(hi, lo + 1e-12))


def _overlay_alpha(mp: np.ndarray) -> np.ndarray:
    """Per-pixel opacity in [0.1, 0.8] rising with the map value, so low scores stay see-through."""
    lo, hi = np.nanmin(mp), np.nanmax(mp)
    norm = np.nan_to_num((mp - lo) / (hi - lo)) if hi > lo else np.zeros_like(mp)
    return 0.1 + 0.7 * norm


def _contour(ax, mp: np.ndarray, level: float | None, **kwargs) -> None:
    if level is not None and min(mp.shape) > 1 and np.nanmin(mp) < level < np.nanmax(mp):
        ax.contour(np.ma.masked_invalid(mp), levels=[level], colors="cyan", linewidths=1, **kwargs)


def _draw_spectrogram(fig: Figure, feat, mp, extent, labels, level) -> None:
    ax_feat, ax_map = fig.subplots(2, 1, sharex=True)
    common = {"origin": "lower", "aspect": "auto", "extent": extent, "interpolation": "nearest"}
    lo, hi = _robust_limits(feat)
    im_feat = ax_feat.imshow(feat, cmap="magma", vmin=lo, vmax=hi, **common)
    fig.colorbar(im_feat, ax=ax_feat, label="feature")
    ax_map.imshow(feat, cmap="gray", vmin=lo, vmax=hi, alpha=0.4, **common)
    ax_map.imshow(mp, cmap="inferno", alpha=_overlay_alpha(mp), **common)
    im_map = ax_map.imshow(mp, cmap="inferno", visible=False, **common)
    fig.colorbar(im_map, ax=ax_map, label="anomaly score")
    peak = _peak_xy(mp, extent)
    for ax, name in ((ax_feat, "spectrogram"), (ax_map, "anomaly map (x = peak)")):
        _contour(ax, mp, level, origin="lower", extent=extent)
        ax.plot(*peak, linestyle="none", **_PEAK_STYLE)
        ax.set_ylabel(labels[1])
        ax.set_title(name, fontsize="small")
    ax_map.set_xlabel(labels[0])


def _draw_frame(fig: Figure, feat, mp, level) -> None:
    ax_img, ax_map = fig.subplots(1, 2)
    lo, hi = _robust_limits(feat)
    ax_img.imshow(feat, cmap="gray", vmin=lo, vmax=hi, interpolation="nearest")
    ax_img.imshow(mp, cmap="inferno", alpha=_overlay_alpha(mp), interpolation="nearest")
    im_map = ax_map.imshow(mp, cmap="inferno", interpolation="nearest")
    fig.colorbar(im_map, ax=ax_map, label="anomaly score")
    peak = _peak_xy(mp, (-0.5, mp.shape[1] - 0.5, -0.5, mp.shape[0] - 0.5))
    for ax, name in ((ax_img, "frame + map"), (ax_map, "anomaly map (x = peak)")):
        _contour(ax, mp, level)
        ax.plot(*peak, linestyle="none", **_PEAK_STYLE)
        ax.set_title(name, fontsize="small")
        ax.set_xlabel("x (px)")
    ax_img.set_ylabel("y (px)")


def _scored_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Rows with a finite score; ``asset`` filled with ``"(unknown)"`` when missing."""
    missing = [c for c in ("asset", "score") if c not in df.columns]
    if missing:
        raise DataError(f"score table lacks columns {missing}; pass the `score` command output")
    score = pd.to_numeric(df["score"], errors="coerce").astype(float)
    asset = df["asset"].astype(object).where(df["asset"].notna(), "(unknown)").astype(str)
    return df.assign(score=score, asset=asset).loc[np.isfinite(score.to_numpy())]


def as_bool(values) -> np.ndarray:
    """Coerce bools / 0-1 / ``"true"`` strings / None / NaN to a bool array (missing = False)."""
    text = pd.Series(list(values), dtype=object).astype(str).str.strip().str.lower()
    return text.isin(["true", "1", "1.0", "yes"]).to_numpy(dtype=bool)


def _thresholds(scored: pd.DataFrame, threshold: float | None) -> list[float]:
    if threshold is not None or "threshold" not in scored.columns:
        return [] if threshold is None else [float(threshold)]
    values = pd.to_numeric(scored["threshold"], errors="coerce").dropna()
    return sorted({float(v) for v in values})


def _wall_clock(scored: pd.DataFrame) -> pd.Series | None:
    """Each row's wall-clock start (naive, UTC when the stamps carry an offset) when every
    scored row has one (``start_time``: tables with date-time stamps), else ``None``."""
    if "start_time" not in scored.columns or scored["start_time"].isna().any():
        return None
    text = scored["start_time"].astype(str)
    aware = text.str.contains(r"(?:[+-]\d\d:\d\d|Z)$", regex=True)
    clock = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
    if clock.isna().any():
        return None
    clock = clock.dt.tz_localize(None)
    return clock.rename("_clock_utc" if aware.any() else "_clock")


def _trend_xy(group: pd.DataFrame, use_time: bool) -> tuple[pd.DataFrame, np.ndarray]:
    """Sort one asset's rows by (file order, start_s); x in concatenated seconds or item #,
    or wall-clock time when the rows carry it (a ``_clock`` column)."""
    clock = next((c for c in ("_clock", "_clock_utc") if c in group.columns), None)
    if clock is not None:
        ordered = group.sort_values(clock, kind="stable")
        return ordered, ordered[clock].to_numpy()
    codes, _ = pd.factorize(group["path"].astype(str) if "path" in group else group.index)
    keys = ["_file", "start_s"] if "start_s" in group.columns else ["_file"]
    ordered = group.assign(_file=codes).sort_values(keys, kind="stable")
    if not use_time:
        return ordered, np.arange(len(ordered), dtype=float)
    offsets = ordered.groupby("_file")["end_s"].max().cumsum().shift(1, fill_value=0.0)
    x = offsets.loc[ordered["_file"]].to_numpy(dtype=float) + ordered["start_s"].to_numpy(float)
    return ordered, x


def _no_data(fig: Figure) -> Figure:
    fig.text(0.5, 0.5, "no scored items", ha="center", va="center")
    return fig


def plot_score_trend(df: pd.DataFrame, *, threshold: float | None = None) -> Figure:
    """One score line per asset, dashed thresholds, red alarms; x = wall-clock time when every
    row has one, else s (files joined) or item #."""
    scored = _scored_rows(df)
    fig = new_figure(8.0, 3.6)
    if scored.empty:
        return _no_data(fig)
    ax = fig.subplots()
    use_time = bool(np.isfinite(scored.reindex(columns=["start_s", "end_s"]).to_numpy(float)).all())
    clock = _wall_clock(scored)
    if clock is not None:
        scored = scored.assign(**{clock.name: clock})
    thresholds = _thresholds(scored, threshold)
    alarms_x, alarms_y = [], []
    for asset, group in scored.groupby("asset", sort=True):
        ordered, x = _trend_xy(group, use_time)
        y = ordered["score"].to_numpy(dtype=float)
        (line,) = ax.plot(x, y, marker=".", markersize=3, linewidth=1, label=asset)
        if len(thresholds) > 1:
            thr = pd.to_numeric(ordered["threshold"], errors="coerce").to_numpy(dtype=float)
            ax.step(x, thr, where="post", **{**_THR_STYLE, "color": line.get_color()})
        hit = as_bool(ordered.get("is_anomaly", pd.Series(False, index=ordered.index)))
        alarms_x.extend(x[hit])
        alarms_y.extend(y[hit])
    if alarms_x:
        ax.scatter(alarms_x, alarms_y, color="red", s=28, zorder=3, label="alarm")
    if len(thresholds) == 1:
        ax.axhline(thresholds[0], label=f"threshold {thresholds[0]:.4g}", **_THR_STYLE)
    if clock is not None:
        ax.set_xlabel("time (UTC)" if clock.name == "_clock_utc" else "time")
        fig.autofmt_xdate()
    else:
        ax.set_xlabel("time (s, files concatenated)" if use_time else "item #")
    ax.set_ylabel("anomaly score")
    ax.legend(fontsize="x-small", ncols=min(4, scored["asset"].nunique() + 2), loc="upper left")
    ax.grid(alpha=0.3)
    return fig


def plot_score_histogram(
    df: pd.DataFrame, *, threshold: float | None = None, bins: int = 30
) -> Figure:
    """Histogram of scores split into normal (blue) and alarm (red) with threshold lines."""
    scored = _scored_rows(df)
    fig = new_figure(6.0, 3.2)
    if scored.empty:
        return _no_data(fig)
    ax = fig.subplots()
    scores = scored["score"].to_numpy(dtype=float)
    hit = as_bool(scored.get("is_anomaly", pd.Series(False, index=scored.index)))
    edges = np.histogram_bin_edges(scores, bins=bins)
    for mask, color, name in ((~hit, "tab:blue", "normal"), (hit, "tab:red", "alarm")):
        ax.hist(scores[mask], bins=edges, color=color, alpha=0.75, label=f"{name} ({mask.sum()})")
    for i, thr in enumerate(_thresholds(scored, threshold)[:8]):
        ax.axvline(thr, label="threshold" if i == 0 else "_nolegend_", **_THR_STYLE)
    ax.set_xlabel("anomaly score")
    ax.set_ylabel("items")
    ax.legend(fontsize="x-small")
    return fig


def save_score_trend(df: pd.DataFrame, path: str | Path, *, threshold: float | None = None) -> Path:
    """Save :func:`plot_score_trend` of ``df`` as a PNG at ``path``; return the path."""
    return save_figure(plot_score_trend(df, threshold=threshold), path)


def save_score_histogram(
    df: pd.DataFrame, path: str | Path, *, threshold: float | None = None, bins: int = 30
) -> Path:
    """Save :func:`plot_score_histogram` of ``df`` as a PNG at ``path``; return the path."""
    return save_figure(plot_score_histogram(df, threshold=threshold, bins=bins), path)
