"""Sensor tables read block by block, wall-clock time of each window, table segments."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from anomaly_diffusion.config import FeatureConfig, SourceConfig
from anomaly_diffusion.data.dataset import Item
from anomaly_diffusion.data.windows import extract_windows
from anomaly_diffusion.errors import DataError
from anomaly_diffusion.ingest import table_columns
from anomaly_diffusion.ingest.table import read_table
from anomaly_diffusion.scoring.result import ScoreResult, result_frame


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 7 rows, so that every test table spans several blocks."""
    monkeypatch.setattr(table_columns, "CHUNK_ROWS", 7)


def _stamped_csv(
    path: Path, n: int = 40, *, start: str = "2026-11-24 03:00:00", edits: dict | None = None
) -> Path:
    stamps = pd.date_range(start, periods=n, freq="250ms")
    frame = pd.DataFrame(
        {
            "timestamp": stamps.strftime("%Y-%m-%d %H:%M:%S.%f"),
            "flow": np.arange(n) * 0.5,
            "temp": 20.0 + np.sin(np.arange(n)),
            "y": (np.arange(n) % 9 == 4).astype(int),
        }
    )
    frame = frame.astype(object)
    for (row, column), value in (edits or {}).items():
        frame.loc[row, column] = value
    frame.to_csv(path, index=False)
    return path


def test_blocks_give_the_same_table_as_one_read(tmp_path, monkeypatch):
    path = _stamped_csv(tmp_path / "line.csv")
    whole = read_table(path, label_column="y")
    monkeypatch.setattr(table_columns, "CHUNK_ROWS", 7)
    blocks = read_table(path, label_column="y")
    np.testing.assert_array_equal(blocks.data, whole.data)
    np.testing.assert_array_equal(blocks.labels, whole.labels)
    assert blocks.channels == ("flow", "temp") and blocks.rate == pytest.approx(4.0)
    np.testing.assert_allclose(blocks.data[0], np.arange(40) * 0.5)
    assert blocks.start_time == pd.Timestamp("2026-11-24 03:00:00")


def test_errors_in_a_later_block_name_the_file_row(tmp_path, small_blocks):
    # row index 20 is file row 22 (header = row 1), in the third block of 7 rows
    bad_cell = _stamped_csv(tmp_path / "cell.csv", edits={(20, "temp"): "n/a?"})
    with pytest.raises(DataError, match=r"cell\.csv: row 22, column 'temp': non-numeric value"):
        read_table(bad_cell)
    bad_stamp = _stamped_csv(tmp_path / "stamp.csv", edits={(15, "timestamp"): "yesterday"})
    with pytest.raises(DataError, match=r"stamp\.csv: row 17: unparseable timestamp 'yesterday'"):
        read_table(bad_stamp)
    frame = pd.read_csv(_stamped_csv(tmp_path / "clean.csv"))
    frame.loc[30, "timestamp"] = frame.loc[29, "timestamp"]
    frame.to_csv(tmp_path / "dup.csv", index=False)
    with pytest.raises(DataError, match=r"dup\.csv: row 32: duplicate or non-monotonic"):
        read_table(tmp_path / "dup.csv")
    inf = _stamped_csv(tmp_path / "inf.csv", edits={(9, "flow"): "inf"})
    with pytest.raises(DataError, match=r"inf\.csv: row 11, column 'flow': infinite value"):
        read_table(inf)


def test_parquet_is_read_in_batches(tmp_path, small_blocks):
    stamps = pd.date_range("2026-01-01", periods=30, freq="1s", tz="Europe/Berlin")
    path = tmp_path / "line.parquet"
    pd.DataFrame({"time": stamps, "x": np.arange(30.0)}).to_parquet(path, row_group_size=5)
    rec = read_table(path)
    np.testing.assert_array_equal(rec.data[0], np.arange(30.0))
    assert rec.rate == pytest.approx(1.0)
    assert rec.start_time == pd.Timestamp("2026-01-01 00:00:00", tz="Europe/Berlin")


def test_mixed_utc_offsets_are_put_on_one_clock(tmp_path):
    path = tmp_path / "dst.csv"  # the clock moves from +02:00 to +01:00 mid-file
    path.write_text(
        "time,x\n2026-10-25T02:59:58+02:00,1\n2026-10-25T02:59:59+02:00,2\n"
        "2026-10-25T02:00:00+01:00,3\n2026-10-25T02:00:01+01:00,4\n"
    )
    rec = read_table(path)
    assert rec.rate == pytest.approx(1.0) and rec.segments is None
    assert rec.start_time == pd.Timestamp("2026-10-25T00:59:58", tz="UTC")


def test_numeric_time_has_no_wall_clock(tmp_path):
    path = tmp_path / "rel.csv"
    path.write_text("time,x\n100.0,1\n100.5,2\n101.0,3\n")
    rec = read_table(path)
    assert rec.start_time is None and rec.rate == pytest.approx(2.0)


def test_window_start_time_follows_start_s(tmp_path):
    path = _stamped_csv(tmp_path / "line.csv")
    features = FeatureConfig(kind="sensor_window", window_seconds=2.0, hop_seconds=1.0)
    windows = extract_windows(Item(path=str(path)), source=SourceConfig(), features=features)
    origin = pd.Timestamp("2026-11-24 03:00:00")
    assert [w.start_s for w in windows[:3]] == [0.0, 1.0, 2.0]
    for w in windows:
        assert w.start_time == origin + pd.Timedelta(seconds=w.start_s)
    result = ScoreResult(
        scores=np.arange(len(windows), dtype=float),
        maps=[np.zeros(w.features.shape[1:]) for w in windows],
        threshold=1.5,
        network_evals_per_item=1,
    )
    table = result_frame(windows, result)
    assert table.loc[2, "start_time"] == "2026-11-24T03:00:02"
    assert pd.to_datetime(table["start_time"]).is_monotonic_increasing


def test_table_segment_from_manifest_times(tmp_path, small_blocks):
    path = _stamped_csv(tmp_path / "line.csv")  # 40 rows at 4 Hz: 0 .. 9.75 s
    rec = read_table(path, start_s=2.0, end_s=5.0, label_column="y")
    assert rec.offset_s == pytest.approx(2.0) and rec.data.shape == (2, 12)
    np.testing.assert_allclose(rec.data[0], np.arange(8, 20) * 0.5)
    np.testing.assert_array_equal(rec.labels, (np.arange(8, 20) % 9 == 4).astype(int))
    features = FeatureConfig(kind="sensor_window", window_seconds=1.0, hop_seconds=1.0)
    item = Item(path=str(path), start_s=2.0, end_s=5.0)
    windows = extract_windows(item, source=SourceConfig(), features=features)
    assert [(w.start_s, w.end_s) for w in windows] == [(2.0, 3.0), (3.0, 4.0), (4.0, 5.0)]
    assert windows[0].start_time == pd.Timestamp("2026-11-24 03:00:02")
    with pytest.raises(DataError, match=r"line\.csv: segment \[20.0, 30.0\) s holds no rows"):
        read_table(path, start_s=20.0, end_s=30.0)
