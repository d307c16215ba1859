"""Tests of anomaly_diffusion.reports.html (self-contained HTML report)."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from anomaly_diffusion.errors import ConfigError, DataError
from anomaly_diffusion.reports.figures import save_map_overlay
from anomaly_diffusion.reports.html import REQUIRED_COLUMNS, render_report, write_report

THRESHOLD = 0.5
ERROR_TEXT = "decode failed: <script>alert('x')</script> & truncated header"
RUN_LINKS = {"train run": "http://mlflow.local:5000/#/experiments/1/runs/abc123"}
IMG_TAG = '<img src="data:image/png;base64,'
# (path, asset, start_s, end_s, score, peak (t, f) or (x, y), map kind or None, map exists)
ROWS = [
    ("plant/pump_A/a1.wav", "pump_A", 0.0, 2.0, 0.21, None, None, False),
    ("plant/pump_A/a1.wav", "pump_A", 2.0, 4.0, 0.95, (3.1, 2500.0), "spectrogram", True),
    ("plant/pump_A/a2.wav", "pump_A", 0.0, 2.0, 0.30, None, None, False),
    ("plant/pump_A/a2.wav", "pump_A", 2.0, 4.0, 1.40, (2.6, 1250.0), "spectrogram", True),
    ("plant/fan_B/b1.wav", "fan_B", 0.0, 2.0, 0.10, None, None, False),
    ("plant/fan_B/b1.wav", "fan_B", 2.0, 4.0, 0.75, (3.5, 6000.0), "spectrogram", False),
    ("plant/fan_B/b2.wav", "fan_B", np.nan, np.nan, np.nan, None, None, False),
    ("line3/cam_1/frame_001.png", "cam_1", np.nan, np.nan, 0.62, (100, 30), "frame", True),
    ("line3/cam_1/frame_002.png", "cam_1", np.nan, np.nan, 0.20, None, None, False),
]
EXPECTED_TOP = ["plant/pump_A/a2.wav", "plant/pump_A/a1.wav", "plant/fan_B/b1.wav", "line3/cam_1"]


def _map_arrays(kind: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    shape = (32, 64) if kind == "spectrogram" else (48, 64)
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    feature = np.sin(cols / 5.0) + 0.2 * rng.normal(size=shape)
    amap = np.exp(-(((rows - 10) / 3.0) ** 2 + ((cols - 40) / 5.0) ** 2))
    return feature, amap


def _write_maps(folder: Path) -> None:
    """Render the anomaly maps of ``ROWS`` that should exist under ``folder/maps``."""
    for i, (path, _asset, start, end, _score, _peak, kind, exists) in enumerate(ROWS):
        if kind and exists:
            feature, amap = _map_arrays(kind, seed=i)
            extents = {"time_extent_s": (start, end)} if kind == "spectrogram" else {}
            out = folder / _map_rel(i)
            save_map_overlay(feature, amap, out, kind=kind, title=path, **extents)


def _map_rel(i: int) -> str | None:
    return f"maps/{ROWS[i][1]}_{i}.png" if ROWS[i][6] else None


def _scores() -> pd.DataFrame:
    """Score table like `anomaly-diffusion score` writes; map paths relative to its folder."""
    records = []
    for i, (path, asset, start, end, score, peak, _kind, _exists) in enumerate(ROWS):
        signal = not path.endswith(".png")
        failed = np.isnan(score)
        alarm = bool(score > THRESHOLD) if not failed else None
        records.append(
            {
                "path": path,
                "asset": asset,
                "start_s": start,
                "end_s": end,
                "score": score,
                "threshold": THRESHOLD,
                "is_anomaly": alarm,
                "severity": 1 - 0.5 * np.exp(-4 * score / THRESHOLD),
                "peak_time_s": peak[0] if peak and signal else np.nan,
                "peak_freq_hz": peak[1] if peak and signal else np.nan,
                "peak_x": float(peak[0]) if peak and not signal else np.nan,
                "peak_y": float(peak[1]) if peak and not signal else np.nan,
                "map_path": _map_rel(i),
                "error": ERROR_TEXT if failed else None,
                "modality": "signal" if signal else "image",
                "diagnosis": "bearing tone" if alarm else None,
            }
        )
    return pd.DataFrame.from_records(records)


def _absolute_maps(df: pd.DataFrame, folder: Path) -> pd.DataFrame:
    return df.assign(
        map_path=[str(folder / p) if isinstance(p, str) else None for p in df["map_path"]]
    )


def _images(text: str) -> list[bytes]:
    """Decode every embedded PNG, asserting each is a valid, non-flat image."""
    payloads = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert len(payloads) == text.count(IMG_TAG)
    out = []
    for payload in payloads:
        raw = base64.b64decode(payload, validate=True)
        with Image.open(io.BytesIO(raw)) as img:
            assert img.format == "PNG" and img.width > 0 and img.height > 0
            assert img.convert("L").getextrema()[0] < img.convert("L").getextrema()[1]
        out.append(raw)
    return out


def _top_section(text: str) -> str:
    start = text.index('<div id="top">')
    return text[start : text.index("</table>", start)]


@pytest.fixture(scope="module")
def scores_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder holding the map PNGs (rendered once for the module)."""
    folder = tmp_path_factory.mktemp("scores")
    _write_maps(folder)
    return folder


@pytest.fixture(scope="module")
def report(scores_dir: Path) -> str:
    df = _absolute_maps(_scores(), scores_dir)
    return render_report(df, title="Line 3 weekly", run_links=RUN_LINKS, generated_at="2024-05-01")


def test_report_header_assets_and_threshold(report: str) -> None:
    assert report.startswith("<!DOCTYPE html>")
    assert "<title>Line 3 weekly</title>" in report and "2024-05-01" in report
    for asset in ("pump_A", "fan_B", "cam_1"):
        assert asset in report
    assert "<b>9</b>items" in report  # items
    assert "<b>8</b>scored" in report and "<b>4</b>anomalous" in report
    assert "<b>1</b>failed" in report
    assert "Threshold: 0.5<" in report
    top = 1 - 0.5 * np.exp(-4 * 1.40 / 0.5)  # severity of the top item (score 1.40)
    assert f"{top:.3f} (1 in {1 / (1 - top):,.0f} normal)" in report
    assert "t = 2.60 s, f = 1250 Hz" in report and "x = 100, y = 30" in report
    assert "bearing tone" in report and "<script" not in report.lower()


def test_failed_file_error_is_escaped(report: str) -> None:
    assert "<script>" not in report
    escaped = "decode failed: &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; truncated"
    assert escaped in report
    assert "Failed files (1)" in report and "plant/fan_B/b2.wav" in report


def test_embedded_images_are_valid_pngs(report: str) -> None:
    # trend + histogram + the assets' trend and onset + the three top anomalies with a map file
    assert report.count(IMG_TAG) == 6
    assert len(_images(report)) == 6
    assert 'alt="score trend and onset per asset"' in report
    assert "<img" not in report.replace(IMG_TAG, "")  # no other (possibly broken) images
    assert _top_section(report).count("map not available") == 1  # fan_B map file is missing


def test_no_external_urls_other_than_run_links(report: str) -> None:
    urls = set(re.findall(r"https?://[^\"'<>\s]+", report))
    assert urls == set(RUN_LINKS.values())
    assert f'<a href="{RUN_LINKS["train run"]}">train run</a>' in report
    assert "<script" not in report and 'src="http' not in report


def test_top_n_sorted_by_score_descending(scores_dir: Path) -> None:
    df = _absolute_maps(_scores(), scores_dir)
    top = _top_section(render_report(df))
    positions = [top.index(path) for path in EXPECTED_TOP]
    assert positions == sorted(positions)
    assert "plant/pump_A/a1.wav" in top and "0.21" not in top  # normal rows are not listed
    two = render_report(df, top_n=2)
    assert _top_section(two).count("<tr><td") == 2 and "Top 2 anomalies of 4" in two
    assert two.count(IMG_TAG) == 5


def _closest_section(text: str) -> str:
    start = text.index('<div id="closest">')
    return text[start : text.index("</table>", start)]


def test_report_without_anomalies() -> None:
    df = _scores().assign(is_anomaly=False, map_path=None)
    text = render_report(df)
    assert "No item exceeded its threshold" in text
    assert text.count(IMG_TAG) == 3  # trend, histogram, assets' trend: no map
    assert "<b>0</b>anomalous" in text
    # the engineer still sees what came nearest: here the five highest scores
    closest = _closest_section(text)
    assert closest.count("<tr><td") == 5 and closest.count("BELOW THRESHOLD") == 5
    positions = [closest.index(f"<td class=num>{v}</td>") for v in ("1.4", "0.95", "0.75")]
    assert positions == sorted(positions)


def test_closest_calls_are_the_nearest_below_threshold_with_their_maps(scores_dir: Path) -> None:
    df = _scores()
    df.loc[2, "map_path"] = "maps/pump_A_1.png"  # a2.wav 0-2 s (score 0.30) got a map
    text = render_report(_absolute_maps(df, scores_dir), closest_n=3)
    closest = _closest_section(text)
    # the scored rows below 0.5, nearest first: 0.30, 0.21, 0.20 (0.10 is the 4th: left out)
    rows = closest.split("<tr><td")[1:]
    assert [r.split("</td>")[0] for r in rows] == [" class=num>1", " class=num>2", " class=num>3"]
    below_by = [re.findall(r"<td class=num>([0-9.]+)</td>", r)[2] for r in rows]
    assert below_by == ["0.2", "0.29", "0.3"]
    assert "a2.wav" in rows[0] and IMG_TAG in rows[0]  # its map is shown
    assert "map not available" in rows[1] and "frame_002.png" in rows[2]
    assert "b1.wav" not in closest  # its 0.10 is 4th, its 0.75 an alarm
    assert "ALARM" not in closest and closest.count("BELOW THRESHOLD") == 3
    # alarms and failed files are never closest calls; 0 turns the section off
    assert "<td class=num>0.95</td>" not in closest and "b2.wav" not in closest
    assert '<div id="closest">' not in render_report(df, closest_n=0)


def test_title_and_values_are_escaped() -> None:
    df = _scores()
    df.loc[0, "asset"] = "<b>pump</b>"
    text = render_report(df, title="A & B <i>")
    assert "<title>A &amp; B &lt;i&gt;</title>" in text
    assert "&lt;b&gt;pump&lt;/b&gt;" in text and "<b>pump</b>" not in text


def test_write_report_parquet_with_relative_maps(scores_dir: Path, tmp_path, monkeypatch) -> None:
    _scores().to_parquet(scores_dir / "scores.parquet", index=False)
    monkeypatch.chdir(tmp_path)  # relative map paths must resolve against the parquet folder
    out = write_report(scores_dir / "scores.parquet", tmp_path / "out" / "report.html", top_n=10)
    assert out == tmp_path / "out" / "report.html"
    text = out.read_text(encoding="utf-8")
    assert len(_images(text)) == 6
    assert list(out.parent.iterdir()) == [out]  # no temporary file left behind


def test_write_report_from_csv(scores_dir: Path, tmp_path: Path) -> None:
    _scores().to_csv(scores_dir / "scores.csv", index=False)
    text = write_report(str(scores_dir / "scores.csv"), str(tmp_path / "r.html")).read_text()
    assert text.count(IMG_TAG) == 6 and "&lt;script&gt;" in text


def test_write_report_missing_input(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "scores.parquet"
    with pytest.raises(DataError, match="anomaly-diffusion score") as info:
        write_report(missing, tmp_path / "r.html")
    assert str(missing) in str(info.value)
    assert not (tmp_path / "r.html").exists()


def test_write_report_missing_columns(tmp_path: Path) -> None:
    path = tmp_path / "scores.parquet"
    _scores().drop(columns=["severity", "map_path"]).to_parquet(path)
    with pytest.raises(DataError) as info:
        write_report(path, tmp_path / "r.html")
    message = str(info.value)
    assert str(path) in message and "severity" in message and "map_path" in message
    with pytest.raises(DataError, match="peak_x"):
        render_report(pd.DataFrame(columns=[c for c in REQUIRED_COLUMNS if c != "peak_x"]))


def test_write_report_corrupt_or_unsupported_file(tmp_path: Path) -> None:
    corrupt = tmp_path / "scores.parquet"
    corrupt.write_bytes(b"not a parquet file")
    with pytest.raises(DataError, match=r"scores\.parquet"):
        write_report(corrupt, tmp_path / "r.html")
    other = tmp_path / "scores.json"
    other.write_text("{}")
    with pytest.raises(ConfigError, match=r"scores\.json"):
        write_report(other, tmp_path / "r.html")


def test_bad_options_raise_config_error() -> None:
    df = _scores()
    with pytest.raises(ConfigError, match="top_n"):
        render_report(df, top_n=0)
    with pytest.raises(ConfigError, match="closest_n"):
        render_report(df, closest_n=-1)
    with pytest.raises(ConfigError, match="javascript"):
        render_report(df, run_links={"evil": "javascript:alert(1)"})


def test_empty_score_table_renders(tmp_path: Path) -> None:
    text = render_report(pd.DataFrame(columns=list(REQUIRED_COLUMNS)))
    assert "<b>0</b>items" in text and text.count(IMG_TAG) == 2
