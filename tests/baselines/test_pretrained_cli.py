"""``train model=patchcore`` through the real CLI on a tiny synthetic image folder."""

from __future__ import annotations

import json

from anomaly_diffusion.data.synthetic import make_plant


def test_train_model_patchcore_writes_metrics_and_no_model(cli, tmp_path, imagenet_weights):
    camera = make_plant(tmp_path / "plant", modalities=("camera",), scale=0.3)["camera"]
    out = cli(
        "train",
        f"data.root={camera}",
        "model=patchcore",
        "run_dir=run",
        "tracking=none",
        "features.image_size=[64,64]",
        cwd=tmp_path,
        timeout=300,
    )
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert 0.0 <= metrics["auroc"] <= 1.0 and metrics["threshold"] > 0
    assert metrics["network_evals_per_item"] == 0 and metrics["pixel_auroc"] is not None
    assert (tmp_path / "run" / "figures" / "roc.png").is_file()
    assert not (tmp_path / "run" / "model").exists()
    assert "patchcore baseline on camera data (not saved as a model)" in out.stdout
