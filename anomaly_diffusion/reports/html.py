"""Self-contained HTML anomaly report from a score table: one file, inline CSS, PNGs embedded as
``data:image/png;base64``, no JavaScript, no external URLs except the caller's MLflow run links.
"""

from __future__ import annotations

import base64
import html
import logging
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from anomaly_diffusion.atomic import write_bytes_atomic
from anomaly_diffusion.errors import ConfigError, DataError
from anomaly_diffusion.reports import figures
from anomaly_diffusion.reports.asset_trends import (
    asset_table,
    plot_asset_trends,
    ranked_assets,
)
from anomaly_diffusion.scoring.closest_calls import closest_calls
from anomaly_diffusion.trend.onset import DEFAULT_K, asset_trend, check_k

logger = logging.getLogger(__name__)

# fmt: off
REQUIRED_COLUMNS = (
    "path", "asset", "start_s", "end_s", "score", "threshold", "is_anomaly", "severity",
    "peak_time_s", "peak_freq_hz", "peak_x", "peak_y", "map_path", "error",
)
# fmt: on
EXTRA_COLUMNS = ("modality", "label", "defect")
MAX_MAP_BYTES = 2_000_000
MAX_TABLE_ROWS = 5_000
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_DASH = "\u2014"
_NUMERIC = {"#", "score", "threshold", "severity", "below by"}
_DOCTYPE = (
    '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
)
_CSS = r"""
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;
  background:#f6f8fa;max-width:1280px;margin:0 auto;padding:24px;box-sizing:border-box}
h2{font-size:1.15em;margin:28px 0 8px;padding-bottom:4px;border-bottom:1px solid #d0d7de}
.meta,.muted{color:#57606a}.muted{font-style:italic}
h1{font-size:1.6em;margin:0 0 4px}.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.card{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:8px 16px;min-width:96px}
.card b{display:block;font-size:1.6em}.card.alarm b{color:#c62828}.card.failed b{color:#9a6700}
img{max-width:100%;height:auto;border:1px solid #d0d7de;background:#fff}td img{max-width:440px}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.9em;display:block;
  overflow-x:auto}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef1f4;position:sticky;top:0;white-space:nowrap}
th:not(.sorted)::after{content:" \2195";color:#8c959f}th.sorted::after{content:" \25BC"}
tbody tr:nth-child(even) td{background:#f8f9fb}tbody tr:hover td{background:#fff8e1}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.path{font-family:ui-monospace,Consolas,monospace;word-break:break-all}
.err{font-family:ui-monospace,Consolas,monospace;white-space:pre-wrap;color:#82071e}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:.8em;font-weight:600}
.badge.alarm{background:#c62828;color:#fff}.badge.ok{background:#dafbe1;color:#1a7f37}
.badge.failed{background:#fff1c2;color:#7d4e00}.badge.below{background:#eef1f4;color:#57606a}.figs{display:flex;flex-wrap:wrap;gap:16px}
"""


def render_report(
    scores: pd.DataFrame,
    *,
    title: str = "Anomaly report",
    top_n: int = 20,
    closest_n: int = 5,
    onset_k: int = DEFAULT_K,
    run_links: Mapping[str, str] | None = None,
    generated_at: str | None = None,
) -> str:
    """Return one self-contained HTML page (str) for a score table.

    Args:
        scores: score-output table (``REQUIRED_COLUMNS`` plus optional extras), one row per item.
        title: page title.
        top_n: number of anomalies (highest score first) listed with their maps.
        closest_n: number of "closest calls" listed, alarms or not: the items below their
            threshold nearest to it (:mod:`anomaly_diffusion.scoring.closest_calls`), with
            their maps where the score job wrote them (``closest_calls``); 0: none.
        onset_k: alarming recordings in a row that make an asset's persistent alarm (the
            per-asset trend and onset section; see :mod:`anomaly_diffusion.trend.onset`).
        run_links: MLflow run label -> http(s) URL.
        generated_at: timestamp text shown in the header; None = now (UTC).
    """
    check_columns(scores, "scores DataFrame")
    if isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1:
        raise ConfigError(f"top_n={top_n!r}: pass a positive integer number of anomalies")
    if isinstance(closest_n, bool) or not isinstance(closest_n, int) or closest_n < 0:
        raise ConfigError(f"closest_n={closest_n!r}: pass an integer >= 0 (0: no closest calls)")
    links = _check_links(run_links)
    check_k(onset_k)
    df = scores.reset_index(drop=True)
    failed = np.array([isinstance(v, str) and bool(v.strip()) for v in df["error"]], dtype=bool)
    alarm = figures.as_bool(df["is_anomaly"]) & ~failed
    when = generated_at or datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        f'<h1>{_e(title)}</h1>\n<p class="meta">Generated {_e(when)}</p>',
        _summary(df, failed, alarm),
        _links_section(links),
        _figures_section(df),
        _assets_section(df, onset_k),
        _top_section(df, alarm, top_n),
        _closest_section(df, failed | alarm, closest_n),
        _failed_section(df, failed),
        _all_section(df, failed, alarm),
    ]
    head = f"{_DOCTYPE}<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
    return head + "\n".join(p for p in parts if p) + "\n</body>\n</html>\n"


def write_report(scores_path: str | Path, output: str | Path, **kwargs) -> Path:
    """Read a Parquet/CSV score file, render :func:`render_report`, write ``output`` (HTML).

    Relative ``map_path`` values are resolved against the score file's folder. ``kwargs`` go to
    :func:`render_report`. The HTML is written atomically (tmp file + ``os.replace``).
    """
    src = Path(scores_path)
    df = _read_scores(src)
    text = render_report(df, **kwargs)
    out = write_bytes_atomic(Path(output), text.encode("utf-8"))
    logger.info("wrote report %s (%d items from %s)", out, len(df), src)
    return out


def check_columns(df: pd.DataFrame, source: str) -> None:
    """Raise DataError naming ``source`` if ``df`` lacks any of ``REQUIRED_COLUMNS``."""
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        fix = "use the table written by `anomaly-diffusion score`"
        raise DataError(f"{source}: missing required columns {', '.join(missing)}; {fix}")


def _read_scores(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(f"{path}: score file not found; run `anomaly-diffusion score` first")
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".pq", ".csv"):
        raise ConfigError(f"{path}: unsupported score file type {suffix!r}; use .parquet or .csv")
    try:
        df = pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
    except (OSError, ValueError, TypeError) as exc:
        raise DataError(f"{path}: cannot read score table ({exc}); re-run the scoring") from exc
    check_columns(df, str(path))
    return df.assign(map_path=[_resolve(v, path.parent) for v in df["map_path"]])


def _resolve(value: object, base: Path) -> str | None:
    """``value`` relative to ``base`` (absolute paths stay as they are); None when empty."""
    return str(base / value) if isinstance(value, str) and value.strip() else None


def _check_links(run_links: Mapping[str, str] | None) -> dict[str, str]:
    links = {str(k): str(v) for k, v in (run_links or {}).items()}
    for label, url in links.items():
        if urlsplit(url).scheme not in ("http", "https"):
            raise ConfigError(f"run_links[{label!r}]={url!r}: pass an http(s) MLflow run URL")
    return links


def _e(value: object) -> str:
    """HTML-escaped text; None/NaN become an em dash."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return _DASH
    return html.escape(str(value), quote=True)


def _num(value: object) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _fmt(value: object, spec: str = ".4g", unit: str = "") -> str:
    x = _num(value)
    return f"{x:{spec}}{unit}" if math.isfinite(x) else _DASH


def _img(data: bytes, alt: str) -> str:
    return f'<img src="data:image/png;base64,{base64.b64encode(data).decode()}" alt="{_e(alt)}">'


def _table(frame: pd.DataFrame, head: list[str], *, sorted_col: str = "") -> str:
    ths = "".join(f"<th{' class=sorted' if h == sorted_col else ''}>{_e(h)}</th>" for h in head)
    rows = []
    for _, row in frame.iterrows():
        tds = (f"<td{' class=num' if h in _NUMERIC else ''}>{_cell(h, row)}</td>" for h in head)
        rows.append(f"<tr>{''.join(tds)}</tr>")
    body = "\n".join(rows)
    return f"<table>\n<thead><tr>{ths}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def _summary(df: pd.DataFrame, failed: np.ndarray, alarm: np.ndarray) -> str:
    counts = [(len(df), "items", ""), (int((~failed).sum()), "scored", "")]
    counts += [(int(alarm.sum()), "anomalous", "alarm"), (int(failed.sum()), "failed", "failed")]
    cards = "".join(f'<div class="card {c}"><b>{n}</b>{label}</div>' for n, label, c in counts)
    out = [f'<div class="cards">{cards}</div>', f"<p>Threshold: {_threshold_text(df[~failed])}</p>"]
    if "model_uri" in df.columns:
        uris = sorted({str(u) for u in df["model_uri"].dropna()})
        out.append(f"<p>Model: {', '.join(_e(u) for u in uris) or _DASH}</p>")
    return "\n".join(out)


def _threshold_text(df: pd.DataFrame) -> str:
    thr = pd.to_numeric(df["threshold"], errors="coerce").to_numpy(dtype=float)
    pairs = sorted({(str(a), t) for a, t in zip(df["asset"], thr, strict=True) if math.isfinite(t)})
    if len({t for _, t in pairs}) <= 1:
        return _fmt(pairs[0][1]) if pairs else _DASH
    more = "; \u2026" if len(pairs) > 20 else ""
    return "; ".join(f"{_e(a)}: {_fmt(t)}" for a, t in pairs[:20]) + more


def _links_section(links: dict[str, str]) -> str:
    if not links:
        return ""
    items = "".join(f'<li><a href="{_e(url)}">{_e(label)}</a></li>' for label, url in links.items())
    return f"<h2>MLflow runs</h2>\n<ul>{items}</ul>"


def _figures_section(df: pd.DataFrame) -> str:
    trend = figures.figure_to_png_bytes(figures.plot_score_trend(df))
    hist = figures.figure_to_png_bytes(figures.plot_score_histogram(df))
    trend, hist = _img(trend, "score trend per asset"), _img(hist, "score histogram")
    return f'<h2>Scores</h2>\n<div class="figs">{trend}{hist}</div>'


def _assets_section(df: pd.DataFrame, k: int) -> str:
    """Per asset with several recordings (or windows): status, onset of the persistent alarm,
    trend; a trend chart of the most alarming assets with the threshold and the onset."""
    units, onsets, source = asset_trend(df, k=k)
    onsets = onsets.loc[onsets["n_units"] > 1]
    if onsets.empty:
        return ""
    ranked = ranked_assets(onsets)
    chart = plot_asset_trends(units, list(ranked["asset"]), k=k)
    img = _img(figures.figure_to_png_bytes(chart), "score trend and onset per asset")
    table = asset_table(ranked)
    origin = {
        "recorded_at": "the recorded_at column",
        "time stamps": "the tables' time stamps",
        "file names": "the date-time in the file names",
    }.get(source, "nowhere: no recording time was found, recordings are in file-name order")
    return (
        f"<h2>Assets: since when ({len(onsets)})</h2>\n"
        f'<p class="muted">An asset is in persistent alarm when {k} of its recordings in a '
        f"row alarm (a recording alarms when most of its windows do); its onset is the first "
        f"of them. Times from {_e(origin)}.</p>\n"
        + _table(table, list(table.columns))
        + f'\n<div class="figs">{img}</div>'
    )


def _segment(row: pd.Series) -> str:
    start, end = _num(row["start_s"]), _num(row["end_s"])
    clock = row.get("start_time")
    if isinstance(clock, str) and clock and math.isfinite(start + end):
        return f"{start:.2f}\u2013{end:.2f} s ({html.escape(clock)})"
    return f"{start:.2f}\u2013{end:.2f} s" if math.isfinite(start + end) else _DASH


def _severity(row: pd.Series) -> str:
    """Severity 0-1 with its meaning: how rare such a score is among normal windows."""
    sev = _num(row["severity"])
    if not math.isfinite(sev):
        return _DASH
    if sev >= 1.0:
        return "1.000 (rarer than 1 in 10^15 normal)"
    return f"{sev:.3f} (1 in {1 / (1 - sev):,.0f} normal)"


def _where(row: pd.Series) -> str:
    t, f = _num(row["peak_time_s"]), _num(row["peak_freq_hz"])
    sensor = row.get("peak_sensor")  # tables; score files written before it have none
    if isinstance(sensor, str) and sensor:
        return f"t = {_fmt(t, '.2f', ' s')}, sensor {_e(sensor)}"
    if math.isfinite(t) or math.isfinite(f):
        return f"t = {_fmt(t, '.2f', ' s')}, f = {_fmt(f, '.0f', ' Hz')}"
    x, y = _num(row["peak_x"]), _num(row["peak_y"])
    if math.isfinite(x) or math.isfinite(y):
        return f"x = {_fmt(x, '.0f')}, y = {_fmt(y, '.0f')}"
    return _DASH


def _load_png(map_path: object) -> bytes | None:
    """PNG bytes of ``map_path`` or None when missing, unreadable, too large or not a PNG."""
    if not isinstance(map_path, (str, Path)) or not str(map_path).strip():
        return None
    path = Path(map_path)
    try:
        data = path.read_bytes() if path.stat().st_size <= MAX_MAP_BYTES else b""
    except OSError as exc:
        logger.info("map not available: %s (%s)", path, exc)
        return None
    return data if data.startswith(_PNG_MAGIC) else None


def _map_cell(row: pd.Series) -> str:
    data = _load_png(row["map_path"])
    missing = '<span class="muted">map not available</span>'
    return _img(data, f"anomaly map of {row['path']}") if data else missing


_CELLS = {
    "path": lambda r: f'<span class="path">{_e(r["path"])}</span>',
    "segment": _segment,
    "score": lambda r: _fmt(r["score"]),
    "threshold": lambda r: _fmt(r["threshold"]),
    "severity": _severity,
    "where": _where,
    "map": _map_cell,
    "status": lambda r: f'<span class="badge {r["status"]}">{_STATUS[r["status"]]}</span>',
    "below by": lambda r: _fmt(r["below by"]),
    "error": lambda r: f'<span class="err">{_e(r["error"])}</span>',
}


_STATUS = {"alarm": "ALARM", "ok": "OK", "failed": "FAILED", "below": "BELOW THRESHOLD"}


def _cell(column: str, row: pd.Series) -> str:
    """HTML of one table cell: a formatter from ``_CELLS`` or the escaped value."""
    render = _CELLS.get(column)
    return render(row) if render else _e(row[column])


def _top_section(df: pd.DataFrame, alarm: np.ndarray, top_n: int) -> str:
    ranked = df[alarm].assign(_score=pd.to_numeric(df["score"], errors="coerce")[alarm])
    top = ranked.sort_values("_score", ascending=False, kind="stable").head(top_n)
    top = top.assign(**{"#": range(1, len(top) + 1)})
    heading = f"<h2>Top {len(top)} anomalies of {int(alarm.sum())}, by score</h2>"
    if top.empty:
        return heading + (
            '\n<p class="muted">No item exceeded its threshold (the closest calls are below).</p>'
        )
    head = ["#", "path", "asset", "segment", "score", "threshold", "severity", "where"]
    head += ["diagnosis"] * ("diagnosis" in df.columns) + ["map"]
    return heading + '\n<div id="top">' + _table(top, head, sorted_col="score") + "</div>"


def _closest_section(df: pd.DataFrame, excluded: np.ndarray, n: int) -> str:
    """The ``n`` items below their threshold nearest to it, marked so, with their maps."""
    if n == 0 or excluded.all():
        return ""
    score = pd.to_numeric(df["score"], errors="coerce").to_numpy(dtype=float)
    threshold = pd.to_numeric(df["threshold"], errors="coerce").to_numpy(dtype=float)
    picked = closest_calls(score, threshold, excluded, n)
    if len(picked) == 0:
        return ""
    below = threshold[picked] - score[picked]
    rows = df.iloc[picked].assign(
        **{"#": range(1, len(picked) + 1), "status": "below", "below by": below}
    )
    head = ["#", "path", "asset", "segment", "score", "threshold", "below by", "severity"]
    head += ["status", "where", "map"]
    heading = (
        f"<h2>Closest calls: the {len(picked)} item(s) nearest below their threshold</h2>\n"
        '<p class="muted">Not alarms: the items that came nearest to raising one, and by how '
        "much they stayed below the threshold.</p>"
    )
    return heading + '\n<div id="closest">' + _table(rows, head) + "</div>"


def _failed_section(df: pd.DataFrame, failed: np.ndarray) -> str:
    table = _table(df[failed], ["path", "asset", "error"])
    return f"<h2>Failed files ({int(failed.sum())})</h2>\n{table}" if failed.any() else ""


def _all_section(df: pd.DataFrame, failed: np.ndarray, alarm: np.ndarray) -> str:
    status = np.where(failed, "failed", np.where(alarm, "alarm", "ok"))
    shown = df.assign(status=status).head(MAX_TABLE_ROWS)
    extras = [c for c in EXTRA_COLUMNS if c in df.columns]
    head = ["path", "asset", "segment", "score", "threshold", "severity", "status", *extras]
    note = f" (first {len(shown)} shown)" if len(shown) < len(df) else ""
    return f"<h2>All items ({len(df)}){note}</h2>\n" + _table(shown, head)
