"""``score engine=spark`` on a real local Spark (``local[2]``): the MLflow pyfunc as a Spark UDF
over one row per window gives the local engine's rows and scores, as partitioned Parquet."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow
CLI = str(Path(sys.executable).parent / "anomaly-diffusion")
QUICK = ["training=quick", "training.max_steps=60", "tracking.enabled=false"]


@pytest.fixture(scope="module")
def spark_ready():
    reason = None
    try:
        import pyspark  # noqa: F401
    except ImportError:
        reason = "pyspark not installed: pip install -e '.[spark]' (make test installs it)"
    if reason is None and not shutil.which("java"):
        reason = "java not found: engine=spark needs Java 17"
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)


def _cli(*args: str, cwd: Path, ok=(0,)) -> subprocess.CompletedProcess:
    out = subprocess.run([CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=900)
    assert out.returncode in ok, f"exit {out.returncode}\n{out.stdout}\n{out.stderr[-3000:]}"
    return out


def _sorted(table: pd.DataFrame) -> pd.DataFrame:
    return table.sort_values(["path", "start_s"], na_position="first").reset_index(drop=True)


@pytest.fixture(scope="module")
def models(plant, tmp_path_factory) -> dict[str, Path]:
    """Quick CLI-trained models, one per modality scored here."""
    work = tmp_path_factory.mktemp("spark_models")
    _cli("train", f"data.root={plant['vibration']}", "run_dir=vibration", *QUICK, cwd=work)
    return {"vibration": work / "vibration" / "model"}


@pytest.mark.parametrize("modality", ["vibration"])  # images: one row per file, same path
def test_spark_engine_equals_local(spark_ready, models, plant, tmp_path, modality):
    inputs = plant[modality] / "test"
    common = [f"model={models[modality]}", f"input={inputs}", "maps=none"]
    _cli("score", *common, "output=local.parquet", "tracking.enabled=false", cwd=tmp_path, ok=(0,))
    out = _cli(
        "score",
        *common,
        "output=spark.parquet",
        "engine=spark",
        "tracking.enabled=false",
        cwd=tmp_path,
    )
    local = _sorted(pd.read_parquet(tmp_path / "local.parquet"))
    summary = re.search(r"scored (\d+) window\(s\), (\d+) anomalous, (\d+) failed", out.stdout)
    assert summary, out.stdout  # the job's own count of what the executors scored
    scored, anomalous, failed = (int(g) for g in summary.groups())
    assert (scored, failed) == (len(local), 0)
    assert anomalous == int(local["is_anomaly"].sum())
    spark_dir = tmp_path / "spark.parquet"
    assert spark_dir.is_dir() and any(p.name.startswith("asset=") for p in spark_dir.iterdir())
    spark = _sorted(pd.read_parquet(spark_dir))
    assert len(spark) == len(local) > 0
    assert list(spark["path"]) == list(local["path"])
    pd.testing.assert_series_equal(
        spark["start_s"].astype(float), local["start_s"].astype(float), check_names=False
    )
    assert (spark["score"] - local["score"]).abs().max() <= 1e-5
    assert (spark["is_anomaly"] == local["is_anomaly"]).all()
    assert set(spark["asset"]) == set(local["asset"])
    for column in ("unit_time", "alarm_run", "onset"):  # each asset's onset, as the local job
        assert (spark[column].astype(str) == local[column].astype(str)).all(), column
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "spark_assets.csv"), pd.read_csv(tmp_path / "local_assets.csv")
    )
    if modality == "vibration":
        assert local["start_s"].nunique() > 1  # several windows per file, planned on the driver


def test_tables_are_scored_per_file_like_the_local_engine(spark_ready, models, plant, tmp_path):
    """A vibration signal exported as a table (time + one column, 12.8 kHz) cannot be planned
    into windows ahead of reading: Spark scores it per file, with the same pyfunc."""
    from anomaly_diffusion.config import SourceConfig
    from anomaly_diffusion.ingest import read_recording

    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in ("good", "bearing_fault"):
        npz = sorted((plant["vibration"] / "test" / name).glob("*.npz"))[0]
        rec = read_recording(npz, source=SourceConfig())
        t = pd.Series(range(rec.data.shape[-1])) / rec.rate
        pd.DataFrame({"time": t, "accel": rec.data[0]}).to_csv(inputs / f"{name}.csv", index=False)
    shutil.copy(npz, inputs / "fault.npz")  # a plannable file beside them: both paths at once
    common = [
        f"model={models['vibration']}",
        f"input={inputs}",
        "maps=none",
        "tracking.enabled=false",
    ]
    _cli("score", *common, "output=local.parquet", cwd=tmp_path)
    _cli("score", *common, "output=spark.parquet", "engine=spark", cwd=tmp_path)
    local = _sorted(pd.read_parquet(tmp_path / "local.parquet"))
    spark = _sorted(pd.read_parquet(tmp_path / "spark.parquet"))
    assert local["error"].isna().all() and spark["error"].isna().all()
    assert {p.rsplit(".", 1)[-1] for p in spark["path"]} == {"csv", "npz"}
    assert list(spark["path"]) == list(local["path"]) and len(local) > 6
    assert (spark["start_s"] - local["start_s"]).abs().max() <= 1e-9
    assert (spark["score"] - local["score"]).abs().max() <= 1e-5
    fault = local[local["path"].str.endswith("bearing_fault.csv")]["score"].max()
    assert fault > local[local["path"].str.endswith("good.csv")]["score"].max()
