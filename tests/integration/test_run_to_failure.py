"""Known answer for the onset (issue #16): the synthetic run-to-failure, trained and scored
through the CLI. The drift alone never makes a persistent alarm; the onset lands after the
defect's start, within a day of it, and before the RMS and kurtosis thresholds (mean + 3 sd of
the training snapshots) under the same rule; the score rows, the assets table, the pyfunc and the
report all carry it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from anomaly_diffusion.data.run_to_failure import (
    RunToFailure,
    operating_point,
    snapshot_days,
    write_run_to_failure,
)
from anomaly_diffusion.trend.indicators import INDICATORS, indicator, three_sigma_threshold
from anomaly_diffusion.trend.onset import first_persistent

CLI = str(Path(sys.executable).parent / "anomaly-diffusion")
# hourly snapshots (the bench: every 10 min): 36 to train on, 24 of drift only, 36 with the defect
SCENARIO = RunToFailure(every_minutes=60.0)
START = pd.Timestamp("2026-11-01")


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    out = subprocess.run([CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def _peer_onsets(folder: Path) -> dict[str, pd.Timestamp | None]:
    days = snapshot_days(SCENARIO)
    train = days < SCENARIO.train_days
    files = sorted((folder / "train" / "good").glob("*.npz"))
    files += sorted((folder / "monitor" / SCENARIO.asset).glob("*.npz"))
    assert len(files) == len(days)
    values = {
        name: np.array([indicator(np.load(f)["accel"], name) for f in files]) for name in INDICATORS
    }
    out = {}
    for name, v in values.items():
        first = first_persistent(v[~train] > three_sigma_threshold(v[train]), k=3)
        out[name] = None if first is None else START + pd.Timedelta(days=days[~train][first])
    return out


@pytest.mark.slow
def test_onset_after_the_defect_starts_and_before_rms_and_kurtosis(tmp_path):
    import mlflow.pyfunc

    folder = write_run_to_failure(tmp_path / "bearing", SCENARIO)
    _cli(
        tmp_path,
        "train",
        f"data.root={folder}",
        "run_dir=run",
        "tracking.enabled=false",
        "training.max_steps=400",
    )
    out = _cli(
        tmp_path,
        "score",
        "model=run/model",
        f"input={folder / 'monitor'}",
        "output=scores.parquet",
        "maps=none",
        "tracking.enabled=false",
    )
    assert "1 asset(s) in persistent alarm" in out.stdout + out.stderr
    assert f"asset {SCENARIO.asset}: persistent alarm" in out.stderr

    assets = pd.read_csv(tmp_path / "scores_assets.csv", parse_dates=["onset_time"])
    assert assets["asset"].tolist() == [SCENARIO.asset]
    onset = assets["onset_time"].iloc[0]
    defect = START + pd.Timedelta(days=SCENARIO.defect_day)
    # the drift (level +-12 % a day, +3 %/day, speed +-1.5 %) alone never made it persistent;
    # the defect is found within a day (24 snapshots) of its start, while its peak is small
    assert defect <= onset <= defect + pd.Timedelta(hours=24), onset
    peak = operating_point((onset - START) / pd.Timedelta(days=1), SCENARIO)["fault_peak"]
    assert peak < 0.5
    peers = _peer_onsets(folder)
    assert all(p is None or onset < p for p in peers.values()), (onset, peers)

    rows = pd.read_parquet(tmp_path / "scores.parquet")
    marked = rows.loc[rows["onset"].astype(bool), "path"].unique()
    assert [Path(p).name for p in marked] == [f"snap_{onset:%Y-%m-%dT%H-%M-%S}.npz"]
    assert rows["alarm_run"].max() == assets["alarm_run_now"].iloc[0]

    # the pyfunc names the same onset over the same recordings (times from their names)
    model = mlflow.pyfunc.load_model(str(tmp_path / "run" / "model"))
    paths = sorted(str(p) for p in (folder / "monitor").rglob("*.npz"))
    served = model.predict(pd.DataFrame({"path": paths, "asset": SCENARIO.asset}))
    served_onset = served.loc[served["onset"].astype(bool), "unit_time"].unique()
    assert served_onset.tolist() == [onset.isoformat()]

    _cli(tmp_path, "report", "input=scores.parquet", "output=report.html", "tracking.enabled=false")
    html = (tmp_path / "report.html").read_text()
    assert "Assets: since when (1)" in html
    assert f"<td>persistent alarm</td><td>{onset:%Y-%m-%d %H:%M}</td>" in html
    assert 'alt="score trend and onset per asset"' in html
