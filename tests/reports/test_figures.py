"""Tests of anomaly_diffusion.reports.figures (PNG overlays, trends, histograms)."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from anomaly_diffusion.errors import ConfigError, DataError
from anomaly_diffusion.reports.figures import (
    as_bool,
    figure_to_png_bytes,
    plot_score_histogram,
    plot_score_trend,
    save_map_overlay,
    save_score_histogram,
    save_score_trend,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _spectrogram_and_map(f: int = 64, t: int = 128, seed: int = 0) -> tuple:
    """Log-power-like (F, T) spectrogram with a harmonic line and a Gaussian anomaly map."""
    rng = np.random.default_rng(seed)
    freq = np.linspace(0.0, 1.0, f)[:, None]
    spec = -3.0 * freq + 0.3 * rng.normal(size=(f, t))
    spec[f // 4, :] += 2.0
    rows, cols = np.mgrid[0:f, 0:t]
    amap = np.exp(-(((rows - 20) / 4.0) ** 2 + ((cols - 90) / 8.0) ** 2))
    return spec, amap + 0.02 * rng.random((f, t))


def _frame_and_map(h: int = 96, w: int = 128) -> tuple:
    rows, cols = np.mgrid[0:h, 0:w]
    frame = 0.5 + 0.3 * np.sin(cols / 9.0) * np.cos(rows / 7.0)
    amap = np.exp(-(((rows - 30) / 6.0) ** 2 + ((cols - 100) / 6.0) ** 2))
    return frame, amap


def _rgb(path_or_bytes: Path | bytes) -> np.ndarray:
    """Decode a PNG (file or bytes), asserting it is a real, non-flat image; return (H, W, 3)."""
    raw = path_or_bytes if isinstance(path_or_bytes, bytes) else Path(path_or_bytes).read_bytes()
    assert raw.startswith(PNG_MAGIC)
    with Image.open(io.BytesIO(raw)) as img:
        assert img.format == "PNG"
        assert img.width > 0 and img.height > 0
        arr = np.asarray(img.convert("RGB"))
    assert len(np.unique(arr.reshape(-1, 3), axis=0)) > 10, "image is (nearly) one flat colour"
    return arr


def _cyan_pixels(arr: np.ndarray) -> int:
    r, g, b = (arr[..., i].astype(int) for i in range(3))
    return int(((r < 60) & (g > 200) & (b > 200)).sum())


def _scores_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "path": ["a1.wav", "a1.wav", "a2.wav", "b1.wav", "b1.wav", "b2.wav"],
            "asset": ["pump_A", "pump_A", "pump_A", "fan_B", "fan_B", "fan_B"],
            "start_s": [0.0, 2.0, 0.0, 0.0, 2.0, np.nan],
            "end_s": [2.0, 4.0, 2.0, 2.0, 4.0, np.nan],
            "score": [0.2, 0.9, 0.3, 0.1, 0.7, np.nan],
            "threshold": [0.5, 0.5, 0.5, 0.5, 0.5, 0.5],
            "is_anomaly": [False, True, False, False, True, None],
            "error": [None, None, None, None, None, "decode failed"],
        }
    )


def test_spectrogram_overlay_with_extents_is_small_valid_png(tmp_path: Path) -> None:
    spec, amap = _spectrogram_and_map()
    out = save_map_overlay(
        spec,
        amap,
        tmp_path / "maps" / "pump_A_seg1.png",
        kind="spectrogram",
        title="pump_A a1.wav 2-4 s",
        time_extent_s=(2.0, 4.0),
        freq_extent_hz=(0.0, 8000.0),
        threshold_level=0.5,
    )
    assert out == tmp_path / "maps" / "pump_A_seg1.png"
    assert out.is_file() and 0 < out.stat().st_size <= 80_000
    _rgb(out)
    assert list(out.parent.glob("*.tmp*")) == []


def test_overlays_mark_the_peak(tmp_path: Path) -> None:
    spec, amap = _spectrogram_and_map()
    frame, fmap = _frame_and_map()
    spec_png = save_map_overlay(spec, amap, tmp_path / "s.png", kind="spectrogram")
    frame_png = save_map_overlay(frame, fmap, tmp_path / "f.png", kind="frame", title="cam_1")
    # no threshold contour was asked for: the only cyan drawn is the peak marker
    assert _cyan_pixels(_rgb(spec_png)) > 10
    assert _cyan_pixels(_rgb(frame_png)) > 10


def test_frame_overlay_tolerates_nan_and_is_small(tmp_path: Path) -> None:
    frame, fmap = _frame_and_map()
    fmap[:5, :5] = np.nan
    out = save_map_overlay(frame, fmap, tmp_path / "f.png", kind="frame", threshold_level=0.4)
    assert out.stat().st_size <= 80_000
    arr = _rgb(out)
    assert arr.shape[1] > arr.shape[0]  # side by side panels


@pytest.mark.parametrize(
    ("feature", "amap", "message"),
    [
        (np.zeros((8, 8)), np.zeros((8, 9)), "same shape"),
        (np.zeros(8), np.zeros(8), "2-D"),
        (np.zeros((8, 8)), np.full((8, 8), np.nan), "no finite values"),
    ],
)
def test_overlay_bad_arrays_raise_data_error(tmp_path, feature, amap, message) -> None:
    with pytest.raises(DataError, match=message) as info:
        save_map_overlay(feature, amap, tmp_path / "bad.png", kind="frame")
    assert "bad.png" in str(info.value)
    assert not (tmp_path / "bad.png").exists()


def test_overlay_bad_options_raise_config_error(tmp_path: Path) -> None:
    spec, amap = _spectrogram_and_map()
    with pytest.raises(ConfigError, match="kind='waveform'"):
        save_map_overlay(spec, amap, tmp_path / "x.png", kind="waveform")
    with pytest.raises(ConfigError, match="time_extent_s"):
        save_map_overlay(spec, amap, tmp_path / "x.png", kind="spectrogram", time_extent_s=(4, 2))
    with pytest.raises(ConfigError, match="freq_extent_hz"):
        save_map_overlay(spec, amap, tmp_path / "x.png", kind="spectrogram", freq_extent_hz=(1,))
    with pytest.raises(ConfigError, match=r"x\.jpg"):
        save_map_overlay(spec, amap, tmp_path / "x.jpg", kind="spectrogram")


def test_overlays_are_thread_safe(tmp_path: Path) -> None:
    def work(i: int) -> Path:
        spec, amap = _spectrogram_and_map(seed=i)
        kind = "spectrogram" if i % 2 else "frame"
        return save_map_overlay(spec, amap, tmp_path / f"m{i}.png", kind=kind, title=f"item {i}")

    with ThreadPoolExecutor(max_workers=4) as pool:
        paths = list(pool.map(work, range(4)))
    for path in paths:
        _rgb(path)


def test_score_trend_and_histogram_pngs(tmp_path: Path) -> None:
    df = _scores_frame()
    trend = save_score_trend(df, tmp_path / "trend.png")
    hist = save_score_histogram(df, tmp_path / "hist.png", threshold=0.5)
    for path in (trend, hist):
        arr = _rgb(path)
        r, g, b = (arr[..., i].astype(int) for i in range(3))
        assert ((r > 200) & (r - g > 100) & (r - b > 100)).sum() > 0  # alarms drawn in red


def test_score_trend_handles_per_asset_thresholds_and_images(tmp_path: Path) -> None:
    df = _scores_frame().assign(threshold=[0.5, 0.5, 0.5, 0.6, 0.6, 0.6])
    df.loc[df["asset"] == "fan_B", ["start_s", "end_s"]] = np.nan  # image-like rows: item order
    _rgb(save_score_trend(df, tmp_path / "trend.png"))


def test_score_figures_without_scored_rows(tmp_path: Path) -> None:
    df = _scores_frame().assign(score=np.nan)
    for path in (
        save_score_trend(df, tmp_path / "t.png"),
        save_score_histogram(df, tmp_path / "h.png"),
    ):
        with Image.open(path) as img:
            assert img.format == "PNG"


def test_figure_to_png_bytes_and_missing_columns() -> None:
    _rgb(figure_to_png_bytes(plot_score_trend(_scores_frame())))
    with pytest.raises(DataError, match="score"):
        plot_score_trend(pd.DataFrame({"asset": ["a"]}))


def test_as_bool_coerces_mixed_values() -> None:
    values = [True, False, None, np.nan, 1, 0, "true", "False", np.bool_(True), 1.0]
    assert as_bool(values).tolist() == [
        True,
        False,
        False,
        False,
        True,
        False,
        True,
        False,
        True,
        True,
    ]


def test_trend_uses_the_wall_clock_when_every_row_has_one() -> None:
    df = _scores_frame().iloc[:5]
    stamps = ["2026-11-24T06:00:00+01:00", "2026-11-24T06:00:02+01:00", "2026-11-24T09:00:00+01:00"]
    stamps += ["2026-11-24T05:00:00+00:00", "2026-11-24T05:00:02+00:00"]
    fig = plot_score_trend(df.assign(start_time=stamps))
    ax = fig.axes[0]
    assert ax.get_xlabel() == "time (UTC)"
    x = [mdates.num2date(v).replace(tzinfo=None) for v in ax.lines[0].get_xdata(orig=False)]
    assert x[0] == pd.Timestamp("2026-11-24 05:00:00")  # 06:00+01:00 and 05:00+00:00 alike
    naive = plot_score_trend(df.assign(start_time=[s[:19] for s in stamps]))
    assert naive.axes[0].get_xlabel() == "time"
    partial = plot_score_trend(df.assign(start_time=[stamps[0], None, None, None, None]))
    assert partial.axes[0].get_xlabel() == "time (s, files concatenated)"


def _bar_total(ax, color: str) -> float:
    from matplotlib.colors import to_rgba

    want = to_rgba(color)[:3]
    return sum(
        p.get_height()
        for p in ax.patches
        if tuple(np.round(p.get_facecolor()[:3], 3)) == tuple(np.round(want, 3))
    )


def test_score_histogram_counts_each_row_once_on_its_side_of_the_threshold() -> None:
    df = _scores_frame()  # 5 scored rows: 3 normal (0.1, 0.2, 0.3), 2 alarms (0.7, 0.9)
    ax = plot_score_histogram(df, threshold=0.5).axes[0]
    assert _bar_total(ax, "tab:blue") == 3 and _bar_total(ax, "tab:red") == 2
    (line,) = [ln for ln in ax.get_lines() if ln.get_label() == "threshold"]
    assert np.allclose(line.get_xdata(), 0.5)  # the vertical threshold line sits at 0.5
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert sorted(labels) == ["alarm (2)", "normal (3)", "threshold"]


def test_score_trend_draws_each_asset_in_time_order_and_marks_the_alarms() -> None:
    ax = plot_score_trend(_scores_frame().iloc[:5]).axes[0]  # every row has a time
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    # pump_A: a1 [0, 2) 0.2, a1 [2, 4) 0.9, then a2 joined after a1's end: 0.3
    assert np.allclose(lines["pump_A"].get_ydata(), [0.2, 0.9, 0.3])
    assert np.all(np.diff(lines["pump_A"].get_xdata()) > 0)
    assert np.allclose(lines["fan_B"].get_ydata(), [0.1, 0.7])
    assert np.allclose(lines["threshold 0.5"].get_ydata(), 0.5)
    (alarms,) = ax.collections
    assert sorted(alarms.get_offsets()[:, 1].tolist()) == [0.7, 0.9]  # exactly the alarms


def test_roc_figure_is_sklearns_curve_with_the_operating_point() -> None:
    from sklearn.metrics import roc_curve

    from anomaly_diffusion.reports.evaluation_plots import plot_roc

    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    scores = np.array([0.1, 0.4, 0.35, 0.8, 0.7, 0.9, 0.3, 0.95])
    ax = plot_roc(labels, scores, threshold=0.5).axes[0]
    curve, _, point = ax.get_lines()
    fpr, tpr, _ = roc_curve(labels, scores)
    assert np.allclose(curve.get_xdata(), fpr) and np.allclose(curve.get_ydata(), tpr)
    # above 0.5: normals 0.8 (1 of 4), anomalies 0.7, 0.9, 0.95 (3 of 4)
    assert np.allclose(point.get_xdata(), [0.25]) and np.allclose(point.get_ydata(), [0.75])
    assert curve.get_label() == "diffusion (AUROC 0.750)"  # 12 of 16 pairs ranked right


def test_top_grid_shows_the_highest_scores_first_with_their_labels() -> None:
    from anomaly_diffusion.data.dataset import Item
    from anomaly_diffusion.data.windows import Window
    from anomaly_diffusion.reports.evaluation_plots import plot_top_grid

    rng = np.random.default_rng(0)
    windows = [
        Window(rng.random((1, 8, 8)).astype(np.float32), Item(f"{i}.png"), label=i % 2)
        for i in range(6)
    ]
    scores = np.array([0.3, 2.0, 0.1, 1.5, 0.2, 0.9])
    fig = plot_top_grid(windows, scores, [rng.random((8, 8)) for _ in windows], n=4)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["2 (anomalous)", "1.5 (anomalous)", "0.9 (anomalous)", "0.3 (normal)"]
