"""notebooks/quickstart.ipynb runs top to bottom in a real Jupyter kernel."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient
from sklearn.metrics import roc_auc_score

pytestmark = pytest.mark.slow
NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "quickstart.ipynb"


def test_quickstart_notebook_executes(tmp_path, monkeypatch):
    monkeypatch.setenv("QUICKSTART_DIR", str(tmp_path))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    ).execute()
    outputs = {i: c.get("outputs", []) for i, c in enumerate(nb.cells) if c.cell_type == "code"}
    assert all(not any(o.get("output_type") == "error" for o in outs) for outs in outputs.values())
    assert (tmp_path / "runs" / "camera" / "model" / "MLmodel").is_file()
    # what the cells showed is what the jobs wrote: the metrics cell shows the run's AUROC, the
    # maps cell one panel per mapped top item
    metrics = json.loads((tmp_path / "runs" / "camera" / "metrics.json").read_text())
    shown = "".join(_text(o) for outs in outputs.values() for o in outs)
    assert f"{metrics['auroc']:.6f}"[:5] in shown
    scores = pd.read_parquet(tmp_path / "scores.parquet")
    top = scores.sort_values("score", ascending=False)
    # the 150-step camera model tells the plant's defective frames from the good ones
    defective = ~scores["path"].str.contains("/test/good/")
    assert 0 < defective.sum() < len(scores)
    assert roc_auc_score(defective, scores["score"]) >= 0.8
    images = [o for outs in outputs.values() for o in outs if "image/png" in o.get("data", {})]
    assert len(images) == 1, "the maps cell draws one figure"
    maps_cell = next(i for i, c in enumerate(nb.cells) if "subplots" in c.source)
    n_panels = min(3, int(scores["map_path"].notna().sum()))
    results = [o for o in outputs[maps_cell] if o.get("output_type") == "execute_result"]
    assert n_panels >= 1 and [_text(o).strip() for o in results] == [str(n_panels)]
    assert f"with {n_panels} Axes" in _text(images[0])
    html = (tmp_path / "report.html").read_text()
    assert f"<b>{int(scores['is_anomaly'].sum())}</b>anomalous" in html
    assert Path(top["path"].iloc[0]).name in html


def _text(output: dict) -> str:
    """The text a cell output shows (stream or rich repr)."""
    if "text" in output:
        return "".join(output["text"])
    return "".join(output.get("data", {}).get("text/plain", ""))
