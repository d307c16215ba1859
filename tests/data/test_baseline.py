"""``source.baseline_s``: each table file centred on its own first stretch (per-run baseline)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from anomaly_diffusion.config import FeatureConfig, SourceConfig
from anomaly_diffusion.data.dataset import Item
from anomaly_diffusion.data.windows import extract_windows
from anomaly_diffusion.errors import ConfigError, DataError

FEATURES = FeatureConfig(kind="sensor_window", window_seconds=10.0, hop_seconds=10.0)


def _run(path: Path, *, flow: float, temp: float, step_at: int | None = None) -> Path:
    """A run of 60 rows (1 per second): two sensors at their run's own level, flow +3 from
    ``step_at`` on."""
    t = np.arange(60.0)
    wobble = 0.1 * np.sin(t)
    flow_v = flow + wobble + (3.0 * (t >= step_at) if step_at is not None else 0.0)
    pd.DataFrame({"time_s": t, "flow": flow_v, "temp": temp + wobble}).to_csv(path, index=False)
    return path


def test_runs_at_other_normal_levels_become_the_same_windows(tmp_path):
    one = _run(tmp_path / "run1.csv", flow=10.0, temp=50.0)
    two = _run(tmp_path / "run2.csv", flow=14.0, temp=47.0)  # the next run sits elsewhere
    source = SourceConfig(baseline_s=20.0)
    a = extract_windows(Item(str(one)), source=source, features=FEATURES)
    b = extract_windows(Item(str(two)), source=source, features=FEATURES)
    assert len(a) == len(b) == 6
    for wa, wb in zip(a, b, strict=True):
        np.testing.assert_allclose(wa.features, wb.features, atol=1e-5)
    # the mean over the first 20 rows is 0 after centring; without, the levels stay apart
    assert abs(np.mean([w.features[0].mean() for w in a[:2]])) < 1e-5
    raw = extract_windows(Item(str(two)), source=SourceConfig(), features=FEATURES)
    assert raw[0].features[0, 0].mean() == pytest.approx(14.0, abs=0.1)


def test_a_segment_is_centred_on_its_files_start_and_a_step_stays_visible(tmp_path):
    path = _run(tmp_path / "run.csv", flow=10.0, temp=50.0, step_at=40)
    source = SourceConfig(baseline_s=20.0)
    late = extract_windows(Item(str(path), start_s=40.0), source=source, features=FEATURES)
    # the segment from 40 s is centred on rows 0-19 (flow 10), not on itself: the step is kept
    assert late[0].features[0, 0].mean() == pytest.approx(3.0, abs=0.1)
    assert late[0].features[0, 1].mean() == pytest.approx(0.0, abs=0.1)


def test_a_baseline_without_rows_or_values_is_refused(tmp_path):
    path = _run(tmp_path / "run.csv", flow=10.0, temp=50.0)
    with pytest.raises(DataError, match=r"baseline_s=1 holds 1 row\(s\) .* use at least 2 s"):
        extract_windows(Item(str(path)), source=SourceConfig(baseline_s=1.0), features=FEATURES)
    holes = pd.read_csv(path)
    holes.loc[:4, "temp"] = np.nan
    holes.to_csv(path, index=False)
    source = SourceConfig(baseline_s=5.0, max_gap_s=100.0)
    with pytest.raises(DataError, match=r"sensor\(s\) \['temp'\] have no value in the first 5 s"):
        extract_windows(Item(str(path)), source=source, features=FEATURES)
    with pytest.raises(ConfigError, match=r"source\.baseline_s=0\.0 must be > 0 or null"):
        SourceConfig(baseline_s=0.0)
