"""One historian export of normal operation trains as it is (issue #16): its time column is
found by a name with a unit, part of the one table is held out in time for the threshold, and a
window too short for the table's row interval is a clear error, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from anomaly_diffusion.config import FeatureConfig, SourceConfig
from anomaly_diffusion.data.dataset import Item, split_validation
from anomaly_diffusion.data.stream import item_end_s
from anomaly_diffusion.data.windows import extract_windows
from anomaly_diffusion.errors import DataError
from anomaly_diffusion.ingest.csv_format import guess_time

INTERVAL = 180.0  # Tennessee Eastman's: a row every 3 minutes


def _historian(path: Path, *, rows: int = 400, seed: int = 0, fault_from: int | None = None):
    """A plant table: ``time_s`` (s) and four correlated sensors; a drift in ``flow`` from row
    ``fault_from`` on."""
    rng = np.random.default_rng(seed)
    level = np.cumsum(rng.normal(0, 0.05, rows)) + rng.normal(0, 0.1, rows)
    table = pd.DataFrame(
        {
            "time_s": np.arange(rows) * INTERVAL,
            "level": level,
            "flow": 2.0 * level + rng.normal(0, 0.1, rows),
            "temp": rng.normal(50, 0.5, rows),
            "pressure": level - 0.5 * rng.normal(0, 0.1, rows),
        }
    )
    if fault_from is not None:
        table.loc[fault_from:, "flow"] += 3.0
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False)
    return path


def test_time_column_is_found_by_a_name_with_a_unit():
    assert guess_time(["level", "time_s", "flow"]) == "time_s"
    assert guess_time(["Timestamp [s]", "x"]) == "Timestamp [s]"
    assert guess_time(["time (s)"]) == "time (s)"
    assert guess_time(["speed_s", "times", "t_s"]) is None  # a unit alone makes no time column


def test_a_column_named_like_a_label_is_the_row_label_never_a_sensor(tmp_path):
    from anomaly_diffusion.ingest import read_recording

    path = _historian(tmp_path / "run.csv", rows=50)
    table = pd.read_csv(path).assign(fault=[0] * 30 + [1] * 20)
    table.to_csv(path, index=False)
    rec = read_recording(str(path), source=SourceConfig())
    assert rec.channels == ("level", "flow", "temp", "pressure")  # not "fault"
    assert rec.labels.tolist() == [0] * 30 + [1] * 20
    named = read_recording(str(path), source=SourceConfig(columns=("level", "fault")))
    assert named.channels == ("level", "fault") and named.labels is None  # the user's choice


def test_one_table_is_split_in_time_for_calibration(tmp_path):
    item = Item(str(_historian(tmp_path / "plant.csv")))
    assert item_end_s(item, SourceConfig()) == pytest.approx(400 * INTERVAL)  # one row past
    train, held = split_validation(
        [item],
        fraction=0.2,
        rng=np.random.default_rng(0),
        end_of=lambda it: item_end_s(it, SourceConfig()),
    )
    assert [(it.start_s, it.end_s) for it in train] == [(None, pytest.approx(320 * INTERVAL))]
    assert [(it.start_s, it.end_s) for it in held] == [
        (pytest.approx(320 * INTERVAL), pytest.approx(400 * INTERVAL))
    ]
    with pytest.raises(DataError, match="the only training file, and its length is unknown"):
        split_validation([item], fraction=0.2, rng=np.random.default_rng(0))


def test_window_shorter_than_two_rows_is_refused_with_a_length_that_fits(tmp_path):
    item = Item(str(_historian(tmp_path / "plant.csv")))
    preset = FeatureConfig(kind="sensor_window", window_seconds=64.0, hop_seconds=32.0)
    with pytest.raises(DataError) as info:
        extract_windows(item, source=SourceConfig(), features=preset)
    message = str(info.value)
    assert "plant.csv: features.window_seconds=64 holds 0 rows" in message
    assert "one every 180 s" in message
    assert "features.window_seconds=3600 features.hop_seconds=1800 (20 rows" in message
    # the proposed windows read: 20 rows each
    fitting = FeatureConfig(kind="sensor_window", window_seconds=3600.0, hop_seconds=1800.0)
    windows = extract_windows(item, source=SourceConfig(), features=fitting)
    assert {w.features.shape for w in windows} == {(1, 4, 20)}


@pytest.mark.slow
def test_cli_trains_on_one_normal_table_and_explains_a_window_too_short(tmp_path):
    root = tmp_path / "plant"
    _historian(root / "train" / "good" / "export.csv", rows=600)
    _historian(root / "test" / "good" / "next_run.csv", rows=200, seed=1)
    _historian(root / "test" / "fault" / "drift.csv", rows=200, seed=2, fault_from=0)
    cli = str(Path(sys.executable).parent / "anomaly-diffusion")
    base = [cli, "train", f"data.root={root}", "tracking.enabled=false", "training.max_steps=30"]
    out = subprocess.run(
        [*base, "run_dir=too_short"], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert out.returncode != 0
    assert "Traceback" not in out.stderr
    assert "holds 0 rows" in out.stderr and "features.window_seconds=3600" in out.stderr
    out = subprocess.run(
        [*base, "run_dir=run", "features.window_seconds=3600", "features.hop_seconds=1800"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["n_train"] == 1 and metrics["n_test_anomalous"] > 0
    assert metrics["auroc"] >= 0.9  # a jump of 3 (30 noise sd) in one sensor, all file long
    out = subprocess.run(
        [
            cli,
            "score",
            "model=run/model",
            f"input={root / 'test' / 'fault' / 'drift.csv'}",
            "output=scores.parquet",
            "tracking.enabled=false",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    scores = pd.read_parquet(tmp_path / "scores.parquet")
    assert scores["is_anomaly"].mean() >= 0.9
    # the known answer: the fault was injected into "flow" only
    assert (scores.loc[scores["is_anomaly"], "peak_sensor"] == "flow").mean() >= 0.8
