"""One historian export of normal operation trains as it is (issue #16): its time column is
found by a name with a unit, part of the one table is held out in time for the threshold, and a
window too short for the table's row interval adapts to it (a signal's is a clear error)."""

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
        table.loc[fault_from:, "flow"] += 10.0
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


def test_window_shorter_than_two_rows_adapts_to_the_row_interval(tmp_path, caplog):
    item = Item(str(_historian(tmp_path / "plant.csv")))
    preset = FeatureConfig(kind="sensor_window", window_seconds=64.0, hop_seconds=32.0)
    windows = extract_windows(item, source=SourceConfig(), features=preset)
    # 64 s would hold no row of a row every 180 s: 20 rows (3600 s), the hop scaled alike
    assert {w.features.shape for w in windows} == {(1, 4, 20)}
    assert [w.start_s for w in windows[:3]] == pytest.approx([0.0, 1800.0, 3600.0])
    assert len(windows) == (400 - 20) // 10 + 1
    assert "windows of 20 rows instead (3600 s, hop 1800 s)" in caplog.text
    # a length that holds 2 rows or more is the user's: kept
    kept = FeatureConfig(kind="sensor_window", window_seconds=900.0, hop_seconds=900.0)
    kept_windows = extract_windows(item, source=SourceConfig(), features=kept)
    assert {w.features.shape for w in kept_windows} == {(1, 4, 5)}


def test_signal_window_shorter_than_two_samples_is_refused(tmp_path):
    import soundfile as sf

    path = tmp_path / "tone.wav"
    sf.write(path, np.zeros(8000, np.float32), 8000)
    tiny = FeatureConfig(kind="stft", window_seconds=0.0001, n_fft=16, hop_length=4)
    with pytest.raises(DataError, match=r"tone.wav: features.window_seconds=0.0001 holds 1 samp"):
        extract_windows(Item(str(path)), source=SourceConfig(), features=tiny)


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """``anomaly-diffusion *args tracking.enabled=false`` in ``cwd``."""
    cli = str(Path(sys.executable).parent / "anomaly-diffusion")
    return subprocess.run(
        [cli, *args, "tracking.enabled=false"], cwd=cwd, capture_output=True, text=True, timeout=600
    )


@pytest.mark.slow
def test_cli_trains_on_one_normal_table_at_the_defaults_and_names_the_sensor(tmp_path):
    root = tmp_path / "plant"
    _historian(root / "train" / "good" / "export.csv", rows=600)
    _historian(root / "test" / "good" / "next_run.csv", rows=200, seed=1)
    _historian(root / "test" / "fault" / "drift.csv", rows=200, seed=2, fault_from=0)
    out = _cli(tmp_path, "train", f"data.root={root}", "run_dir=run", "training.max_steps=300")
    assert out.returncode == 0, out.stderr[-3000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["n_train"] == 1 and metrics["n_test_anomalous"] > 0
    assert metrics["auroc"] >= 0.9  # a jump of 10 (100 noise sd) in one sensor, all file long
    drift = root / "test" / "fault" / "drift.csv"
    out = _cli(tmp_path, "score", "model=run/model", f"input={drift}", "output=scores.parquet")
    assert out.returncode == 0, out.stderr[-3000:]
    scores = pd.read_parquet(tmp_path / "scores.parquet")
    assert scores["is_anomaly"].mean() >= 0.5  # 300 steps of training: most windows
    # the known answer: the fault was injected into "flow" only
    named = scores.loc[scores["is_anomaly"], "peak_sensor"]
    assert named.value_counts().index[0] == "flow"  # named far more often than any other
    assert (named == "flow").mean() >= 0.7  # 300 steps (100 named it in 55-90 % of them)
