"""Process-sensor tables through the real CLI: train on date-stamped CSV exports, score them
(each window gets its wall-clock start), and report with a wall-clock trend."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.slow
CLI = str(Path(sys.executable).parent / "anomaly-diffusion")
ROWS = 400  # 4 Hz rows: 100 s per file


def _export(path: Path, start: str, seed: int, *, spike_row: int | None = None) -> Path:
    """A historian export: ISO time stamps with a UTC offset, three sensors, ';' and ',' decimal."""
    rng = np.random.default_rng(seed)
    stamps = pd.date_range(start, periods=ROWS, freq="250ms", tz="Europe/Berlin")
    t = np.arange(ROWS) / 4.0
    frame = pd.DataFrame(
        {
            "Zeitstempel": stamps.strftime("%Y-%m-%dT%H:%M:%S.%f%z"),
            "temp": 60 + np.sin(2 * np.pi * t / 20) + 0.05 * rng.normal(size=ROWS),
            "pressure": 3 + 0.1 * np.cos(2 * np.pi * t / 20) + 0.01 * rng.normal(size=ROWS),
            "flow": 12 + 0.02 * rng.normal(size=ROWS),
        }
    )
    if spike_row is not None:
        frame.loc[spike_row : spike_row + 8, "pressure"] += 2.0
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, sep=";", decimal=",")
    return path


@pytest.fixture(scope="module")
def line(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("line")
    for i in range(6):
        _export(root / f"train/good/day_{i}.csv", f"2026-11-{10 + i} 06:00", seed=i)
    _export(root / "test/good/day_20.csv", "2026-11-20 06:00", seed=20)
    _export(root / "test/leak/day_21.csv", "2026-11-21 06:00", seed=21, spike_row=200)
    return root


def test_tables_train_score_and_report_on_the_wall_clock(line, tmp_path):
    run_cli(
        "train",
        "preset=process",
        f"data.root={line}",
        "run_dir=run",
        "features.window_seconds=8",
        "features.hop_seconds=4",
        "training=quick",
        "training.max_steps=60",
        "training.crop=[3,16]",
        "network=tiny",
        "tracking=none",
        "source.timestamp_column=Zeitstempel",
        cwd=tmp_path,
    )
    run_cli(
        "score",
        "model=run/model",
        f"input={line / 'test'}",
        "output=scores.parquet",
        "tracking=none",
        cwd=tmp_path,
    )  # fmt: skip (the model keeps its source settings: timestamp column, separators)
    scores = pd.read_parquet(tmp_path / "scores.parquet")
    assert scores["error"].isna().all(), scores["error"].dropna().tolist()
    day = scores[scores["path"].str.endswith("day_21.csv")].sort_values("start_s")
    assert len(day) == (100 - 8) // 4 + 1
    clock = pd.to_datetime(day["start_time"], format="ISO8601")
    origin = pd.Timestamp("2026-11-21 06:00", tz="Europe/Berlin")
    expected = origin + pd.to_timedelta(day["start_s"], unit="s")
    assert (clock.to_numpy() == expected.to_numpy()).all()
    assert day["start_time"].iloc[1] == "2026-11-21T06:00:04+01:00"
    run_cli("report", "input=scores.parquet", "output=report.html", "tracking=none", cwd=tmp_path)
    html = (tmp_path / "report.html").read_text()
    assert "score trend per asset" in html
    top = scores.sort_values("score").iloc[-1]
    assert top["path"].endswith("day_21.csv") and top["is_anomaly"]  # the pressure spike
    assert top["start_time"] in html  # the top table gives the alarm's wall-clock time
