"""`anomaly-diffusion demo` end to end (short training budget): plant, 3 models, scores, report,
MLflow runs and registered models."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow
CLI = str(Path(sys.executable).parent / "anomaly-diffusion")


def test_demo_runs_end_to_end(tmp_path):
    out = subprocess.run(
        [CLI, "demo", "training.max_steps=40"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    demo = tmp_path / "outputs" / "demo"
    report = demo / "report.html"
    assert f"report:  {report.resolve()}" in out.stdout
    assert "make ui" in out.stdout
    for modality in ("vibration", "acoustic", "camera"):
        assert (demo / "runs" / modality / "model" / "MLmodel").is_file()
        assert (demo / "runs" / modality / "metrics.json").is_file()
        assert f"{modality} " in out.stdout

    scores = pd.read_parquet(demo / "scores.parquet")
    assert set(scores["asset"]) == {"vibration machine", "acoustic machine", "camera machine"}
    assert scores["error"].isna().all()
    assert len(scores) == 80 + 16 + 20  # vibration windows, acoustic clips, camera frames
    html = report.read_text()
    for asset in ("vibration machine", "acoustic machine", "camera machine"):
        assert asset in html
    # the report says what the table says: the alarm count, the top alarm, the closest call
    alarms = scores[scores["is_anomaly"]]
    assert f"<b>{len(alarms)}</b>anomalous" in html
    if len(alarms):
        assert html.index(alarms.loc[alarms["score"].idxmax(), "path"]) < html.index("All items")
    quiet = scores[~scores["is_anomaly"]]
    nearest = quiet.loc[(quiet["score"] - quiet["threshold"]).idxmax(), "path"]
    closest = html[html.index('<div id="closest">') :]
    assert nearest in closest[: closest.index("</table>")]
    assert html.count("data:image/png;base64,") >= 2 + min(len(alarms), 20)
    # the camera model (pretrained features) tells the demo's defective frames apart
    from sklearn.metrics import roc_auc_score

    cam = scores[scores["asset"] == "camera machine"]
    defective = ~cam["path"].str.contains("/test/good/")
    assert 0 < defective.sum() < len(cam)
    assert roc_auc_score(defective, cam["score"]) >= 0.8

    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    names = {m.name for m in client.search_registered_models()}
    assert names == {f"anomaly_diffusion_{m}" for m in ("vibration", "acoustic", "camera")}
    exp = client.get_experiment_by_name("anomaly_diffusion")
    jobs = [r.data.tags["job"] for r in client.search_runs([exp.experiment_id])]
    assert sorted(jobs) == sorted(["train"] * 3 + ["score"] * 3 + ["report"])
    # the README's first quickstart command works as written after the demo
    for m in ("vibration", "acoustic", "camera"):
        holder = client.get_model_version_by_alias(f"anomaly_diffusion_{m}", "champion")
        assert str(holder.version) == "1"
    recording = next((tmp_path / "outputs" / "demo" / "plant" / "vibration").rglob("*.npz"))
    quick = subprocess.run(
        [
            CLI,
            "score",
            "model=models:/anomaly_diffusion_vibration@champion",
            f"input={recording}",
            "output=scores.parquet",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert quick.returncode == 0, quick.stderr[-2000:]
    assert "scored " in quick.stdout and " 0 failed" in quick.stdout
