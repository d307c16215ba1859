"""Training options through the real CLI on the synthetic plant: a manifest with assets (time and
frequency of the peaks in the score table) and operating conditions with label-free tuning."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.slow
QUICK = ["training=quick", "training.max_steps=150"]


@pytest.fixture
def workdir(tmp_path) -> Path:
    return tmp_path


def test_vibration_manifest_training_reports_time_and_frequency(cli, workdir, plant):
    root = plant["vibration"]
    rows = [
        {
            "path": str(p.relative_to(root)),
            "split": p.parts[-3],
            "label": int(p.parent.name != "good"),
            "defect": p.parent.name,
            "asset": "fan_3",
        }
        for p in sorted(root.rglob("*.npz"))
    ]
    pd.DataFrame(rows).to_csv(root / "manifest.csv", index=False)
    cli(
        "train",
        f"data.manifest={root / 'manifest.csv'}",
        "run_dir=runs/vib",
        *QUICK,
        "tracking.enabled=false",
        cwd=workdir,
    )
    metrics = json.loads((workdir / "runs" / "vib" / "metrics.json").read_text())
    assert metrics["auroc"] >= 0.8
    assert metrics["pixel_auroc"] is None
    cli(
        "score",
        "model=runs/vib/model",
        f"input={root / 'manifest.csv'}",
        "output=vib.parquet",
        "maps=none",
        "tracking.enabled=false",
        cwd=workdir,
    )
    table = pd.read_parquet(workdir / "vib.parquet")
    assert (table["asset"] == "fan_3").all()
    assert table["peak_freq_hz"].between(0, 6400).all()
    assert (table["peak_time_s"] >= table["start_s"]).all()
    assert (table["peak_time_s"] <= table["end_s"]).all()


def test_conditions_and_label_free_tuning_from_the_cli(cli, workdir, plant, mlflow_uri):
    root = plant["acoustic"]
    wavs = sorted(root.rglob("*.wav"))
    table = pd.DataFrame(
        {"file_name": [p.name for p in wavs], "mic": [f"m{i % 2}" for i in range(len(wavs))]}
    )
    table.to_csv(workdir / "conditions.csv", index=False)
    cli(
        "train",
        f"data.root={root}",
        "run_dir=runs/cond",
        *QUICK,
        "data.conditions=[mic]",
        f"data.condition_table={workdir / 'conditions.csv'}",
        "tune.enabled=true",
        "data.val_fraction=0.35",  # 8 of 24 files: 4 tune, 4 calibrate (never the same)
        "tune.t_starts=[100,250]",
        "tune.per_kind=3",
        "tune.n_repeats=1",
        f"tracking.uri={mlflow_uri}",
        cwd=workdir,
    )
    run = workdir / "runs" / "cond"
    tuned = pd.read_csv(run / "tune.csv")
    assert len(tuned) == 2 * 3 * 2 * 2 * 3 and tuned["auroc"].between(0, 1).all()
    assert {"auroc_impulse", "auroc_tone", "auroc_band_noise", "auroc_dropout"} <= set(tuned)
    saved = json.loads((run / "model" / "artifacts" / "detector" / "detector.json").read_text())
    assert saved["conditions"]["categorical"] == {"mic": ["m0", "m1"]}
    # the saved settings are a best candidate (ties within 1e-4 go to the residual map, then
    # the lower t_start: chooser._best)
    scoring = saved["config"]["scoring"]
    tops = tuned[tuned["auroc"].round(4) == tuned["auroc"].round(4).max()]
    mine = tops[(tops["t_start"] == scoring["t_start"]) & (tops["map_type"] == scoring["map_type"])]
    assert len(mine) > 0
    best = mine.iloc[0]

    import mlflow

    client = mlflow.MlflowClient(mlflow_uri)
    (found,) = client.search_runs(
        client.get_experiment_by_name("anomaly_diffusion").experiment_id,
        filter_string="tags.job = 'train'",
    )
    assert found.data.params["tune.chosen.t_start"] == str(best["t_start"])
    assert found.data.params["data.conditions"] == "['mic']"
    assert 0 <= found.data.metrics["tune_synthetic_auroc"] <= 1
    cli(
        "score",
        "model=runs/cond/model",
        f"input={root / 'test'}",
        f"condition_table={workdir / 'conditions.csv'}",
        "output=cond.parquet",
        "maps=none",
        "tracking.enabled=false",
        cwd=workdir,
        ok=(0,),
    )
    scored = pd.read_parquet(workdir / "cond.parquet")
    assert scored["error"].isna().all() and len(scored) == len(list((root / "test").rglob("*.wav")))
    # the pyfunc takes the condition as a column and scores exactly as the CLI did
    model = mlflow.pyfunc.load_model(str(run / "model"))
    assert "mic" in model.metadata.get_input_schema().input_names()
    mics = dict(zip(table["file_name"], table["mic"], strict=True))
    frame = pd.DataFrame({"path": scored["path"]})
    frame["mic"] = [mics[p.rsplit("/", 1)[-1]] for p in frame["path"]]
    out = model.predict(frame)
    np.testing.assert_allclose(out["score"], scored["score"], rtol=1e-5)
    unconditional = model.predict(frame[["path"]])  # no condition column: the fallback model
    assert not np.allclose(unconditional["score"], scored["score"])
