"""Onset of a persistent alarm per asset: known answers for runs, units, time order and the
per-asset status (anomaly_diffusion.trend)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anomaly_diffusion.errors import ConfigError
from anomaly_diffusion.trend.onset import (
    alarm_runs,
    first_persistent,
    onsets_of_rows,
    unit_table,
)
from anomaly_diffusion.trend.timeline import time_from_name


def _rows(scores_per_file, *, asset="pump", windows=3, name="snap_2026-11-{d:02d}T06-30-00.npz"):
    """Score rows of one asset: file i (day i + 1) has ``windows`` windows scored ``scores[i]``
    (a number, or one per window); threshold 2."""
    rows = []
    for i, score in enumerate(scores_per_file):
        per = np.broadcast_to(score, (windows,))
        for w in range(windows):
            rows.append(
                {
                    "path": f"/plant/{asset}/" + name.format(d=i + 1),
                    "asset": asset,
                    "start_s": 0.16 * w,
                    "end_s": 0.16 * w + 0.32,
                    "score": float(per[w]),
                    "threshold": 2.0,
                    "severity": 0.5,
                    "error": None,
                }
            )
    return pd.DataFrame(rows)


def test_runs_and_first_persistent_known_answers():
    assert alarm_runs([0, 1, 1, 0, 1]).tolist() == [0, 1, 2, 0, 1]
    assert first_persistent([0, 1, 0, 1, 1, 1, 1], k=3) == 3
    assert first_persistent([1, 1, 0, 1, 1], k=3) is None
    assert first_persistent([1], k=1) == 0
    with pytest.raises(ConfigError, match="k=0: use a whole number >= 1"):
        first_persistent([1, 1], k=0)


@pytest.mark.parametrize(
    "name,expected",
    [
        ("snap_2026-11-30T10-20-00.npz", "2026-11-30 10:20:00"),
        ("DE_20261130_102005.wav", "2026-11-30 10:20:05"),
        ("pump 2026-11-30 10:20.csv", "2026-11-30 10:20:00"),
        ("/a/2025-01-01T00-00-00/cam_20261130T0820.png", "2026-11-30 08:20:00"),
        ("serial_12345678_99.npz", None),  # 8 digits that are no date
        ("normal_0003.npz", None),
    ],
)
def test_time_from_name(name, expected):
    got = time_from_name(name)
    assert (None if got is None else str(got)) == expected


def test_a_single_spike_is_no_onset_a_lasting_rise_is():
    # files 0-9; file 2 spikes once, files 6.. stay above threshold 2
    scores = [1, 1, 5, 1, 1, 1, 3, 3, 3, 3]
    rows, units, onsets, source = onsets_of_rows(_rows(scores), k=3)
    assert source == "file names"
    assert units["alarm"].tolist() == [s > 2 for s in scores]
    one = onsets.iloc[0]
    assert one["onset_time"] == pd.Timestamp("2026-11-07 06:30")
    assert one["first_alarm_time"] == pd.Timestamp("2026-11-03 06:30")
    assert (one["alarm_run_now"], one["n_units"], one["status"]) == (4, 10, "persistent alarm")
    # every window of the onset file is marked, no other
    marked = rows.loc[rows["onset"], "path"].unique()
    assert [p.rsplit("/", 1)[1] for p in marked] == ["snap_2026-11-07T06-30-00.npz"]
    assert rows.loc[rows["onset"], "alarm_run"].tolist() == [1.0, 1.0, 1.0]


def test_a_recording_alarms_when_most_of_its_windows_do():
    # 2 of 3 windows above threshold: the median alarms; 1 of 3: it does not
    rows = _rows([[3, 3, 1], [3, 1, 1], [3, 3, 1], [3, 3, 3]])
    units, _ = unit_table(rows)
    assert units["alarm"].tolist() == [True, False, True, True]
    assert units["n_windows"].tolist() == [3, 3, 3, 3]


def test_status_alarm_normal_and_was_persistent():
    recovering = _rows([3, 3, 3, 1], asset="a")
    starting = _rows([1, 1, 3], asset="b")
    quiet = _rows([1, 1, 1], asset="c")
    _, _, onsets, _ = onsets_of_rows(pd.concat([recovering, starting, quiet]), k=3)
    status = dict(zip(onsets["asset"], onsets["status"], strict=True))
    assert status == {"a": "normal (was persistent)", "b": "alarm", "c": "normal"}


def test_trend_is_the_robust_slope_per_day():
    scores = 1.0 + 0.25 * np.arange(8)
    scores[3] = 40.0  # one outlier does not move a Theil-Sen slope
    _, _, onsets, _ = onsets_of_rows(_rows(list(scores)), k=3)
    assert onsets["trend_per_day"].iloc[0] == pytest.approx(0.25)


def test_time_order_beats_file_order_and_recorded_at_beats_names():
    rows = _rows([3, 3, 1, 3], name="snap_2026-11-{d:02d}T06-30-00.npz")
    # name order != time order: the recorded_at column says file 3 (score 1) came last
    times = {p: f"2026-12-0{i}T00:00:00Z" for i, p in enumerate(rows["path"].unique(), 1)}
    times[rows["path"].unique()[2]] = "2026-12-09T00:00:00Z"
    rows["recorded_at"] = rows["path"].map(times)
    units, source = unit_table(rows)
    assert source == "recorded_at"
    assert units["score"].tolist() == [3, 3, 3, 1]
    _, _, onsets, _ = onsets_of_rows(rows, k=3)
    assert onsets["onset_time"].iloc[0] == pd.Timestamp("2026-12-01")


def test_without_times_units_follow_file_names_and_a_single_table_its_windows():
    rows = _rows([1, 3, 3, 3], name="normal_{d:04d}.npz")
    _, units, onsets, source = onsets_of_rows(rows, k=3)
    assert source == "order"
    assert units["time"].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert onsets["onset_time"].iloc[0] == 1.0
    # one table of one asset: its windows are the units, ordered by start_s (not as text)
    table = pd.DataFrame(
        {
            "path": "/historian/line1.csv",
            "asset": "line1",
            "start_s": [0.0, 60.0, 120.0, 1200.0, 180.0],
            "end_s": [60.0, 120.0, 180.0, 1260.0, 240.0],
            "score": [1.0, 3.0, 3.0, 1.0, 3.0],
            "threshold": 2.0,
            "error": None,
        }
    )
    _, units, onsets, _ = onsets_of_rows(table, k=3)
    assert len(units) == 5 and units["score"].tolist() == [1, 3, 3, 3, 1]
    assert onsets["onset_unit"].iloc[0] == "/historian/line1.csv#60.0"


def test_failed_rows_are_left_out_and_keep_no_run():
    rows = _rows([3, 3, 3])
    bad = pd.DataFrame([{"path": "/plant/pump/broken.npz", "asset": "pump", "error": "empty"}])
    out, units, onsets, _ = onsets_of_rows(pd.concat([rows, bad], ignore_index=True), k=2)
    assert len(units) == 3 and onsets["status"].iloc[0] == "persistent alarm"
    assert pd.isna(out["alarm_run"].iloc[-1]) and not out["onset"].iloc[-1]


def test_no_rows_or_only_failures_give_no_assets():
    from anomaly_diffusion.scoring.result import SCORE_COLUMNS

    rows, _, onsets, source = onsets_of_rows(pd.DataFrame(columns=list(SCORE_COLUMNS)))
    assert rows.empty and onsets.empty and source == "none"
    assert list(rows.columns[-3:]) == ["unit_time", "alarm_run", "onset"]
    failed = pd.DataFrame(
        [
            {
                "path": "/x/a.npz",
                "asset": "x",
                "error": "empty file",
                "score": None,
                "threshold": None,
                "start_s": None,
            }
        ]
    )
    rows, _, onsets, _ = onsets_of_rows(failed)
    assert len(rows) == 1 and onsets.empty and not rows["onset"].iloc[0]


def test_score_job_files_and_report_with_an_alarm_not_yet_persistent(tmp_path, caplog):
    import logging

    from anomaly_diffusion.jobs.onsets import assets_path, write_with_onsets
    from anomaly_diffusion.reports.html import render_report

    rows = pd.concat([_rows([1, 3, 3, 3], asset="a"), _rows([1, 1, 3], asset="b")])
    rows = rows.assign(
        is_anomaly=rows["score"] > 2,
        peak_time_s=None,
        peak_freq_hz=None,
        peak_x=None,
        peak_y=None,
        map_path=None,
    )
    out = tmp_path / "scores.parquet"
    with caplog.at_level(logging.WARNING):
        persistent = write_with_onsets(rows, out, k=3)
    assert persistent == ("a",)
    assert (
        "asset a: persistent alarm (3 alarming in a row now, onset 2026-11-02 06:30" in caplog.text
    )
    assert "asset b: alarm (1 alarming in a row now; score 3, threshold 2)" in caplog.text
    assets = pd.read_csv(assets_path(out))
    assert assets["status"].tolist() == ["persistent alarm", "alarm"]
    assert pd.isna(assets["onset_time"].iloc[1])
    written = pd.read_parquet(out)
    assert written["onset"].sum() == 3 and len(written) == len(rows)
    html = render_report(written)
    assert "<td>a</td><td>persistent alarm</td><td>2026-11-02 06:30</td>" in html
    assert "<td>b</td><td>alarm</td><td>\u2014</td><td>2026-11-03 06:30</td>" in html


def test_trend_of_a_long_series_is_bounded_and_still_right():
    """A 10-million-row table gives ~10,000 windows of one recording: pairwise Theil-Sen would
    hold 50 million slopes (2 GB; 200,000 points: 160 GB). Reduced to TREND_POINTS medians it
    still finds the slope, and a burst of spikes does not move it."""
    import time

    from anomaly_diffusion.trend.onset import TREND_POINTS, trend_slope

    rng = np.random.default_rng(0)
    days = np.linspace(0.0, 30.0, 200_000)
    scores = 2.0 + 0.05 * days + rng.normal(0, 0.2, days.size)
    scores[50_000:50_500] += 40.0  # a burst of spikes
    start = time.perf_counter()
    assert trend_slope(scores, days) == pytest.approx(0.05, abs=0.005)
    assert time.perf_counter() - start < 5.0
    few = np.arange(TREND_POINTS, dtype=float)
    assert trend_slope(3.0 * few, few) == pytest.approx(3.0)  # exact below the bound
    assert np.isnan(trend_slope(np.ones(2), np.arange(2.0)))
    assert np.isnan(trend_slope(np.arange(5.0), np.zeros(5)))  # no time spread
