"""End to end on the synthetic plant through the real CLI: train -> evaluate -> score -> report,
with a real SQLite MLflow store and the model loaded back as an MLflow pyfunc."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from anomaly_diffusion.jobs.evaluation import METRIC_KEYS
from anomaly_diffusion.scoring.result import SCORE_COLUMNS

pytestmark = pytest.mark.slow


def safe_open_keys(path: Path) -> set[str]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        return set(f.keys())


# a fixed number of steps, not a time budget: the same model on a loaded CI worker
QUICK = ["training=quick", "training.max_steps=150", "training.max_minutes=10"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("work")


@pytest.fixture(scope="module")
def trained(cli, workdir, plant) -> Path:
    """A camera model trained by the CLI, tracked in workdir/mlflow.db (the default store)."""
    cli("train", f"data.root={plant['camera']}", "run_dir=runs/camera", *QUICK, cwd=workdir)
    return workdir / "runs" / "camera"


def test_train_writes_metrics_model_and_figures(trained):
    metrics = json.loads((trained / "metrics.json").read_text())
    assert set(METRIC_KEYS) <= set(metrics)
    assert metrics["auroc"] >= 0.9  # spots and scratches on a regular texture are easy
    # 6 held-out normals cannot resolve 1 % (the card says so): the threshold lies beyond
    # their highest score, which a fresh normal image exceeds with probability <= 1/7; 4 or
    # more false alarms among 8 normal images then have probability 2 %
    from anomaly_diffusion.detector import load_detector

    det = load_detector(trained / "model")
    assert det.threshold_ > det.normal_tail_.scores.max()
    assert not det.calibration_resolution_["resolved"]
    assert round(metrics["false_alarm_rate"] * 8) <= 3
    assert metrics["threshold"] > 0
    assert metrics["pixel_auroc"] > 0.8
    assert set(metrics["auroc_by_defect"]) == {"scratch", "spot"}
    assert (metrics["n_test_normal"], metrics["n_test_anomalous"]) == (8, 12)
    assert metrics["n_train"] == 24  # 30 normal files, 6 held out for the threshold
    saved = json.loads((trained / "model" / "artifacts" / "detector" / "detector.json").read_text())
    # camera preset: one step, 1 or 2 noise draws as the label-free tuning chose (tune.draws)
    draws = saved["config"]["scoring"]["n_repeats"]
    assert draws in (1, 2) and metrics["network_evals_per_item"] == draws
    assert saved["config"]["features"]["backbone"] == "mobilenet_v2"  # the preset as shipped
    assert "backbone.features.13.conv.2.weight" in safe_open_keys(
        trained / "model" / "artifacts" / "detector" / "weights.safetensors"
    )  # the model carries its backbone
    assert metrics["train_seconds"] > 0 and metrics["score_seconds_per_item"] > 0
    assert (trained / "model" / "MLmodel").is_file()
    assert (trained / "model" / "artifacts" / "detector" / "weights.safetensors").is_file()
    figures = {p.name for p in (trained / "figures").glob("*.png")}
    assert {"roc.png", "score_histogram.png", "top_items.png"} <= figures
    assert len(figures) == 8 + 3  # max_maps overlays + the evaluation plots


def test_mlflow_store_holds_run_params_metrics_artifacts_and_model(trained, workdir):
    import mlflow
    import mlflow.pyfunc
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{workdir / 'mlflow.db'}")
    exp = client.get_experiment_by_name("anomaly_diffusion")
    runs = client.search_runs([exp.experiment_id], filter_string="tags.job = 'train'")
    assert len(runs) == 1
    run = runs[0]
    assert run.data.params["features.kind"] == "frame"
    assert run.data.params["seed"] == "0"
    assert run.data.metrics["auroc"] >= 0.9
    losses = client.get_metric_history(run.info.run_id, "train_loss")
    assert len(losses) >= 10 and losses[-1].value < losses[0].value
    arts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"config.yaml", "metrics.json", "figures"} <= arts
    versions = client.search_model_versions("name = 'anomaly_diffusion_camera'")
    assert len(versions) == 1 and versions[0].run_id == run.info.run_id
    del mlflow


def test_evaluate_matches_train_metrics(cli, trained, workdir, plant):
    cli(
        "evaluate",
        f"model={trained / 'model'}",
        f"data.root={plant['camera']}",
        "run_dir=eval",
        cwd=workdir,
    )
    got = json.loads((workdir / "eval" / "metrics.json").read_text())
    want = json.loads((trained / "metrics.json").read_text())
    assert got["auroc"] == pytest.approx(want["auroc"])
    assert got["threshold"] == pytest.approx(want["threshold"])
    # an independent path to the same figures: the streaming score job's table, labelled by
    # folder, through sklearn (evaluate reads everything in memory and computes its own)
    from sklearn.metrics import roc_auc_score

    cli(
        "score",
        f"model={trained / 'model'}",
        f"input={plant['camera'] / 'test'}",
        "output=eval/scores.parquet",
        "maps=none",
        "tracking.enabled=false",
        cwd=workdir,
    )
    table = pd.read_parquet(workdir / "eval" / "scores.parquet")
    normal = table["path"].str.contains("/test/good/").to_numpy()
    assert roc_auc_score(~normal, table["score"]) == pytest.approx(got["auroc"], abs=1e-9)
    realised = float((table.loc[normal, "score"] > table.loc[normal, "threshold"]).mean())
    assert realised == pytest.approx(got["false_alarm_rate"], abs=1e-9)
    assert (table["threshold"] == got["threshold"]).all()


def test_evaluate_on_a_test_only_folder_and_manifest(cli, trained, workdir, plant):
    """Issue #14, item 4: a promoted model on a new labelled test set needs no train/."""
    new_set = workdir / "new_test_set"
    shutil.copytree(plant["camera"] / "test", new_set / "test")
    if (plant["camera"] / "ground_truth").is_dir():
        shutil.copytree(plant["camera"] / "ground_truth", new_set / "ground_truth")
    cli(
        "evaluate",
        f"model={trained / 'model'}",
        f"data.root={new_set}",
        "run_dir=eval_new",
        cwd=workdir,
    )
    got = json.loads((workdir / "eval_new" / "metrics.json").read_text())
    want = json.loads((trained / "metrics.json").read_text())
    assert got["auroc"] == pytest.approx(want["auroc"])
    files = sorted((new_set / "test").rglob("*.png"))
    manifest = new_set / "manifest.csv"
    pd.DataFrame(
        {
            "path": [str(p.relative_to(new_set)) for p in files],
            "split": "test",
            "label": [0 if p.parent.name == "good" else 1 for p in files],
        }
    ).to_csv(manifest, index=False)
    cli(
        "evaluate",
        f"model={trained / 'model'}",
        f"data.manifest={manifest}",
        "run_dir=eval_manifest",
        cwd=workdir,
    )
    by_manifest = json.loads((workdir / "eval_manifest" / "metrics.json").read_text())
    assert by_manifest["auroc"] == pytest.approx(want["auroc"])
    empty = workdir / "empty_set"
    (empty / "test").mkdir(parents=True)
    out = cli(
        "evaluate",
        f"model={trained / 'model'}",
        f"data.root={empty}",
        "run_dir=e3",
        cwd=workdir,
        ok=(2,),
    )
    assert "no test items" in out.stderr


def test_score_from_registry_then_report(cli, trained, workdir, plant):
    out = cli(
        "score",
        "model=models:/anomaly_diffusion_camera/1",
        f"input={plant['camera'] / 'test'}",
        "output=scores/camera.parquet",
        cwd=workdir,
    )
    assert "scored 20 window(s)" in out.stdout
    table = pd.read_parquet(workdir / "scores" / "camera.parquet")
    assert list(table.columns[: len(SCORE_COLUMNS)]) == list(SCORE_COLUMNS)
    assert len(table) == 20 and table["error"].isna().all()
    bad = table["path"].str.contains("/test/(?:scratch|spot)/")
    assert table.loc[bad, "score"].mean() > table.loc[~bad, "score"].mean()
    flagged = table[table["is_anomaly"]]
    # no `len(flagged) > 0`: from 6 held-out normals the predictive tail puts this 150-step
    # model's threshold far above them (seen: 250 for normals <= 30, spots <= 190), so whether
    # any test image alarms depends on the noise draws (keyed by the tmp path): issue #15
    for rel in flagged["map_path"]:
        assert (workdir / "scores" / rel).is_file()
    # the closest calls got maps too: the 5 quiet windows nearest their threshold, no other
    quiet = table[~table["is_anomaly"]]
    nearest = (quiet["score"] - quiet["threshold"]).nlargest(min(5, len(quiet))).index
    assert set(quiet.index[quiet["map_path"].notna()]) == set(nearest)
    pngs = {p.name for p in (workdir / "scores" / "camera_maps").glob("*.png")}
    assert pngs == {Path(p).name for p in table["map_path"].dropna()}  # evicted ones removed
    ordered = table.sort_values("score")["severity"].to_numpy()
    assert ((ordered >= 0) & (ordered <= 1)).all() and (np.diff(ordered) >= 0).all()
    assert (table.loc[table["is_anomaly"], "severity"] > 0.5).all()  # alarms lie in the tail
    assert table.loc[bad, "severity"].max() > table.loc[~bad, "severity"].max()
    assert table["peak_x"].between(0, 64).all()

    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{workdir / 'mlflow.db'}")
    exp = client.get_experiment_by_name("anomaly_diffusion")
    (run,) = client.search_runs([exp.experiment_id], filter_string="tags.job = 'score'")
    assert run.data.metrics["scored"] == 20 and run.data.metrics["failed"] == 0
    saved = json.loads((trained / "model" / "artifacts" / "detector" / "detector.json").read_text())
    # the t_start the label-free tuning chose at train time is the one scoring used
    assert run.data.params["scoring.t_start"] == str(saved["config"]["scoring"]["t_start"])
    assert "config.yaml" in {a.path for a in client.list_artifacts(run.info.run_id)}

    cli("report", "input=scores/camera.parquet", "output=report.html", cwd=workdir)
    html = (workdir / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 1 + min(len(flagged), 20)
    assert 'src="http' not in html


def test_report_renders_in_headless_chromium(trained, workdir, chromium):
    """The report of the previous test in a real browser: no console errors, every image
    decoded, and a screenshot that is not blank."""
    import io

    from PIL import Image
    from playwright.sync_api import sync_playwright

    report = workdir / "report.html"
    assert report.is_file()
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(report.as_uri(), wait_until="load")
        images = page.eval_on_selector_all(
            "img", "els => els.map(e => [e.complete, e.naturalWidth, e.naturalHeight])"
        )
        shot = page.screenshot(full_page=True)
        title = page.title()
        browser.close()
    assert errors == []
    assert len(images) >= 2
    assert all(done and w > 0 and h > 0 for done, w, h in images), images
    pixels = np.asarray(Image.open(io.BytesIO(shot)).convert("L"), dtype=float)
    assert pixels.shape[1] == 1280 and pixels.shape[0] >= 900
    assert pixels.std() > 10  # text, plots and maps, not a blank page
    assert title


def test_every_model_uri_form_scores_the_same(cli, trained, workdir, plant):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{workdir / 'mlflow.db'}")
    version = client.get_model_version("anomaly_diffusion_camera", "1")
    client.set_registered_model_alias("anomaly_diffusion_camera", "champion", "1")
    uris = [
        "models:/anomaly_diffusion_camera@champion",
        version.source,  # models:/<logged model id>
        f"runs:/{version.run_id}/model",
        str(trained / "model"),
    ]
    one = plant["camera"] / "test" / "spot" / "spot_0000.png"
    scores = []
    for i, uri in enumerate(uris):
        cli(
            "score",
            f"model={uri}",
            f"input={one}",
            f"output=uri_{i}.parquet",
            "maps=none",
            "tracking.enabled=false",
            cwd=workdir,
        )
        scores.append(float(pd.read_parquet(workdir / f"uri_{i}.parquet")["score"].iloc[0]))
    assert max(scores) - min(scores) <= 1e-9, dict(zip(uris, scores, strict=True))


def test_pyfunc_scores_equal_in_process_scores(trained, workdir, plant):
    import mlflow.pyfunc

    from anomaly_diffusion.data.dataset import resolve_inputs
    from anomaly_diffusion.detector import load_detector
    from anomaly_diffusion.inference import score_items

    items = resolve_inputs(str(plant["camera"] / "test"))
    local = score_items(load_detector(trained / "model"), items)
    model = mlflow.pyfunc.load_model(str(trained / "model"))
    remote = model.predict(pd.DataFrame({"path": [it.path for it in items]}))
    np.testing.assert_allclose(remote["score"].to_numpy(), local["score"].to_numpy(), rtol=1e-6)
    assert "map_path" not in remote.columns


def test_score_goes_on_after_bad_files_and_exits_3(cli, trained, workdir, plant):
    inputs = workdir / "mixed"
    shutil.copytree(plant["camera"] / "test" / "spot", inputs)
    (inputs / "empty.png").write_bytes(b"")
    (inputs / "notes.png").write_text("this is not an image")
    out = cli(
        "score",
        f"model={trained / 'model'}",
        f"input={inputs}",
        "output=mixed.parquet",
        "tracking.enabled=false",
        cwd=workdir,
        ok=(3,),
    )
    assert "2 failed" in out.stdout
    table = pd.read_parquet(workdir / "mixed.parquet")
    failed = table[table["error"].notna()]
    assert sorted(Path(p).name for p in failed["path"]) == ["empty.png", "notes.png"]
    assert failed["error"].str.contains("empty|not a readable image").all()
    assert table["error"].isna().sum() == 6


def test_baselines_from_the_cli_are_logged_beside_the_diffusion_run(cli, trained, workdir, plant):
    from mlflow.tracking import MlflowClient

    for name in ("isolation_forest", "pca", "dense_ae"):
        cli(
            "train",
            f"data.root={plant['camera']}",
            f"run_dir=runs/{name}",
            f"model={name}",
            "training.max_minutes=0.05",
            cwd=workdir,
        )
        metrics = json.loads((workdir / "runs" / name / "metrics.json").read_text())
        assert set(METRIC_KEYS) <= set(metrics)
        assert 0.0 <= metrics["auroc"] <= 1.0 and metrics["network_evals_per_item"] == 0
        assert metrics["n_train"] == 24  # the same split as the diffusion model
        assert (metrics["n_test_normal"], metrics["n_test_anomalous"]) == (8, 12)
        assert (workdir / "runs" / name / "figures" / "roc.png").is_file()
        assert not (workdir / "runs" / name / "model").exists()
    client = MlflowClient(f"sqlite:///{workdir / 'mlflow.db'}")
    exp = client.get_experiment_by_name("anomaly_diffusion")
    runs = client.search_runs([exp.experiment_id], filter_string="tags.job = 'train'")
    by_model = {r.data.tags["model"]: r for r in runs}
    assert set(by_model) == {"diffusion", "isolation_forest", "pca", "dense_ae"}
    assert all("auroc" in r.data.metrics and "false_alarm_rate" in r.data.metrics for r in runs)
    assert by_model["pca"].data.metrics["pixel_auroc"] > 0.5  # PCA has residual maps
    # only the diffusion model is registered
    assert len(client.search_model_versions("name = 'anomaly_diffusion_camera'")) == 1
    out = cli("train", f"data.root={plant['camera']}", "model=knn", cwd=workdir, ok=(2,))
    assert "model='knn' must be diffusion or one of isolation_forest, pca, dense_ae" in out.stderr


def test_model_card_parity_gate_and_promote(cli, trained, workdir, plant):
    from mlflow.tracking import MlflowClient

    name = "anomaly_diffusion_camera"
    client = MlflowClient(f"sqlite:///{workdir / 'mlflow.db'}")
    card = (trained / "model_card.md").read_text()
    assert "## Data" in card and "## Test metrics" in card and "| AUROC |" in card
    assert "| false-alarm rate on normal test data | " in card
    assert " of 8; 95 % interval " in card  # 8 normal test frames: a wide interval
    # 6 held-out frames cannot back a 1 % threshold, and the card says so
    assert "- calibration: 6 held-out normal window(s) from 6 file(s)/segment(s)" in card
    assert "**not resolved**" in card and "needs >= 99" in card
    assert client.get_model_version(name, "1").description == card
    # the first version of a name is the champion from the start (README's quickstart works)
    assert str(client.get_model_version_by_alias(name, "champion").version) == "1"
    cli(
        "train",
        f"data.root={plant['camera']}",
        "run_dir=runs/camera2",
        "seed=1",
        "training=quick",
        "training.max_steps=30",
        cwd=workdir,
    )  # registers version 2 after its pyfunc passed the parity gate
    # later versions never take the alias by themselves
    assert str(client.get_model_version_by_alias(name, "champion").version) == "1"
    out = cli("promote", f"model={name}", "version=2", "alias=champion", cwd=workdir)
    assert "(was v1)" in out.stdout and "change" in out.stdout
    assert out.stdout.splitlines()[1].startswith("auroc")
    assert str(client.get_model_version_by_alias(name, "champion").version) == "2"
    out = cli("promote", f"model={name}", "version=2", "alias=staging", cwd=workdir)
    assert "(new alias)" in out.stdout
    out = cli("promote", f"model={name}", "version=9", cwd=workdir, ok=(2,))
    assert "version=9: not in the registry" in out.stderr
    out = cli("promote", f"model={name}", cwd=workdir, ok=(2,))
    assert "version=<N> are required" in out.stderr


def test_parity_gate_refuses_a_model_that_scores_differently(trained, workdir, plant):
    from anomaly_diffusion.data.dataset import discover
    from anomaly_diffusion.detector import load_detector
    from anomaly_diffusion.errors import TrackingError
    from anomaly_diffusion.inference import score_items
    from anomaly_diffusion.tracking.parity import parity_check

    items = [it for it in discover(plant["camera"]) if it.split == "test"][:3]
    expected = score_items(load_detector(trained / "model"), items)
    inputs = pd.DataFrame({"path": [it.path for it in items], "asset": "camera"})
    assert parity_check(trained / "model", expected, inputs) <= 1e-5
    tampered = expected.assign(score=expected["score"] + 1e-3)
    with pytest.raises(TrackingError, match="parity gate failed: pyfunc and detector scores"):
        parity_check(trained / "model", tampered, inputs)


def test_since_last_scores_each_file_once(cli, trained, workdir, plant):
    import os
    import time

    incoming = workdir / "incoming"
    shutil.copytree(plant["camera"] / "test" / "good", incoming)
    args = [
        "score",
        f"model={trained / 'model'}",
        f"input={incoming}",
        "since=last",
        "maps=none",
    ]
    first = cli(*args, "output=night1.parquet", cwd=workdir)
    assert "scored 8 window(s)" in first.stdout
    again = cli(*args, "output=night2.parquet", cwd=workdir)  # nothing new: nothing scored
    assert "scored 0 window(s)" in again.stdout
    assert len(pd.read_parquet(workdir / "night2.parquet")) == 0
    new = incoming / "new_frame.png"
    shutil.copy(next(incoming.glob("*.png")), new)
    later = time.time() + 10
    os.utime(new, (later, later))
    third = cli(*args, "output=night3.parquet", cwd=workdir)
    assert "scored 1 window(s)" in third.stdout
    assert list(pd.read_parquet(workdir / "night3.parquet")["path"]) == [str(new)]
    dated = cli(
        "score",
        f"model={trained / 'model'}",
        f"input={incoming}",
        "since=2000-01-01",
        "maps=none",
        "output=dated.parquet",
        "tracking.enabled=false",
        cwd=workdir,
    )
    assert "scored 9 window(s)" in dated.stdout
    out = cli(*args[:3], "since=last", "tracking.enabled=false", cwd=workdir, ok=(2,))
    assert "since=last keeps its watermark in MLflow" in out.stderr


def test_nightly_run_twice_a_day_keeps_the_days_rows(cli, trained, workdir, plant):
    """Issue #14, item 3: the second since=last run of a day finds nothing new; it must not
    write an empty table over the day's scores (make nightly writes one file per day)."""
    import os
    import time

    incoming = workdir / "incoming_day"
    shutil.copytree(plant["camera"] / "test" / "good", incoming)
    day = workdir / "day.parquet"
    args = ["score", f"model={trained / 'model'}", f"input={incoming}", "since=last"]
    first = cli(*args, "maps=none", f"output={day}", cwd=workdir)
    assert "scored 8 window(s)" in first.stdout
    rows = pd.read_parquet(day)
    again = cli(*args, "maps=none", f"output={day}", cwd=workdir)
    assert "scored 0 window(s)" in again.stdout
    assert "added to the 8 row(s) already there" in again.stdout
    pd.testing.assert_frame_equal(pd.read_parquet(day), rows)
    new = incoming / "late_frame.png"
    shutil.copy(next(incoming.glob("*.png")), new)
    later = time.time() + 10
    os.utime(new, (later, later))
    third = cli(*args, "maps=none", f"output={day}", cwd=workdir)
    assert "scored 1 window(s)" in third.stdout
    merged = pd.read_parquet(day)
    assert len(merged) == 9 and list(merged["path"][:8]) == list(rows["path"])
    assert merged["path"].iloc[-1] == str(new)
    # re-scoring every file into the same table replaces rows, never duplicates them
    redo = cli(
        "score",
        f"model={trained / 'model'}",
        f"input={incoming}",
        "since=2000-01-01",
        "maps=none",
        f"output={day}",
        cwd=workdir,
    )
    assert "9 re-scored" in redo.stdout
    assert len(pd.read_parquet(day)) == 9
    # merge=false: the plain replace of a one-off job
    cli(*args, "maps=none", f"output={day}", "merge=false", cwd=workdir)
    assert len(pd.read_parquet(day)) == 0


def test_changed_scoring_settings_are_recalibrated_never_stale(cli, trained, workdir, plant):
    """score refuses settings the model was not calibrated for and names the command;
    recalibrate fits the threshold again on the held-out normals saved with the model, and
    evaluate with the same override recalibrates in the same way."""
    model = trained / "model"
    saved = json.loads((model / "artifacts" / "detector" / "detector.json").read_text())
    held_out = saved["calibration_items"]
    assert held_out and all(Path(d["path"]).is_absolute() for d in held_out)
    t_start = 350 if saved["config"]["scoring"]["t_start"] != 350 else 300
    args = [f"input={plant['camera'] / 'test'}", "output=scores/stale.parquet"]
    stale = f"scoring.t_start={t_start}"
    refused = cli("score", f"model={model}", *args, stale, cwd=workdir, ok=(2,))
    assert "recalibrate" in refused.stderr and "calibrated with" in refused.stderr
    assert f"scoring.t_start={t_start}" in refused.stderr and "Traceback" not in refused.stderr
    assert not (workdir / "scores" / "stale.parquet").exists()
    # batch size and precision do not invalidate a calibration
    cli("score", f"model={model}", *args, "scoring.batch_size=3", cwd=workdir)

    out = cli(
        "recalibrate",
        f"model={model}",
        f"scoring.t_start={t_start}",
        "output=recal/model",
        cwd=workdir,
    )
    assert f"recalibrated on {len(held_out)} held-out normal window(s)" in out.stdout
    new = json.loads((workdir / "recal" / "model" / "detector.json").read_text())
    assert new["config"]["scoring"]["t_start"] == t_start
    assert new["threshold"] != saved["threshold"]  # another noise level, another scale
    assert len(new["calibration_items"]) == len(held_out)
    cli("score", "model=recal/model", *args, cwd=workdir)
    assert len(pd.read_parquet(workdir / "scores" / "stale.parquet")) == 20

    ev = cli(
        "evaluate",
        f"model={model}",
        f"data.root={plant['camera']}",
        f"scoring.t_start={t_start}",
        "run_dir=eval_t",
        cwd=workdir,
    )
    metrics = json.loads((workdir / "eval_t" / "metrics.json").read_text())
    assert metrics["recalibrated_windows"] == len(held_out)
    assert metrics["threshold"] == pytest.approx(new["threshold"], rel=1e-6)  # same normals, seed
    assert "threshold" in ev.stdout
